#pragma once
// The fan-out interface between the Socket.IO server and the rest of the fleet,
// modelled on python-socketio's client manager: the server keeps its local sockets registered
// here and sends every room operation and broadcast through it. An adapter delivers locally and,
// in a multi-instance deployment, forwards to the other instances:
//
// - memory_adapter: one instance, everything in process memory (and the base of others);
// - a Redis adapter (adapter/redis_*): derives from memory_adapter, publishes each operation on
//   the `socketio` channel in python-socketio's JSON format (docs/wire.md) and applies the
//   operations it receives from other instances with the `*_local` functions.
//
// Sockets are referenced weakly: a socket that is gone is skipped and forgotten.

#include "owcore/realtime/socketio/error.hpp"
#include "owcore/realtime/socketio/packet.hpp"

#include <boost/system/result.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace owcore::realtime::adapter {

/// Outcome of a server-to-client call: the client's acknowledgement arguments or an error
/// (socketio::error::ack_timeout, disconnected, no_such_socket, too_many_pending_acks).
using ack_result = boost::system::result<socketio::payload>;

/// Receives the outcome of a call, exactly once, on an unspecified thread (the socket's strand
/// for local sockets). Must not block.
using ack_callback = std::function<void(ack_result)>;

/// A socket connected to this instance, as the adapter sees it. Implemented by
/// socketio::socket. Every member is thread-safe and non-blocking.
class local_socket {
 public:
  virtual ~local_socket() = default;
  /// Sends an already-encoded packet (the same frames go to every recipient of a broadcast).
  virtual void deliver(const std::shared_ptr<const socketio::encoded_packet>& frames) = 0;
  /// Sends `event` (an EVENT packet of this socket's namespace; its id is assigned here) and
  /// waits up to `timeout` for the acknowledgement.
  virtual void deliver_call(socketio::packet event, std::chrono::milliseconds timeout,
                            ack_callback on_ack) = 0;
  /// Disconnects the socket from its namespace, as the server-side `disconnect()` does.
  virtual void disconnect_from_server() = 0;
};

/// Who receives a broadcast.
struct broadcast_target {
  std::string nsp = "/";             ///< the namespace
  std::vector<std::string> rooms;    ///< union of these rooms; empty = every socket of `nsp`
  std::vector<std::string> except;   ///< members of these rooms are skipped (a sid is a room)
};

/// The adapter interface. Implementations are thread-safe: every member may be called from any
/// strand, never blocks and never suspends.
class adapter {
 public:
  virtual ~adapter() = default;

  // --- local membership ---------------------------------------------------------------------

  /// A socket connected to `nsp` on this instance; it joins the room named by its `sid`.
  virtual void add_socket(const std::string& nsp, const std::string& sid,
                          std::weak_ptr<local_socket> socket) = 0;
  /// The socket left `nsp`: it leaves every room.
  virtual void remove_socket(const std::string& nsp, const std::string& sid) = 0;

  // --- room operations (any socket of the fleet) ---------------------------------------------

  /// `sid` joins `room`. A socket that is not on this instance is forwarded to the others
  /// (python-socketio `enter_room`); the memory adapter ignores it. Returns false when the room
  /// was not joined here (unknown sid, or the per-socket room limit).
  virtual bool add_room(const std::string& nsp, const std::string& sid, const std::string& room) = 0;
  /// `sid` leaves `room` (forwarded when not local, like add_room).
  virtual void del_room(const std::string& nsp, const std::string& sid, const std::string& room) = 0;
  /// Every socket leaves `room`, on every instance.
  virtual void close_room(const std::string& nsp, const std::string& room) = 0;

  // --- fan-out -------------------------------------------------------------------------------

  /// Sends `p` (an EVENT of namespace `to.nsp`, with its attachments) to the targeted sockets of
  /// every instance: local ones directly (encoded once), others through the adapter's transport.
  virtual void broadcast(const socketio::packet& p, const broadcast_target& to) = 0;
  /// Disconnects `sid` from `nsp`, wherever it is connected.
  virtual void disconnect(const std::string& nsp, const std::string& sid) = 0;
  /// Sends `event` to the single socket `sid` and reports its acknowledgement or an error within
  /// `timeout` (python-socketio `call`). The memory adapter answers no_such_socket for a sid
  /// that is not local.
  virtual void call(const std::string& nsp, const std::string& sid, socketio::packet event,
                    std::chrono::milliseconds timeout, ack_callback on_ack) = 0;

  // --- local queries (this instance only, as in python-socketio) ----------------------------

  /// The rooms `sid` is in (including its own), empty when it is not connected here.
  virtual std::vector<std::string> rooms_of(const std::string& nsp, const std::string& sid) const = 0;
  /// The sids of `room`'s local members.
  virtual std::vector<std::string> sids_in(const std::string& nsp, const std::string& room) const = 0;
  /// The local socket `sid` of `nsp`, or null.
  virtual std::shared_ptr<local_socket> find(const std::string& nsp, const std::string& sid) const = 0;
  /// Number of local sockets connected to `nsp`.
  virtual std::size_t socket_count(const std::string& nsp) const = 0;

  // --- lifecycle -----------------------------------------------------------------------------

  /// Starts background work (a Redis subscriber). The memory adapter has none.
  virtual void start() {}
  /// Stops background work; local delivery keeps working.
  virtual void stop() {}
};

}  // namespace owcore::realtime::adapter
