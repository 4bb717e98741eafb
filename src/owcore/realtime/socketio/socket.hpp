#pragma once
// One Socket.IO socket: a client's connection to one namespace, carried by an Engine.IO session.
// It runs on the session's strand; its public members are thread-safe unless marked "strand
// only". The adapter holds it weakly; its client (and the handlers running for it) hold it.

#include "owcore/net/executor.hpp"
#include "owcore/realtime/adapter/adapter.hpp"
#include "owcore/realtime/engineio/session.hpp"
#include "owcore/realtime/socketio/packet.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace owcore::realtime::socketio {

class server;
class client;
class socket;

using adapter::ack_callback;
using adapter::ack_result;

/// Why a socket left its namespace (the `reason` of the reference implementation).
enum class disconnect_reason {
  client_disconnect,   ///< the client sent DISCONNECT for the namespace
  server_disconnect,   ///< the server called disconnect()
  transport_close,     ///< the Engine.IO session closed (client gone, socket error)
  ping_timeout,        ///< the Engine.IO session missed a pong
  transport_error,     ///< the client sent malformed input and was disconnected
  server_shutdown,     ///< the server is stopping
};

/// The reference implementation's reason string ("client namespace disconnect", ...).
std::string_view to_string(disconnect_reason r) noexcept;

/// The acknowledgement callback an event handler receives. Empty (false) when the client asked
/// for no acknowledgement. Copyable; the first call sends the ACK, later calls do nothing.
/// Thread-safe.
class ack {
 public:
  ack() = default;
  /// Internal: an acknowledgement of packet `id` on `s`.
  ack(std::weak_ptr<socket> s, std::uint64_t id);

  /// True when the client expects an acknowledgement.
  explicit operator bool() const noexcept { return state_ != nullptr; }
  /// Sends the acknowledgement with `args` (binary attachments allowed).
  void operator()(payload args = {}) const;

 private:
  struct state {
    std::weak_ptr<socket> target;
    std::uint64_t id = 0;
    std::atomic<bool> sent{false};
  };
  std::shared_ptr<state> state_;
};

/// Limits of one socket.
struct socket_options {
  /// Server-to-client calls waiting for an acknowledgement. Policy on overflow: the new call
  /// fails at once with error::too_many_pending_acks.
  std::size_t max_pending_acks = 256;
};

/// A client's connection to one namespace. Created by the server when a CONNECT is accepted.
class socket final : public adapter::local_socket, public std::enable_shared_from_this<socket> {
 public:
  /// Internal: see socketio::server.
  socket(std::shared_ptr<server> srv, std::weak_ptr<client> owner, std::weak_ptr<engineio::session> session,
         net::executor strand, std::string sid, std::string nsp, boost::json::value auth,
         std::shared_ptr<const engineio::request_info> request, socket_options opts);
  ~socket() override;

  /// The socket id (docs/wire.md, "Socket.IO"; the room of this socket alone).
  const std::string& sid() const noexcept { return sid_; }
  /// The namespace ("/" or "/name").
  const std::string& nsp() const noexcept { return nsp_; }
  /// The CONNECT payload (`auth` of the client); an empty object when none was sent.
  const boost::json::value& auth() const noexcept { return auth_; }
  /// The Engine.IO handshake request (headers, query).
  const engineio::request_info& request() const noexcept { return *request_; }
  /// The Engine.IO session id carrying this socket.
  const std::string& eio_sid() const noexcept { return eio_sid_; }
  /// The strand of the Engine.IO session; handlers run on it.
  net::executor get_executor() const noexcept { return strand_; }
  /// The server this socket belongs to.
  server& owner() const noexcept { return *server_; }
  /// True while connected to the namespace.
  bool connected() const noexcept { return connected_.load(std::memory_order_acquire); }

  /// Strand only: application data kept for the socket's lifetime (python-socketio's
  /// `save_session`/`get_session`).
  boost::json::object& data() noexcept { return data_; }

  /// Emits `event` with `args` to this client. Dropped once disconnected.
  void emit(std::string_view event, payload args = {});
  /// Emits `event` asking for an acknowledgement; `on_ack` is called once on the strand with the
  /// client's arguments, or error::ack_timeout after `timeout`, error::disconnected, or
  /// error::too_many_pending_acks.
  void emit_with_ack(std::string_view event, payload args, std::chrono::milliseconds timeout, ack_callback on_ack);
  /// Awaitable form of emit_with_ack.
  net::awaitable<ack_result> call(std::string event, payload args, std::chrono::milliseconds timeout);

  /// Joins `room` (false when refused: room limit, or already disconnected).
  bool join(const std::string& room);
  /// Leaves `room`.
  void leave(const std::string& room);
  /// The rooms this socket is in, its own included.
  std::vector<std::string> rooms() const;
  /// Disconnects from the namespace: sends DISCONNECT to the client and runs the disconnect
  /// handler with server_disconnect. The Engine.IO session stays open for other namespaces.
  void disconnect();

  // adapter::local_socket
  void deliver(const std::shared_ptr<const encoded_packet>& frames) override;
  void deliver_call(packet event, std::chrono::milliseconds timeout, ack_callback on_ack) override;
  void disconnect_from_server() override;

  // --- used by the client, strand only ---

  /// The CONNECT was accepted and answered: the socket is live.
  void mark_connected() noexcept { connected_.store(true, std::memory_order_release); }
  /// An ACK / BINARY_ACK from the client.
  void on_ack_packet(packet p);
  /// The socket left the namespace for `reason`: fails pending calls, leaves every room and
  /// runs the namespace's disconnect handler. Idempotent.
  void on_disconnected(disconnect_reason reason);
  /// Sends `p` (already for this namespace) if still connected.
  void send_packet(const packet& p);

 private:
  struct pending_call {
    ack_callback on_ack;
    std::shared_ptr<boost::asio::steady_timer> timer;
  };

  void start_call(packet event, std::chrono::milliseconds timeout, ack_callback on_ack);
  void expire_call(std::uint64_t id);
  void server_disconnect();

  std::shared_ptr<server> server_;
  std::weak_ptr<client> owner_;
  std::weak_ptr<engineio::session> session_;
  net::executor strand_;
  std::string sid_;
  std::string nsp_;
  std::string eio_sid_;
  boost::json::value auth_;
  std::shared_ptr<const engineio::request_info> request_;
  socket_options opts_;
  boost::json::object data_;

  std::atomic<bool> connected_{false};
  bool disconnected_ = false;  ///< strand only: on_disconnected ran
  std::uint64_t next_ack_id_ = 0;
  std::map<std::uint64_t, pending_call> pending_;
};

/// Awaits an acknowledgement: `start` is called with the callback that completes the await (on
/// the awaiting coroutine's executor). Used by the `call` helpers.
net::awaitable<ack_result> await_ack(std::function<void(ack_callback)> start);

}  // namespace owcore::realtime::socketio
