#pragma once
// Connecting a stream to a Redis node and running the set-up pipeline (AUTH, SELECT,
// CLIENT SETNAME, ROLE), shared by node connections and subscribers.

#include "owcore/net/executor.hpp"
#include "owcore/net/stream.hpp"
#include "owcore/redis/resp.hpp"
#include "owcore/redis/url.hpp"

#include <chrono>
#include <string>

namespace owcore::redis::detail {

/// What the handshake does besides AUTH (which runs whenever a password is set).
struct handshake_options {
  bool select_db = true;        ///< SELECT node.db when it is not 0
  bool set_name = true;         ///< CLIENT SETNAME node.client_name when it is set
  bool require_master = false;  ///< ROLE must say master
  std::chrono::steady_clock::duration timeout = std::chrono::seconds(5);  ///< for the pipeline
};

/// Connects `s` to `target` (host/port/TLS; its own timeout applies) and runs the handshake,
/// reading replies through `parser` with `read_buf` as scratch space. Returns an empty string on
/// success, else a message naming the peer and the failed step (never the password). Bytes the
/// server sent after the handshake replies stay in `parser`.
net::awaitable<std::string> connect_and_handshake(net::stream& s, reply_parser& parser,
                                                  std::string& read_buf,
                                                  const net::connect_options& target,
                                                  const url_config& node,
                                                  const handshake_options& opts);

}  // namespace owcore::redis::detail
