#pragma once
// The Engine.IO v4 server: handshake, HTTP long-polling, WebSocket, upgrade, CORS and the Origin
// check, and the registry of sessions. It knows nothing of Socket.IO: the layer
// above plugs in through `open_handler` and the session_listener it returns.
//
// It does not listen on a port and does not include the `http` layer. The application wires
// `handle_request` as a coroutine route (every method on the Engine.IO path) and
// `handle_upgrade` as the WebSocket upgrade taker of the HTTP server.

#include "owcore/net/executor.hpp"
#include "owcore/realtime/engineio/session.hpp"
#include "owcore/realtime/engineio/sid.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace spdlog {
class logger;
}

namespace owcore::realtime::engineio {

/// Options of an Engine.IO server. Every field has a safe default; `app/` fills them from the
/// environment.
struct server_options {
  bool allow_polling = true;     ///< accept the long-polling transport
  bool allow_websocket = true;   ///< accept the WebSocket transport
  bool allow_upgrades = true;    ///< announce and accept polling -> WebSocket upgrades
  std::chrono::milliseconds ping_interval{25000};   ///< `pingInterval` of the handshake
  std::chrono::milliseconds ping_timeout{20000};    ///< `pingTimeout` of the handshake
  std::chrono::milliseconds upgrade_timeout{10000}; ///< probe + `upgrade` deadline
  std::chrono::milliseconds close_linger{5000};     ///< graceful close deadline
  /// `maxPayload`: the largest POST body and WebSocket message accepted (bigger POST: 413;
  /// bigger WebSocket message: the socket is closed with 1009), and the budget of one long-poll
  /// response.
  std::size_t max_payload = 1'000'000;
  std::size_t max_packets_per_payload = 256;   ///< more in one POST: 400 and the session closes
  std::size_t max_queued_packets = 4096;       ///< per-session outbound queue (packets)
  std::size_t max_queued_bytes = 8 * 1024 * 1024;  ///< per-session outbound queue (bytes)
  std::size_t max_sessions = 100'000;          ///< more handshakes get 503
  /// Allowed values of the Origin header ("*" allows any). A request with a foreign Origin gets
  /// 403 (polling and WebSocket alike); a request without Origin (not a browser) is allowed.
  std::vector<std::string> cors_allowed_origins{"*"};
  std::shared_ptr<spdlog::logger> log;  ///< null = no logging
  /// Log every session's opening, upgrade and close, and each packet received or sent (type
  /// and size, never the data) at info level (WEBSOCKET_SERVER_ENGINEIO_LOGGING,
  /// python-engineio's `logger=True`).
  bool trace = false;
};

/// Called on a new session's strand right after its handshake; returns the listener of its
/// messages and close (null: messages are dropped). Must not block.
using open_handler = std::function<std::shared_ptr<session_listener>(const std::shared_ptr<session>&)>;

/// The Engine.IO server. Create with make_shared. Thread-safe: every member may be called from
/// any thread (the registry is guarded by a mutex that is never held across a suspension).
class server : public std::enable_shared_from_this<server> {
 public:
  /// `ex` is the executor new sessions' strands are made on.
  server(net::executor ex, server_options opts, open_handler on_open);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Serves one plain HTTP request on the Engine.IO path: handshake (GET), long-poll (GET with
  /// sid), send (POST with sid) and CORS preflight (OPTIONS). Every error is answered (400 with
  /// {"code","message"} as the reference server does, 403 for a foreign Origin, 413, 503); no
  /// request is left without a response. A long-poll suspends until the session has something
  /// to send, at most one ping interval.
  net::awaitable<http_response> handle_request(http_request req);

  /// Takes over a WebSocket upgrade request on the Engine.IO path (an http::upgrade_handler).
  /// Invalid requests (EIO, transport, Origin, unknown sid, WebSocket disabled) get an HTTP
  /// error response and the connection closes; valid ones continue on a session's strand.
  /// Returns at once.
  void handle_upgrade(http_request req, boost::beast::tcp_stream stream, boost::beast::flat_buffer buffer);

  /// Closes every session gracefully (close_reason::shutdown) and refuses new ones.
  void shutdown();

  /// Number of registered sessions.
  std::size_t session_count() const;

  /// The open session with id `sid`, or null.
  std::shared_ptr<session> find(std::string_view sid) const;

  /// The options this server runs with.
  const server_options& options() const noexcept { return opts_; }

 private:
  friend class session;
  session_config make_session_config(transport_kind t) const;
  std::string make_open_packet(const std::string& sid, transport_kind t) const;
  bool try_register(const std::shared_ptr<session>& s);
  void unregister(const std::string& sid);
  std::shared_ptr<session_listener> opened(const std::shared_ptr<session>& s);
  http_response error_response(const http_request& req, error e) const;
  void add_cors(const http_request& req, http_response& res) const;
  net::awaitable<http_response> handshake(http_request req);

  net::executor ex_;
  server_options opts_;
  open_handler on_open_;
  sid_generator sids_;
  std::atomic<bool> stopping_{false};

  mutable std::mutex mutex_;  ///< guards sessions_; never held across a suspension
  std::unordered_map<std::string, std::weak_ptr<session>> sessions_;
};

}  // namespace owcore::realtime::engineio
