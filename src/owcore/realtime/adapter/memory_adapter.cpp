#include "owcore/realtime/adapter/memory_adapter.hpp"

#include "owcore/realtime/metrics.hpp"

#include <algorithm>

namespace owcore::realtime::adapter {

memory_adapter::memory_adapter(memory_adapter_options opts) : opts_(opts) {}

void memory_adapter::add_socket(const std::string& nsp, const std::string& sid,
                                std::weak_ptr<local_socket> socket) {
  std::lock_guard lock(mutex_);
  auto& s = spaces_[nsp];
  // A socket's own room (its sid) is implicit: looked up in `sockets`, never stored in `rooms`,
  // which saves two hash nodes and two string copies per connection.
  s.sockets[sid].socket = std::move(socket);
}

void memory_adapter::leave_locked(space& s, const std::string& sid, const std::string& room) {
  auto it = s.rooms.find(room);
  if (it == s.rooms.end()) return;
  it->second.erase(sid);
  if (it->second.empty()) s.rooms.erase(it);
}

void memory_adapter::remove_socket(const std::string& nsp, const std::string& sid) {
  std::lock_guard lock(mutex_);
  auto sp = spaces_.find(nsp);
  if (sp == spaces_.end()) return;
  auto& s = sp->second;
  auto it = s.sockets.find(sid);
  if (it == s.sockets.end()) return;
  for (const auto& room : it->second.rooms) leave_locked(s, sid, room);
  s.sockets.erase(it);
  if (s.sockets.empty() && s.rooms.empty()) spaces_.erase(sp);
}

bool memory_adapter::add_room_local(const std::string& nsp, const std::string& sid, const std::string& room) {
  std::lock_guard lock(mutex_);
  auto sp = spaces_.find(nsp);
  if (sp == spaces_.end()) return false;
  auto it = sp->second.sockets.find(sid);
  if (it == sp->second.sockets.end()) return false;
  auto& rooms = it->second.rooms;
  if (room == sid || rooms.contains(room)) return true;
  if (rooms.size() + 1 >= opts_.max_rooms_per_socket) return false;  // + its own room
  rooms.insert(room);
  sp->second.rooms[room].insert(sid);
  return true;
}

bool memory_adapter::del_room_local(const std::string& nsp, const std::string& sid, const std::string& room) {
  std::lock_guard lock(mutex_);
  auto sp = spaces_.find(nsp);
  if (sp == spaces_.end()) return false;
  auto it = sp->second.sockets.find(sid);
  if (it == sp->second.sockets.end()) return false;
  it->second.rooms.erase(room);
  leave_locked(sp->second, sid, room);
  return true;
}

void memory_adapter::close_room_local(const std::string& nsp, const std::string& room) {
  std::lock_guard lock(mutex_);
  auto sp = spaces_.find(nsp);
  if (sp == spaces_.end()) return;
  auto it = sp->second.rooms.find(room);
  if (it == sp->second.rooms.end()) return;
  for (const auto& sid : it->second)
    if (auto m = sp->second.sockets.find(sid); m != sp->second.sockets.end()) m->second.rooms.erase(room);
  sp->second.rooms.erase(it);
}

bool memory_adapter::has_local_members(std::string_view nsp, std::string_view room) const {
  // The maps are keyed by std::string without heterogeneous lookup: one copy of each name.
  std::lock_guard lock(mutex_);
  auto sp = spaces_.find(std::string(nsp));
  if (sp == spaces_.end()) return false;
  const std::string r(room);
  return sp->second.rooms.contains(r) || sp->second.sockets.contains(r);
}

bool memory_adapter::disconnect_local(const std::string& nsp, const std::string& sid) {
  auto s = find(nsp, sid);
  if (!s) return false;
  s->disconnect_from_server();
  return true;
}

std::size_t memory_adapter::deliver_local(const socketio::packet& p, const broadcast_target& to) {
  const auto targets = local_targets(to);
  if (targets.empty()) return 0;
  socketio::packet copy = p;
  copy.nsp = to.nsp;
  auto frames = std::make_shared<const socketio::encoded_packet>(socketio::encode(copy));
  for (const auto& t : targets) t->deliver(frames);
  auto& m = metrics().socketio;
  m.broadcasts.inc();
  m.deliveries.inc(targets.size());
  m.events_out[event_index_of(p)].inc(targets.size());
  return targets.size();
}

std::vector<std::shared_ptr<local_socket>> memory_adapter::local_targets(const broadcast_target& to) const {
  std::vector<std::shared_ptr<local_socket>> targets;
  {
    std::lock_guard lock(mutex_);
    auto sp = spaces_.find(to.nsp);
    if (sp == spaces_.end()) return targets;
    const auto& s = sp->second;
    auto excluded = [&](const std::string& sid) {
      for (const auto& room : to.except) {
        if (room == sid) return true;
        auto r = s.rooms.find(room);
        if (r != s.rooms.end() && r->second.contains(sid)) return true;
      }
      return false;
    };
    auto add = [&](const std::string& sid) {
      if (excluded(sid)) return;
      auto m = s.sockets.find(sid);
      if (m == s.sockets.end()) return;
      if (auto sock = m->second.socket.lock()) targets.push_back(std::move(sock));
    };
    if (to.rooms.empty()) {
      targets.reserve(s.sockets.size());
      for (const auto& [sid, m] : s.sockets) add(sid);
    } else if (to.rooms.size() == 1) {
      const auto& room = to.rooms.front();
      if (auto r = s.rooms.find(room); r != s.rooms.end()) {
        targets.reserve(r->second.size() + 1);
        for (const auto& sid : r->second) add(sid);
      }
      if (s.sockets.contains(room)) add(room);  // the room of a sid
    } else {
      std::unordered_set<std::string> seen;
      for (const auto& room : to.rooms) {
        if (s.sockets.contains(room) && seen.insert(room).second) add(room);
        auto r = s.rooms.find(room);
        if (r == s.rooms.end()) continue;
        for (const auto& sid : r->second)
          if (seen.insert(sid).second) add(sid);
      }
    }
  }
  return targets;
}

bool memory_adapter::add_room(const std::string& nsp, const std::string& sid, const std::string& room) {
  return add_room_local(nsp, sid, room);
}

void memory_adapter::del_room(const std::string& nsp, const std::string& sid, const std::string& room) {
  del_room_local(nsp, sid, room);
}

void memory_adapter::close_room(const std::string& nsp, const std::string& room) { close_room_local(nsp, room); }

void memory_adapter::broadcast(const socketio::packet& p, const broadcast_target& to) { deliver_local(p, to); }

void memory_adapter::disconnect(const std::string& nsp, const std::string& sid) { disconnect_local(nsp, sid); }

void memory_adapter::call(const std::string& nsp, const std::string& sid, socketio::packet event,
                          std::chrono::milliseconds timeout, ack_callback on_ack) {
  auto s = find(nsp, sid);
  if (!s) {
    on_ack(socketio::error::no_such_socket);
    return;
  }
  s->deliver_call(std::move(event), timeout, std::move(on_ack));
}

std::vector<std::string> memory_adapter::rooms_of(const std::string& nsp, const std::string& sid) const {
  std::lock_guard lock(mutex_);
  auto sp = spaces_.find(nsp);
  if (sp == spaces_.end()) return {};
  auto it = sp->second.sockets.find(sid);
  if (it == sp->second.sockets.end()) return {};
  std::vector<std::string> out(it->second.rooms.begin(), it->second.rooms.end());
  out.push_back(sid);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> memory_adapter::sids_in(const std::string& nsp, const std::string& room) const {
  std::lock_guard lock(mutex_);
  auto sp = spaces_.find(nsp);
  if (sp == spaces_.end()) return {};
  std::vector<std::string> out;
  if (auto it = sp->second.rooms.find(room); it != sp->second.rooms.end())
    out.assign(it->second.begin(), it->second.end());
  if (sp->second.sockets.contains(room)) out.push_back(room);
  std::sort(out.begin(), out.end());
  return out;
}

std::shared_ptr<local_socket> memory_adapter::find(const std::string& nsp, const std::string& sid) const {
  std::lock_guard lock(mutex_);
  auto sp = spaces_.find(nsp);
  if (sp == spaces_.end()) return nullptr;
  auto it = sp->second.sockets.find(sid);
  return it == sp->second.sockets.end() ? nullptr : it->second.socket.lock();
}

std::size_t memory_adapter::socket_count(const std::string& nsp) const {
  std::lock_guard lock(mutex_);
  auto sp = spaces_.find(nsp);
  return sp == spaces_.end() ? 0 : sp->second.sockets.size();
}

}  // namespace owcore::realtime::adapter
