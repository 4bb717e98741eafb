#pragma once
// The in-memory adapter: rooms and local delivery for one instance. It is also the base of
// multi-instance adapters, which override the public operations to forward them and call the
// protected `*_local` functions for what they receive from other instances.

#include "owcore/realtime/adapter/adapter.hpp"

#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace owcore::realtime::adapter {

/// Limits of the in-memory room registry.
struct memory_adapter_options {
  /// Rooms one socket may be in (its own included). Policy on overflow: the join is refused
  /// (add_room returns false), so a client that makes a handler join rooms in a loop cannot
  /// grow the registry without bound.
  std::size_t max_rooms_per_socket = 10'000;
};

/// The in-memory adapter. Thread-safe: one mutex guards the registry; it is held only for map
/// updates and lookups, never while delivering or across a suspension.
class memory_adapter : public adapter {
 public:
  explicit memory_adapter(memory_adapter_options opts = {});

  void add_socket(const std::string& nsp, const std::string& sid, std::weak_ptr<local_socket> socket) override;
  void remove_socket(const std::string& nsp, const std::string& sid) override;
  bool add_room(const std::string& nsp, const std::string& sid, const std::string& room) override;
  void del_room(const std::string& nsp, const std::string& sid, const std::string& room) override;
  void close_room(const std::string& nsp, const std::string& room) override;
  void broadcast(const socketio::packet& p, const broadcast_target& to) override;
  void disconnect(const std::string& nsp, const std::string& sid) override;
  void call(const std::string& nsp, const std::string& sid, socketio::packet event,
            std::chrono::milliseconds timeout, ack_callback on_ack) override;
  std::vector<std::string> rooms_of(const std::string& nsp, const std::string& sid) const override;
  std::vector<std::string> sids_in(const std::string& nsp, const std::string& room) const override;
  std::shared_ptr<local_socket> find(const std::string& nsp, const std::string& sid) const override;
  std::size_t socket_count(const std::string& nsp) const override;

 protected:
  /// Delivers `p` to the local sockets `to` selects, encoding it once. Returns how many.
  std::size_t deliver_local(const socketio::packet& p, const broadcast_target& to);
  /// The live local sockets `to` selects (rooms, exclusions), each once.
  std::vector<std::shared_ptr<local_socket>> local_targets(const broadcast_target& to) const;
  /// Joins a local socket to `room`; false when `sid` is not local or is at its room limit.
  bool add_room_local(const std::string& nsp, const std::string& sid, const std::string& room);
  /// Removes a local socket from `room`; false when `sid` is not local.
  bool del_room_local(const std::string& nsp, const std::string& sid, const std::string& room);
  /// Empties `room` locally.
  void close_room_local(const std::string& nsp, const std::string& room);
  /// True when `room` of `nsp` has a local member (a room or a local sid's own room). Cheap:
  /// two hash lookups under the registry mutex.
  bool has_local_members(std::string_view nsp, std::string_view room) const;
  /// Disconnects a local socket; false when `sid` is not local.
  bool disconnect_local(const std::string& nsp, const std::string& sid);

 private:
  struct member {
    std::weak_ptr<local_socket> socket;
    std::unordered_set<std::string> rooms;
  };
  struct space {
    std::unordered_map<std::string, member> sockets;                          // sid -> member
    std::unordered_map<std::string, std::unordered_set<std::string>> rooms;   // room -> sids
  };

  void leave_locked(space& s, const std::string& sid, const std::string& room);

  memory_adapter_options opts_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, space> spaces_;  // namespace -> registry
};

}  // namespace owcore::realtime::adapter
