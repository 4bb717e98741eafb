#pragma once
// The Socket.IO v5 server: namespaces and their handlers, CONNECT (with an `auth` payload and an
// optional asynchronous authorization), events, acknowledgements in both directions, rooms and
// broadcasts through an adapter, and disconnects.
//
// It sees Engine.IO only through sessions (send/close) and the session_listener it attaches to
// each (it knows nothing else of Engine.IO): plug `attach` in as the engineio::server's
// open_handler.
//
// Handlers run on the client's Engine.IO strand and must not block; asynchronous work (Redis,
// authentication) is spawned on `socket::get_executor()`. Handlers are registered during set-up
// only; the registry is read-only once clients connect.

#include "owcore/net/executor.hpp"
#include "owcore/realtime/adapter/adapter.hpp"
#include "owcore/realtime/engineio/session.hpp"
#include "owcore/realtime/socketio/packet.hpp"
#include "owcore/realtime/socketio/socket.hpp"
#include "owcore/realtime/engineio/sid.hpp"

#include <boost/json/value.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace spdlog {
class logger;
}

namespace owcore::realtime::socketio {

/// Options of a Socket.IO server. Defaults follow the reference server and python-socketio.
struct server_options {
  /// A client that has joined no namespace this long after its Engine.IO handshake is closed.
  std::chrono::milliseconds connect_timeout{45000};
  decoder_limits limits;          ///< attachment count and size, JSON depth, namespace length
  socket_options socket;          ///< per-socket limits (pending server-to-client calls)
  std::shared_ptr<spdlog::logger> log;  ///< null = no logging
  /// Log every namespace connection, refusal, received event and disconnection at info level
  /// (WEBSOCKET_SERVER_LOGGING, python-socketio's `logger=True`). Event arguments are never
  /// logged, only their count: they carry user content and tokens.
  bool trace = false;
};

/// The handlers of one namespace.
class namespace_handlers {
 public:
  /// Decides whether a CONNECT is accepted. Returns nullopt to accept, or the CONNECT_ERROR
  /// payload to refuse (for example {"message": "Not authorized"}). May suspend; runs on the
  /// client's strand. Packets for the namespace that arrive meanwhile are ignored.
  using authorize_fn =
      std::function<net::awaitable<std::optional<boost::json::value>>(std::shared_ptr<socket>)>;
  /// A socket connected (after its CONNECT answer was queued).
  using connection_fn = std::function<void(const std::shared_ptr<socket>&)>;
  /// An event: the arguments after the name, and the acknowledgement (empty when none asked).
  using event_fn = std::function<void(const std::shared_ptr<socket>&, payload, ack)>;
  /// Any event without a specific handler (dynamic event names).
  using any_fn = std::function<void(const std::shared_ptr<socket>&, const std::string& event, payload, ack)>;
  /// A socket left the namespace.
  using disconnect_fn = std::function<void(const std::shared_ptr<socket>&, disconnect_reason)>;

  /// Sets the authorization step (default: accept every CONNECT).
  void authorize(authorize_fn f) { authorize_ = std::move(f); }
  /// Sets the connection handler.
  void on_connection(connection_fn f) { connection_ = std::move(f); }
  /// Sets the handler of `event` (a later call replaces it).
  void on(std::string event, event_fn f) { events_[std::move(event)] = std::move(f); }
  /// Sets the fallback for events without a handler (default: ignore them).
  void on_any(any_fn f) { any_ = std::move(f); }
  /// Sets the disconnect handler.
  void on_disconnect(disconnect_fn f) { disconnect_ = std::move(f); }

  /// Internal: the registered handlers.
  const authorize_fn& authorizer() const noexcept { return authorize_; }
  const connection_fn& connection() const noexcept { return connection_; }
  const event_fn* handler(const std::string& event) const noexcept;
  const any_fn& fallback() const noexcept { return any_; }
  const disconnect_fn& disconnection() const noexcept { return disconnect_; }

 private:
  authorize_fn authorize_;
  connection_fn connection_;
  std::unordered_map<std::string, event_fn> events_;
  any_fn any_;
  disconnect_fn disconnect_;
};

/// The Socket.IO server. Create with make_shared; register namespaces with `of`, then attach it
/// to an Engine.IO server. Thread-safe after set-up.
class server : public std::enable_shared_from_this<server> {
 public:
  server(server_options opts, std::shared_ptr<adapter::adapter> adapter);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// The handlers of namespace `nsp` ("/" or "/name"), created on first use. Set-up only (not
  /// thread-safe). Clients can connect only to namespaces created here.
  namespace_handlers& of(const std::string& nsp);
  /// The handlers of `nsp`, or null when it does not exist.
  const namespace_handlers* find_namespace(const std::string& nsp) const noexcept;

  /// The Engine.IO open handler: attaches a Socket.IO client to `s` and starts its connect
  /// timeout. Called on the session's strand.
  std::shared_ptr<engineio::session_listener> attach(const std::shared_ptr<engineio::session>& s);

  /// Emits `event` with `args` to the sockets `to` selects, on every instance (through the
  /// adapter). The default target is every socket of "/".
  void emit(std::string_view event, payload args, const adapter::broadcast_target& to = {});
  /// Calls `event` on the socket `sid` of `nsp` (on any instance the adapter reaches) and reports
  /// its acknowledgement or an error within `timeout`.
  void call(const std::string& nsp, const std::string& sid, std::string_view event, payload args,
            std::chrono::milliseconds timeout, ack_callback on_ack);
  /// Awaitable form of `call`.
  net::awaitable<ack_result> call(std::string nsp, std::string sid, std::string event, payload args,
                                  std::chrono::milliseconds timeout);

  /// Makes `sid` join `room` (see adapter::add_room).
  bool enter_room(const std::string& nsp, const std::string& sid, const std::string& room);
  /// Makes `sid` leave `room`.
  void leave_room(const std::string& nsp, const std::string& sid, const std::string& room);
  /// Empties `room`.
  void close_room(const std::string& nsp, const std::string& room);
  /// Disconnects `sid` from `nsp`, wherever it is.
  void disconnect(const std::string& nsp, const std::string& sid);

  /// The adapter (room queries, fan-out).
  adapter::adapter& get_adapter() const noexcept { return *adapter_; }
  /// The options.
  const server_options& options() const noexcept { return opts_; }
  /// The logger (may be null).
  const std::shared_ptr<spdlog::logger>& log() const noexcept { return opts_.log; }
  /// A new socket id. Thread-safe.
  std::string next_sid() { return sids_.next(); }
  /// Number of attached clients (Engine.IO sessions).
  std::size_t client_count() const noexcept { return clients_.load(std::memory_order_relaxed); }

  /// Internal: client bookkeeping for client_count.
  void client_gone() noexcept { clients_.fetch_sub(1, std::memory_order_relaxed); }

 private:
  server_options opts_;
  std::shared_ptr<adapter::adapter> adapter_;
  std::map<std::string, std::unique_ptr<namespace_handlers>, std::less<>> namespaces_;
  engineio::sid_generator sids_;
  std::atomic<std::size_t> clients_{0};
};

}  // namespace owcore::realtime::socketio
