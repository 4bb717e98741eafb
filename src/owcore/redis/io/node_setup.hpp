#pragma once
// The I/O half of opening a Redis connection, shared by every connection kind of the layer
// (docs/redis.md): connect the stream (TCP or Unix, TLS), then write the set-up pipeline that
// protocol/setup composes and read its replies, within a deadline. The decisions (what to send,
// whether the replies are acceptable, the wording of failures) live in protocol/setup.

#include "owcore/net/executor.hpp"
#include "owcore/net/stream.hpp"
#include "owcore/redis/error.hpp"
#include "owcore/redis/protocol/resp.hpp"
#include "owcore/redis/protocol/setup.hpp"

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace owcore::redis::io {

/// How the layer names the node `target` points at in messages: "host:port" (IPv6 bracketed, see
/// protocol/address.hpp) or "unix:/path".
std::string peer_name(const net::connect_options& target);

/// Writes `bytes`, then reads replies through `parser` (using `read_buf` as scratch space) until
/// `out` holds `count` more replies. No deadline of its own; wrap it in net::with_timeout.
/// Bytes received beyond those replies stay in `parser`.
net::awaitable<boost::system::error_code> round_trip(net::stream& s, reply_parser& parser,
                                                     std::string& read_buf,
                                                     std::string_view bytes, std::size_t count,
                                                     response& out);

/// Connects `s` to `target` (its own connect timeout applies) and runs the set-up `setup` within
/// `timeout`. Returns a clear error_info on success, else the code and the detail of
/// protocol/setup (connect_failure, setup_transport_failure, check_setup).
net::awaitable<error_info> open_node(net::stream& s, reply_parser& parser, std::string& read_buf,
                                     const net::connect_options& target,
                                     const setup_options& setup,
                                     std::chrono::steady_clock::duration timeout);

}  // namespace owcore::redis::io
