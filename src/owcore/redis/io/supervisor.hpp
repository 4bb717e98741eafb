#pragma once
// The one reconnect loop of the Redis layer (docs/redis.md), shared by node connections and
// subscribers: resolve the address (Sentinel master, Cluster node), connect (TCP or Unix, TLS),
// run the set-up pipeline (protocol/setup), serve until the connection fails, then back off
// (protocol/backoff) and start over, until stopped. What "serve" means belongs to the shell that
// owns the supervisor (io/connection, io/subscriber).

#include "owcore/net/executor.hpp"
#include "owcore/net/stream.hpp"
#include "owcore/redis/error.hpp"
#include "owcore/redis/protocol/address.hpp"
#include "owcore/redis/protocol/resp.hpp"
#include "owcore/redis/protocol/setup.hpp"
#include "owcore/redis/url.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/system/error_code.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

namespace spdlog {
class logger;
}

namespace owcore::redis {

struct client_metrics;

/// Finds the node to connect to before each (re)connect (Sentinel master discovery, Cluster
/// node choice). Returns the address, or an error (logged with its detail; the loop backs off and
/// asks again).
using address_resolver = std::function<net::awaitable<std::pair<error_info, address>>()>;

namespace io {

/// Options of one supervisor.
struct supervisor_options {
  url_config node;                 ///< address (unless `resolve` is set), TLS
  address_resolver resolve;        ///< when set, asked for the address before every connect
  setup_options setup;             ///< AUTH, SELECT, CLIENT SETNAME, ROLE
  std::chrono::steady_clock::duration connect_timeout = std::chrono::seconds(5);
  std::chrono::steady_clock::duration setup_timeout = std::chrono::seconds(5);
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_cap{5000};
  std::size_t max_reply_bytes = reply_parser::default_max_buffered;
  std::shared_ptr<spdlog::logger> log;  ///< null = silent
  std::string log_name = "redis";
  client_metrics* metrics = nullptr;  ///< counts reconnects and failed attempts; null = none
};

/// What a shell plugs into the loop. Every hook runs on the supervisor's strand.
class supervised {
 public:
  virtual ~supervised() = default;
  /// Serves one live, set-up connection (supervisor::stream()) until it fails; returns why.
  virtual net::awaitable<boost::system::error_code> serve() = 0;
  /// A connect attempt (resolve, connect, set-up) starts.
  virtual void on_attempt() {}
  /// A connect attempt failed; the loop sleeps next.
  virtual void on_connect_failed(const error_info&) {}
  /// The connection is set up; serve() is called next.
  virtual void on_connected() {}
  /// serve() returned `why` and the socket is closed.
  virtual void on_lost(boost::system::error_code /*why*/) {}
};

/// The loop and the per-connection I/O state (stream, reply parser, read buffer) it hands to the
/// shell. Lives inside its shell; every member but peer() and connects() must be used on the
/// strand given at construction.
class supervisor {
 public:
  /// `strand` is the shell's strand (from net::make_strand, so that the socket's executor stores it
  /// inline: no heap allocation per I/O operation).
  supervisor(const net::executor& strand, supervisor_options opts);

  /// Runs resolve -> connect -> TLS -> set-up -> serve -> back off until stop(). The caller keeps
  /// `s` (and itself) alive until it returns.
  net::awaitable<void> run(supervised& s);

  /// Ends the loop: closes the socket, cancels the back-off sleep. Idempotent.
  void stop();
  /// Closes the current socket (or cuts the back-off sleep short) so the loop reconnects now,
  /// re-resolving the address.
  void reconnect_now();
  bool stopped() const noexcept { return stopped_; }

  /// Reads once from the stream into the parser. Errors: the stream's, or the parser's
  /// (reply_too_large, protocol_error).
  net::awaitable<boost::system::error_code> read_some();

  net::stream& stream() noexcept { return stream_; }
  reply_parser& parser() noexcept { return parser_; }
  const supervisor_options& options() const noexcept { return opts_; }
  /// When bytes were last received on the current connection.
  std::chrono::steady_clock::time_point last_read() const noexcept { return last_read_; }

  /// The address of the current or last connection attempt, e.g. "127.0.0.1:6379". Thread-safe.
  std::string peer() const;
  /// Number of successful set-ups so far. Thread-safe.
  std::uint64_t connects() const noexcept { return connects_.load(); }

 private:
  net::awaitable<error_info> open();

  supervisor_options opts_;
  net::stream stream_;
  reply_parser parser_;
  std::string read_buf_;
  boost::asio::steady_timer sleep_;
  std::chrono::steady_clock::time_point last_read_{};
  bool stopped_ = false;
  std::atomic<std::uint64_t> connects_{0};
  mutable std::mutex peer_mutex_;
  std::string peer_;  ///< guarded by peer_mutex_
};

}  // namespace io
}  // namespace owcore::redis
