#pragma once
// Private to the Open WebUI handlers (handlers.cpp, handlers_ydoc.cpp): the per-socket state and
// the helpers both files use. Not part of the realtime layer's interface.

#include "owcore/realtime/openwebui/handlers.hpp"
#include "owcore/realtime/openwebui/payloads.hpp"

#include <spdlog/logger.h>

#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace owcore::realtime::openwebui::detail {

using socketio::ack;
using socketio::payload;
using socket_ptr = std::shared_ptr<socketio::socket>;

// What this module keeps per socket. Strand only (the socket's strand, where every handler and
// every coroutine spawned for the socket runs).
struct client_state {
  explicit client_state(const limits& lim) : rate(lim.events_per_second, lim.event_burst) {}
  std::optional<db::user_row> user;   // the authenticated user, as loaded at connect/user-join
  rate_limiter rate;
  std::size_t refusals = 0;           // rate refusals in the current window
  std::chrono::steady_clock::time_point refusal_window{};  // start of that one-second window
  std::size_t in_flight = 0;          // handler coroutines running
  std::set<std::string> models;       // usage-pool fields this sid was written to
  std::set<std::string> documents;    // Yjs documents joined
  bool gone = false;                  // disconnected: cleanup ran or is running
  bool wrote = false;                 // something may have been written to Redis for this sid
  std::weak_ptr<socketio::socket> socket;  // set once by attach (under handler_set::mutex)
};
using state_ptr = std::shared_ptr<client_state>;

struct handler_set {
  std::shared_ptr<const services> svc;
  handler_options opts;
  mutable std::mutex mutex;
  std::unordered_map<std::string, state_ptr> clients;  // by sid

  state_ptr attach(const socket_ptr& s) {
    auto st = std::make_shared<client_state>(opts.lim);
    std::lock_guard lock(mutex);
    st->socket = s;
    clients[s->sid()] = st;
    return st;
  }
  // Every socket still attached, with its state.
  std::vector<std::pair<socket_ptr, state_ptr>> live() const {
    std::vector<std::pair<socket_ptr, state_ptr>> out;
    std::lock_guard lock(mutex);
    out.reserve(clients.size());
    for (const auto& [sid, st] : clients)
      if (auto s = st->socket.lock()) out.emplace_back(std::move(s), st);
    return out;
  }
  state_ptr find(const std::string& sid) const {
    std::lock_guard lock(mutex);
    auto it = clients.find(sid);
    return it == clients.end() ? nullptr : it->second;
  }
  void forget(const std::string& sid) {
    std::lock_guard lock(mutex);
    clients.erase(sid);
  }
  template <class... A>
  void warn(fmt::format_string<A...> f, A&&... a) const {
    if (svc->log) svc->log->warn(f, std::forward<A>(a)...);
  }
};
using handlers_ptr = std::shared_ptr<handler_set>;

/// Seconds since the epoch (Open WebUI's timestamps).
std::int64_t now_s();
/// A payload of one argument.
payload one(boost::json::value v);
/// Acknowledges {"ok": ok[, "error"]} when the client asked (Open WebUI's browser never asks for
/// these events; the acknowledgement is for tools and tests).
void reply(const ack& a, bool ok, std::string_view error = {});
/// Emits `event` to `room` through the server (every instance), without the sender when `skip_self`.
void emit_to_room(const socket_ptr& s, std::string_view event, boost::json::object body, std::string room,
                  bool skip_self);
/// Whether the socket is in `room` on this instance.
bool in_local_room(const socket_ptr& s, const std::string& room);
/// Joins `room` unless the socket already holds max_rooms rooms.
bool join_room(const handlers_ptr& h, const socket_ptr& s, const std::string& room);
/// The socket's user as the database has it now (at most the identity cache TTL old), for every
/// permission decision; nullopt when unauthenticated, gone from the database, or not verifiable.
net::awaitable<std::optional<db::user_row>> current_user(handlers_ptr h, state_ptr st);

/// The Yjs events (handlers_ydoc.cpp).
net::awaitable<void> on_ydoc_join(handlers_ptr h, socket_ptr s, state_ptr st, payload p, ack a);
net::awaitable<void> on_ydoc_state(handlers_ptr h, socket_ptr s, state_ptr st, payload p, ack a);
net::awaitable<void> on_ydoc_update(handlers_ptr h, socket_ptr s, state_ptr st, payload p, ack a);
net::awaitable<void> on_ydoc_leave(handlers_ptr h, socket_ptr s, state_ptr st, payload p, ack a);
net::awaitable<void> on_awareness(handlers_ptr h, socket_ptr s, state_ptr st, payload p, ack a);

}  // namespace owcore::realtime::openwebui::detail
