#pragma once
// One Engine.IO session: the Asio shell around session_fsm.
//
// Each session owns a strand; every member below marked "strand only" must run on it, and so do
// its timer, long-poll waits and the WebSocket callbacks (readiness waits, gathered writes; see
// websocket.hpp for the codec). The session is held by a shared_ptr that those pending
// operations keep; the server's registry holds only a weak reference, so a session is freed as
// soon as its last operation ends. A write stuck on a peer that does not read is cut off when
// the session closes (ping timeout), so no timer of its own is needed.
//
// The layer above (Socket.IO, or the plain Engine.IO echo of the conformance server) sees a
// session only through `send`, `close` and the session_listener callbacks: open (the server's
// open_handler), message and close.

#include "owcore/net/executor.hpp"
#include "owcore/realtime/engineio/error.hpp"
#include "owcore/realtime/engineio/handshake.hpp"
#include "owcore/realtime/engineio/packet.hpp"
#include "owcore/realtime/engineio/session_fsm.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <span>
#include <vector>

namespace spdlog {
class logger;
}

namespace owcore::realtime::engineio {

class server;

namespace ws {
enum class close_code : std::uint16_t;  // websocket.hpp
}  // namespace ws

namespace detail {
struct websocket_conn;  // a WebSocket connection (socket, parser, write batch); session.cpp
}  // namespace detail

/// An HTTP request as the HTTP server hands it over (body read into a string).
using http_request = boost::beast::http::request<boost::beast::http::string_body>;
/// An HTTP response built by the Engine.IO layer.
using http_response = boost::beast::http::response<boost::beast::http::string_body>;

/// What the layer above learns about the request that opened a session.
struct request_info {
  std::string target;                    ///< path and query of the handshake request
  boost::beast::http::fields headers;    ///< its headers (Cookie, Origin, User-Agent, ...)
};

/// Receives one session's events. Every call happens on the session's strand, in order, and
/// must not block (hand slow work to another coroutine).
class session_listener {
 public:
  virtual ~session_listener() = default;
  /// A `message` packet from the client: text, or raw bytes when `binary`.
  virtual void on_message(std::string data, bool binary) = 0;
  /// The session closed (called once; nothing more arrives and `send` is a no-op afterwards).
  virtual void on_close(close_reason reason) = 0;
};

/// The per-session settings the server derives from its options.
struct session_config {
  fsm_options fsm;                 ///< timings and queue limits
  payload_limits limits;           ///< polling payload decoding limits
  std::size_t max_payload = 1'000'000;  ///< largest POST body / WebSocket message accepted
  bool upgrades_allowed = true;    ///< polling sessions may upgrade to WebSocket
  std::shared_ptr<spdlog::logger> trace;  ///< non-null: log opening, upgrade, packets and close
};

/// One Engine.IO session. Created only by `engineio::server`.
class session : public std::enable_shared_from_this<session> {
 public:
  /// Internal: use engineio::server. `strand` must be a strand executor.
  session(std::weak_ptr<server> srv, net::executor strand, std::string sid, transport_kind transport,
          const session_config& cfg, request_info info);
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  /// The server-generated session id (docs/wire.md, "Socket.IO").
  const std::string& id() const noexcept { return sid_; }
  /// The handshake request. Immutable; safe from any thread.
  const request_info& request() const noexcept { return *info_; }
  /// The handshake request, shared (the Socket.IO layer keeps it without copying).
  const std::shared_ptr<const request_info>& request_ptr() const noexcept { return info_; }
  /// The session's strand.
  net::executor get_executor() const noexcept { return strand_; }

  /// Sends one `message` packet (text, or raw bytes when `binary`). Thread-safe: runs inline on
  /// the strand, else is posted to it. Dropped once the session closed; a full queue closes the
  /// session (close_reason::queue_overflow).
  void send(std::string data, bool binary = false);

  /// Sends pre-encoded frames as one unit (see session_fsm::send). Thread-safe, like `send`.
  /// Frames share their bytes, so one encoding can go to many sessions.
  void send_frames(std::vector<frame> frames);

  /// Like send_frames, for frames shared by many sessions (a broadcast): nothing is copied
  /// until they enter this session's queue. Thread-safe.
  void send_shared(std::shared_ptr<const std::vector<frame>> frames);

  /// Closes the session. Thread-safe. `server_close` and `shutdown` are graceful (queued packets
  /// are flushed first, bounded by close_linger); `protocol_error` and the others are immediate.
  void close(close_reason reason = close_reason::server_close);

  /// Strand only: true while the session is open (not closing or closed).
  bool is_open() const noexcept { return fsm_.current() == session_fsm::state::open; }
  /// Strand only: the transport in use.
  transport_kind transport() const noexcept { return fsm_.transport(); }

  // --- used by engineio::server -----------------------------------------------------------

  /// The answer to a long-poll request: an HTTP status and a text/plain body.
  struct http_result {
    unsigned status = 200;
    std::string body;
    error code = error::bad_request;  ///< for error answers: which error
  };

  /// Strand only: a new polling session: starts the timers, calls the open handler and returns
  /// the handshake body ("0{...}").
  net::awaitable<http_result> open_polling(std::string open_packet);
  /// Strand only: serves a long-poll GET (suspends until there is something to send).
  net::awaitable<http_result> poll();
  /// Strand only: serves a POST carrying a payload of packets.
  net::awaitable<http_result> post(std::string body);
  /// Strand only: a WebSocket handshake without sid, already validated (`accept` is its
  /// Sec-WebSocket-Accept): registers the session, answers 101 together with the `open` packet
  /// and serves the socket until it closes. `sock` must have this strand as its executor.
  static void run_new_websocket(std::shared_ptr<session> self, std::string accept,
                                boost::asio::ip::tcp::socket sock, std::string open_packet);
  /// Strand only: a validated WebSocket handshake with this session's sid: answers 101 and runs
  /// the upgrade (probe, `upgrade`), then serves it as the session's transport. A session that
  /// cannot upgrade gets the socket closed with a WebSocket close frame.
  static void run_upgrade(std::shared_ptr<session> self, std::string accept, boost::asio::ip::tcp::socket sock);

 private:
  using ws_ptr = std::shared_ptr<detail::websocket_conn>;

  void do_send(std::span<const frame> frames);
  void handle_inbound(packet p);
  void after_change();
  void finish();
  void wake();
  void drop_candidate();
  void start_timers();
  void arm_timer();
  void on_timer(boost::system::error_code ec);
  // WebSocket connections (callbacks on the strand; see session.cpp).
  ws_ptr make_conn(boost::asio::ip::tcp::socket sock) const;
  void arm_read(const ws_ptr& c);
  void on_readable(const ws_ptr& c, boost::system::error_code ec);
  bool feed(const ws_ptr& c, std::string_view bytes);
  bool on_ws_message(const ws_ptr& c, std::string data, bool binary);
  void schedule_flush(const ws_ptr& c);
  void flush(const ws_ptr& c);
  void on_written(const ws_ptr& c, boost::system::error_code ec);
  void fail_conn(const ws_ptr& c, ws::close_code code);
  void end_conn(const ws_ptr& c, close_reason reason);
  void transport_lost(const ws_ptr& c);

  std::weak_ptr<server> srv_;
  net::executor strand_;
  std::string sid_;
  std::shared_ptr<const request_info> info_;
  session_config cfg_;
  session_fsm fsm_;

  std::shared_ptr<session_listener> listener_;  ///< released when the session closes
  bool notified_ = false;   ///< listener_->on_close was called
  bool finished_ = false;   ///< closed, unregistered, timers stopped
  bool timer_armed_ = false;  ///< a wait on timer_ is pending
  std::chrono::steady_clock::time_point timer_at_{};  ///< the deadline timer_ waits for

  boost::asio::steady_timer timer_;    ///< the fsm's next deadline
  /// Wakes a pending long-poll (cancel = notify); created for polling sessions only.
  std::unique_ptr<boost::asio::steady_timer> poll_cv_;

  ws_ptr active_ws_;     ///< the WebSocket transport, once in use
  ws_ptr candidate_ws_;  ///< a WebSocket being probed for an upgrade

  friend class server;
};

}  // namespace owcore::realtime::engineio
