#pragma once
// The Redis Socket.IO adapter (docs/wire.md, "Pub/sub"): memory_adapter for this instance's sockets
// plus the python-socketio `socketio` pub/sub channel (redis_channel) for the rest of the fleet.
//
// - broadcast: delivered locally, and published as an `emit` (room, skip_sid = the `except`
//   rooms, namespace, positional args; binary args as base64 attachments with placeholders).
// - add_room / del_room / disconnect: applied here when the sid is local, otherwise published as
//   `enter_room` / `leave_room` / `disconnect` for the instance that holds it.
// - close_room: applied here and always published.
// - call: a local sid is called directly; otherwise an `emit` with `callback` [sid, nsp, id] is
//   published and the first `callback` message sent back completes the call (ack_timeout when
//   none arrives within the timeout, disconnected on stop()).
// - a received `emit` with `callback` is delivered as a call to every local member of its room
//   (python-socketio allows a room, not only a sid); each answer is published back. Binary
//   answers lose their attachments: the `callback` message carries JSON `args` only, as in
//   python-socketio.
// - received messages (already filtered by host_id) are applied with the `*_local` functions; an
//   `emit` with `callback` to a local sid is delivered as a call whose acknowledgement is
//   published back to the origin host.
//
// Room channels (redis_channel_options::room_channels, WEBSOCKET_REDIS_ROOM_CHANNELS): an emit
// to one room travels on that room's channel, and a received room-channel message is decoded
// only when the room has local members (has_local_members); see redis_channel.hpp.
//
// Note: `except` rooms are published as skip_sid. Python receivers treat skip_sid entries as
// sids; owcore receivers treat them as rooms (a sid is a room), so both agree for sid entries.
//
// Thread-safety: every member may be called from any thread; nothing blocks.

#include "owcore/net/executor.hpp"
#include "owcore/realtime/adapter/memory_adapter.hpp"
#include "owcore/realtime/adapter/redis_channel.hpp"

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace spdlog {
class logger;
}

namespace owcore::realtime::adapter {

/// Options of a redis_adapter.
struct redis_adapter_options {
  redis_channel_options channel;   ///< channel name, host_id, JSON style, limits, logger
  memory_adapter_options memory;   ///< local room registry limits
  /// How long a call received from another host waits for the local client's acknowledgement.
  std::chrono::milliseconds remote_call_timeout = std::chrono::seconds(60);
  /// Calls to remote sids waiting for their `callback`; further calls fail with
  /// socketio::error::too_many_pending_acks.
  std::size_t max_pending_calls = 10'000;
  /// Null = silent.
  std::shared_ptr<spdlog::logger> log;
};

/// The Redis adapter. Create with create(); start() subscribes; stop() before the last
/// reference is dropped.
class redis_adapter : public memory_adapter, public std::enable_shared_from_this<redis_adapter> {
 public:
  static std::shared_ptr<redis_adapter> create(net::executor ex, std::shared_ptr<redis::client> client,
                                               redis_adapter_options opts = {});
  ~redis_adapter() override;

  bool add_room(const std::string& nsp, const std::string& sid, const std::string& room) override;
  void del_room(const std::string& nsp, const std::string& sid, const std::string& room) override;
  void close_room(const std::string& nsp, const std::string& room) override;
  void broadcast(const socketio::packet& p, const broadcast_target& to) override;
  void disconnect(const std::string& nsp, const std::string& sid) override;
  void call(const std::string& nsp, const std::string& sid, socketio::packet event,
            std::chrono::milliseconds timeout, ack_callback on_ack) override;
  void start() override;
  void stop() override;

  /// This instance's host id.
  const std::string& host_id() const noexcept { return channel_->host_id(); }
  /// The channel (statistics, subscription state).
  const std::shared_ptr<redis_channel>& channel() const noexcept { return channel_; }

 private:
  redis_adapter(net::executor ex, redis_adapter_options opts);

  struct pending_call {
    ack_callback on_ack;
    std::shared_ptr<boost::asio::steady_timer> timer;
  };

  void on_message(socketio_pubsub::message m);
  void on_emit(socketio_pubsub::emit_message m);
  void on_callback(const socketio_pubsub::callback_message& m);
  void publish(socketio_pubsub::message m);
  void finish_call(std::uint64_t id, ack_result r);

  net::executor ex_;
  net::executor timer_strand_;  ///< every call timer is armed and cancelled here
  redis_adapter_options opts_;
  std::shared_ptr<redis_channel> channel_;

  std::mutex calls_mutex_;  ///< guards the fields below; never held while calling out
  std::uint64_t next_call_id_ = 1;
  std::unordered_map<std::uint64_t, pending_call> calls_;
  bool stopped_ = false;
};

}  // namespace owcore::realtime::adapter
