#pragma once
// A one-request-at-a-time Redis connection for probes, Sentinel queries, slot-map reads and
// diagnostics (docs/redis.md). The serving path uses the multiplexed io/connection instead.

#include "owcore/net/executor.hpp"
#include "owcore/net/stream.hpp"
#include "owcore/redis/error.hpp"
#include "owcore/redis/protocol/resp.hpp"
#include "owcore/redis/protocol/setup.hpp"

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace owcore::redis {

/// A single Redis connection that runs one command at a time. Not thread-safe; use it from one
/// strand. Every step has a deadline.
class basic_connection {
 public:
  explicit basic_connection(net::executor ex);

  /// Connects (within `opts.timeout`), then runs the set-up of protocol/setup: AUTH (when a
  /// password is set), SELECT `db` (when non-zero), CLIENT SETNAME (when non-empty). Returns a
  /// clear error_info, or the failure with its detail (e.g. "cannot connect to 127.0.0.1:1:
  /// Connection refused", "AUTH to h:6379 refused: WRONGPASS ...").
  net::awaitable<error_info> open(const net::connect_options& opts, const credentials& auth,
                                  int db = 0, std::string_view client_name = {});

  /// As above with every set-up option (e.g. `require_master`: ROLE must say master).
  net::awaitable<error_info> open(const net::connect_options& opts, setup_options setup);

  /// Sends one command and waits for its reply, at most `timeout`. On a transport error or
  /// timeout the connection is closed and `ec` is set; server error replies are returned as
  /// replies of kind::error with `ec` clear.
  net::awaitable<std::pair<boost::system::error_code, reply>> exec(
      std::vector<std::string> args, std::chrono::steady_clock::duration timeout);

  void close() noexcept { stream_.close(); }
  bool is_open() const noexcept { return stream_.is_open(); }
  /// "host:port" (IPv6 bracketed) or "unix:/path" of the last open().
  const std::string& peer() const noexcept { return peer_; }

 private:
  net::stream stream_;
  reply_parser parser_;
  std::string read_buf_;
  std::string peer_;
};

}  // namespace owcore::redis
