#pragma once
// The HTTP/1.1 server: a listener plus one coroutine per connection (Beast + C++20 coroutines),
// with keep-alive, size limits, deadlines, an access log line per request and graceful shutdown.

#include "owcore/http/router.hpp"
#include "owcore/net/executor.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/system/result.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace spdlog {
class logger;
}

namespace owcore::http {

/// Limits and deadlines of the HTTP server. Every field has a safe default.
struct server_options {
  std::string host = "127.0.0.1";   ///< listen address; "0.0.0.0" for every interface
  std::uint16_t port = 8080;        ///< 0 picks a free port (see server::local_port)
  std::size_t body_limit = 1024 * 1024;    ///< larger bodies get 413 and the connection closes
  std::size_t header_limit = 16 * 1024;    ///< larger header blocks get 431 and close
  std::chrono::steady_clock::duration request_timeout = std::chrono::seconds(30);
      ///< deadline to receive one whole request once its first byte arrived, and to send a reply
  std::chrono::steady_clock::duration idle_timeout = std::chrono::seconds(65);
      ///< keep-alive: how long a connection may wait for its next request
  std::chrono::steady_clock::duration shutdown_timeout = std::chrono::seconds(10);
      ///< how long shutdown waits for in-flight requests before closing them
  std::size_t max_connections = 10000;     ///< further connections are accepted and closed at once
  std::shared_ptr<spdlog::logger> access_log;  ///< one line per request; null = no access log
};

/// Serves a router. Construct, `listen()`, then `co_spawn(run())`. `shutdown()` may be called from
/// any thread (e.g. a signal handler's completion): the listener closes at once, idle keep-alive
/// connections close, in-flight requests finish (their responses carry `Connection: close`) and
/// `run()` completes when the last connection is gone or `shutdown_timeout` passed, whichever is
/// first; connections still open then are closed.
class server : public std::enable_shared_from_this<server> {
 public:
  server(net::executor ex, server_options opts, std::shared_ptr<const router> routes);
  ~server();

  /// Opens the listening socket. Fails with the OS error (address in use, permission, ...).
  boost::system::result<void> listen();

  /// The bound port (useful with port 0). Valid after a successful listen().
  std::uint16_t local_port() const noexcept { return local_port_; }

  /// Accepts connections until shutdown, then drains them (see the class comment).
  net::awaitable<void> run();

  /// Starts a graceful shutdown. Thread-safe and idempotent.
  void shutdown();

  /// Number of open connections (for tests and metrics). Thread-safe.
  std::size_t connection_count() const;

  class connection;  // one accepted socket; defined in server.cpp

 private:
  friend class connection;
  void connection_closed(std::uint64_t id);

  net::executor ex_;
  boost::asio::strand<net::executor> strand_;
  server_options opts_;
  std::shared_ptr<const router> routes_;
  std::optional<boost::asio::ip::tcp::acceptor> acceptor_;
  std::uint16_t local_port_ = 0;
  boost::asio::steady_timer drained_;  ///< on strand_: cancelled when the last connection closes
  std::atomic<bool> stopping_{false};

  mutable std::mutex mutex_;  ///< guards connections_; never held across a suspension
  std::unordered_map<std::uint64_t, std::weak_ptr<connection>> connections_;
  std::uint64_t next_id_ = 0;
};

}  // namespace owcore::http
