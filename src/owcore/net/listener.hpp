#pragma once
// Opening a listening TCP socket on a configured host and port.

#include "owcore/net/executor.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/system/result.hpp>

#include <cstdint>
#include <string>

namespace owcore::net {

/// Resolves `host` (an address or a name; "0.0.0.0" listens on every interface), then opens,
/// binds (SO_REUSEADDR) and listens on `port` with the given backlog. Blocking name resolution is
/// acceptable here: it runs once at start-up, before the event loop serves anything.
boost::system::result<boost::asio::ip::tcp::acceptor> open_acceptor(executor ex,
                                                                    const std::string& host,
                                                                    std::uint16_t port,
                                                                    int backlog = 1024);

}  // namespace owcore::net
