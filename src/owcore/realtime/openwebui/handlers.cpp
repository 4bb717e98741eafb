#include "owcore/realtime/openwebui/handlers.hpp"

#include "owcore/realtime/openwebui/handler_common.hpp"

#include <boost/asio/co_spawn.hpp>
#include <spdlog/logger.h>

#include <algorithm>
#include <mutex>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

namespace owcore::realtime::openwebui {
namespace detail {

namespace json = boost::json;
namespace identity = coord::identity;

std::int64_t now_s() { return identity::now_seconds(); }

payload one(json::value v) {
  payload p;
  p.args.emplace_back(std::move(v));
  return p;
}

// Acknowledges {"ok": ok[, "error"]} when the client asked (Open WebUI's browser never asks for
// these events; the acknowledgement is for tools and tests).
void reply(const ack& a, bool ok, std::string_view error) {
  if (!a) return;
  json::object o;
  o["ok"] = ok;
  if (!error.empty()) o["error"] = error;
  a(one(std::move(o)));
}

void emit_to_room(const socket_ptr& s, std::string_view event, json::object body, std::string room,
                  bool skip_self) {
  adapter::broadcast_target to;
  to.nsp = s->nsp();
  to.rooms.push_back(std::move(room));
  if (skip_self) to.except.push_back(s->sid());
  s->owner().emit(event, one(std::move(body)), to);
}

bool in_local_room(const socket_ptr& s, const std::string& room) {
  const auto rooms = s->rooms();
  return std::find(rooms.begin(), rooms.end(), room) != rooms.end();
}

// Joins `room` unless the socket already holds max_rooms rooms.
bool join_room(const handlers_ptr& h, const socket_ptr& s, const std::string& room) {
  const auto rooms = s->rooms();
  if (std::find(rooms.begin(), rooms.end(), room) != rooms.end()) return true;
  if (rooms.size() >= h->opts.lim.max_rooms) {
    h->warn("openwebui: {} reached the room limit ({}); not joining more", s->sid(), h->opts.lim.max_rooms);
    return false;
  }
  return s->join(room);
}

// The socket's user as the database has it now (at most the identity cache TTL old), for every
// permission decision; nullopt when unauthenticated, gone from the database, or not verifiable.
net::awaitable<std::optional<db::user_row>> current_user(handlers_ptr h, state_ptr st) {
  if (!st->user) co_return std::nullopt;
  const std::string id = st->user->id;
  auto r = co_await h->svc->identity->user(id);
  if (!r) co_return std::nullopt;
  co_return *r;
}

}  // namespace detail

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
namespace identity = coord::identity;
using namespace detail;

// Verifies a token and loads its user (role user or admin), or nullopt.
net::awaitable<std::optional<db::user_row>> verify(handlers_ptr h, std::string token) {
  auto r = co_await h->svc->identity->authenticate(token);
  if (auto* c = std::get_if<identity::caller>(&r)) co_return std::move(c->user);
  co_return std::nullopt;
}

// Writes the pool entry, remembers the user and enters `user:<id>` (connect and user-join).
// A socket that disconnected meanwhile gets its entry removed again.
net::awaitable<bool> establish(handlers_ptr h, socket_ptr s, state_ptr st, db::user_row user) {
  if (st->user && st->user->id != user.id) co_return false;  // one socket, one user
  json::value entry = pool_entry(user, now_s());
  const std::string sid = s->sid();
  st->wrote = true;
  if (h->svc->lease) co_await h->svc->lease->hold(sid);
  auto w = co_await h->svc->session_pool->set(sid, std::move(entry));
  if (!w) h->warn("openwebui: session pool write for {} failed: {}", sid, w.error().message());
  if (st->gone) {
    auto undo = co_await h->svc->session_pool->erase(sid);
    (void)undo;
    co_return false;
  }
  const std::string room = "user:" + user.id;
  st->user = std::move(user);
  join_room(h, s, room);
  co_return true;
}

net::awaitable<void> join_channels(handlers_ptr h, socket_ptr s, db::user_row user) {
  auto ids = co_await h->svc->permissions->channels_to_join(user);
  if (!ids) {
    h->warn("openwebui: channel list of {} failed: {}", user.id, ids.error().message());
    co_return;
  }
  for (const auto& id : *ids)
    if (!join_room(h, s, "channel:" + id)) break;
}

// --- events ------------------------------------------------------------------------------------

net::awaitable<void> on_connect(handlers_ptr h, socket_ptr s, state_ptr st) {
  auto token = parse_token(s->auth(), h->opts.lim);
  if (!token) co_return;
  auto user = co_await verify(h, std::move(*token));
  if (!user) co_return;
  auto ok = co_await establish(h, s, st, std::move(*user));
  (void)ok;
}

net::awaitable<void> on_user_join(handlers_ptr h, socket_ptr s, state_ptr st, payload p, ack a) {
  auto token = parse_auth_event(p, h->opts.lim);
  if (!token) {
    if (a) a();
    co_return;
  }
  auto user = co_await verify(h, std::move(*token));
  if (!user) {
    if (a) a();
    co_return;
  }
  db::user_row row = *user;
  auto ok = co_await establish(h, s, st, std::move(*user));
  if (!ok) {
    if (a) a();
    co_return;
  }
  co_await join_channels(h, s, row);
  json::object o;
  o["id"] = row.id;
  o["name"] = row.name;
  if (a) a(one(std::move(o)));
}

net::awaitable<void> on_join_channels(handlers_ptr h, socket_ptr s, state_ptr st, payload p, ack a) {
  auto token = parse_auth_event(p, h->opts.lim);
  if (!token) co_return reply(a, false, "expected {auth: {token}}");
  auto user = co_await verify(h, std::move(*token));
  if (!user) co_return reply(a, false, "not authenticated");
  if (st->user && st->user->id != user->id) co_return reply(a, false, "another user's token");
  co_await join_channels(h, s, *user);
  reply(a, true);
}

net::awaitable<void> on_heartbeat(handlers_ptr h, socket_ptr s, state_ptr st, payload, ack a) {
  if (!st->user) co_return reply(a, false, "not authenticated");
  const std::string sid = s->sid();
  const std::string uid = st->user->id;
  auto r = co_await h->svc->session_pool->heartbeat(sid, now_s());
  if (!r) {
    h->warn("openwebui: heartbeat of {} failed: {}", sid, r.error().message());
  } else if (!*r && !st->gone) {
    // The entry was reaped while the tab is alive: write it again, as Python 0.11.5 does.
    json::value entry = pool_entry(*st->user, now_s());
    auto w = co_await h->svc->session_pool->set(sid, std::move(entry));
    (void)w;
    if (st->gone) {
      auto undo = co_await h->svc->session_pool->erase(sid);
      (void)undo;
    }
  }
  auto active = co_await h->svc->writes->user_active(uid);
  if (!active) h->warn("openwebui: last_active_at of {} not written: {}", uid, active.error().message());
  reply(a, true);
}

net::awaitable<void> on_usage(handlers_ptr h, socket_ptr s, state_ptr st, payload p, ack a) {
  if (!st->user) co_return reply(a, false, "not authenticated");
  auto model = parse_usage(p, h->opts.lim);
  if (!model) co_return reply(a, false, "expected {model}");
  if (!st->models.contains(*model) && st->models.size() >= h->opts.lim.max_documents)
    co_return reply(a, false, "too many models");
  st->models.insert(*model);
  const std::string sid = s->sid();
  auto r = co_await h->svc->usage_pool->touch(*model, sid, now_s());
  if (st->gone) {
    auto undo = co_await h->svc->usage_pool->remove_sid(*model, sid);
    (void)undo;
  }
  reply(a, r.has_value());
}

net::awaitable<void> on_join_note(handlers_ptr h, socket_ptr s, state_ptr st, payload p, ack a) {
  auto e = parse_join_note(p, h->opts.lim);
  if (!e) co_return reply(a, false, "expected {note_id, auth: {token}}");
  auto user = co_await verify(h, std::move(e->token));
  if (!user) co_return reply(a, false, "not authenticated");
  if (st->user && st->user->id != user->id) co_return reply(a, false, "another user's token");
  const std::string read = "read";
  auto allowed = co_await h->svc->permissions->can_access_note(*user, e->note_id, read);
  if (!allowed || !*allowed) co_return reply(a, false, "no access");
  reply(a, join_room(h, s, "note:" + e->note_id));
}

net::awaitable<void> on_channel_event(handlers_ptr h, socket_ptr s, state_ptr st, payload p, ack a) {
  if (!st->user) co_return reply(a, false, "not authenticated");
  auto e = parse_channel_event(p, h->opts.lim);
  if (!e) co_return reply(a, false, "expected {channel_id, data: {type}}");
  const std::string room = "channel:" + e->channel_id;
  if (!in_local_room(s, room)) co_return reply(a, false, "not in the channel");
  if (e->type == "typing") {
    json::object user;
    user["id"] = st->user->id;
    user["name"] = st->user->name;
    user["role"] = st->user->role;
    json::object o;
    o["channel_id"] = e->channel_id;
    o["message_id"] = e->message_id;
    o["data"] = std::move(e->data);
    o["user"] = std::move(user);
    emit_to_room(s, "events:channel", std::move(o), room, false);
    co_return reply(a, true);
  }
  const std::string uid = st->user->id;
  auto r = co_await h->svc->writes->channel_read(e->channel_id, uid);
  reply(a, r && *r);
}

net::awaitable<void> on_chat_event(handlers_ptr h, socket_ptr s, state_ptr st, payload p, ack a) {
  if (!st->user) co_return reply(a, false, "not authenticated");
  auto chat_id = parse_chat_read(p, h->opts.lim);
  if (!chat_id) co_return reply(a, false, "expected {chat_id, data: {type: last_read_at}}");
  const std::string uid = st->user->id;
  auto r = co_await h->svc->writes->chat_read(*chat_id, uid);
  if (!r || !*r) co_return reply(a, false, "no such chat");
  json::object inner;
  inner["chat_id"] = *chat_id;
  inner["last_read_at"] = (*r)->last_read_at;
  if ((*r)->folder_unread_counts) {
    json::object counts;
    for (const auto& [folder, n] : *(*r)->folder_unread_counts) counts[folder] = n;
    inner["folder_unread_counts"] = std::move(counts);
  }
  json::object data;
  data["type"] = "chat:list";
  data["data"] = std::move(inner);
  json::object o;
  o["chat_id"] = *chat_id;
  o["data"] = std::move(data);
  emit_to_room(s, "events", std::move(o), "user:" + uid, false);
  auto cancelled = co_await h->svc->writes->cancel_read_timers(*chat_id, uid);
  if (!cancelled) h->warn("openwebui: chat.read timers of {} not cancelled: {}", *chat_id, cancelled.error().message());
  reply(a, true);
}

// Disconnect cleanup: the pool entry (whether or not it was reaped meanwhile), the sid in every
// usage-pool model it wrote, and its Yjs presence everywhere.
net::awaitable<void> on_disconnect(handlers_ptr h, std::string sid, state_ptr st) {
  // A socket that never authenticated wrote nothing (every write below needs a user): no Redis
  // round trips for it, so floods of anonymous connections cost Redis nothing.
  if (!st->wrote) {
    h->forget(sid);
    co_return;
  }
  auto erased = co_await h->svc->session_pool->erase(sid);
  if (!erased) h->warn("openwebui: pool entry of {} not removed: {}", sid, erased.error().message());
  const std::vector<std::string> models(st->models.begin(), st->models.end());
  for (const auto& m : models) {
    auto r = co_await h->svc->usage_pool->remove_sid(m, sid);
    (void)r;
  }
  auto docs = co_await h->svc->documents->remove_user_from_all_documents(sid);
  if (!docs) h->warn("openwebui: Yjs presence of {} not removed: {}", sid, docs.error().message());
  if (h->svc->lease) co_await h->svc->lease->release(sid);
  h->forget(sid);
}

// After this instance's lease ran out, another instance may have swept its sockets as a dead
// instance's (instance_lease.hpp): writes back what this live one holds, the sid in the lease's
// hash, its pool entry and its Yjs presence (add_user also cancels the expiry the sweep set on
// documents it left without users). Usage entries are left to the client's next `usage` event,
// which writes them again as it does after the usage cleaner.
net::awaitable<void> reassert(handlers_ptr h, socket_ptr s, state_ptr st) {
  if (st->gone || !st->user) co_return;
  const std::string sid = s->sid();
  if (h->svc->lease) co_await h->svc->lease->hold(sid);
  auto w = co_await h->svc->session_pool->set(sid, pool_entry(*st->user, now_s()));
  if (!w) h->warn("openwebui: pool entry of {} not written back: {}", sid, w.error().message());
  const std::vector<std::string> docs(st->documents.begin(), st->documents.end());
  for (const auto& d : docs) {
    auto r = co_await h->svc->documents->add_user(d, sid);
    if (!r) h->warn("openwebui: Yjs presence of {} in {} not written back: {}", sid, d, r.error().message());
  }
  if (st->gone) {
    // The disconnect cleanup may have run between these writes: clean again.
    auto erased = co_await h->svc->session_pool->erase(sid);
    (void)erased;
    auto left = co_await h->svc->documents->remove_user_from_all_documents(sid);
    (void)left;
    if (h->svc->lease) co_await h->svc->lease->release(sid);
  }
}

// --- dispatch ----------------------------------------------------------------------------------

using event_coroutine = net::awaitable<void> (*)(handlers_ptr, socket_ptr, state_ptr, payload, ack);

// Decrements the in-flight count when a handler coroutine ends, however it ends.
struct in_flight_guard {
  state_ptr st;
  ~in_flight_guard() {
    if (st && st->in_flight > 0) --st->in_flight;
  }
};

net::awaitable<void> run_event(handlers_ptr h, socket_ptr s, state_ptr st, payload p, ack a, event_coroutine f) {
  in_flight_guard guard{st};
  co_await f(h, s, st, std::move(p), std::move(a));
}

void spawn_logged(const handlers_ptr& h, const socket_ptr& s, net::awaitable<void> work, std::string what) {
  asio::co_spawn(s->get_executor(), std::move(work), [h, what = std::move(what)](std::exception_ptr ep) {
    if (!ep) return;
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      h->warn("openwebui: {} failed: {}", what, e.what());
    }
  });
}

void dispatch(const handlers_ptr& h, const socket_ptr& s, payload p, ack a, event_coroutine f,
              const char* name) {
  auto st = h->find(s->sid());
  if (!st || st->gone) return;
  const auto& lim = h->opts.lim;
  const auto now = std::chrono::steady_clock::now();
  if (!st->rate.take(now)) {
    if (now - st->refusal_window > std::chrono::seconds(1)) {
      st->refusal_window = now;
      st->refusals = 0;
    }
    if (++st->refusals >= lim.max_refusals) {
      h->warn("openwebui: {} had {} events refused for the rate within a second; disconnecting", s->sid(),
              st->refusals);
      s->disconnect();
      return;
    }
    return reply(a, false, "rate limited");
  }
  if (st->in_flight >= lim.max_in_flight) return reply(a, false, "too many events in flight");
  ++st->in_flight;
  spawn_logged(h, s, run_event(h, s, st, std::move(p), std::move(a), f), name);
}

void on_event(socketio::namespace_handlers& root, const handlers_ptr& h, const char* name, event_coroutine f) {
  root.on(name, [h, f, name](const socket_ptr& s, payload p, ack a) { dispatch(h, s, std::move(p), std::move(a), f, name); });
}

}  // namespace

bool complete(const services& s) noexcept {
  return s.identity && s.permissions && s.writes && s.session_pool && s.usage_pool && s.note_tasks && s.documents;
}

void install(socketio::server& srv, std::shared_ptr<const services> svc, handler_options opts) {
  auto h = std::make_shared<handler_set>();
  h->svc = std::move(svc);
  h->opts = opts;
  auto& root = srv.of("/");
  if (h->svc->lease) {
    std::weak_ptr<handler_set> weak = h;  // the lease outlives nothing it must keep alive
    h->svc->lease->on_lapsed([weak] {
      auto self = weak.lock();
      if (!self) return;
      for (auto& [s, st] : self->live())
        spawn_logged(self, s, reassert(self, s, st), "writing back a socket's state");
    });
  }
  root.on_connection([h](const socket_ptr& s) {
    auto st = h->attach(s);
    spawn_logged(h, s, on_connect(h, s, st), "connect");
  });
  root.on_disconnect([h](const socket_ptr& s, socketio::disconnect_reason) {
    auto st = h->find(s->sid());
    if (!st) return;
    st->gone = true;
    spawn_logged(h, s, on_disconnect(h, s->sid(), st), "disconnect");
  });
  on_event(root, h, "user-join", on_user_join);
  on_event(root, h, "join-channels", on_join_channels);
  on_event(root, h, "heartbeat", on_heartbeat);
  on_event(root, h, "usage", on_usage);
  on_event(root, h, "join-note", on_join_note);
  on_event(root, h, "events:channel", on_channel_event);
  on_event(root, h, "events:chat", on_chat_event);
  on_event(root, h, "ydoc:document:join", on_ydoc_join);
  on_event(root, h, "ydoc:document:state", on_ydoc_state);
  on_event(root, h, "ydoc:document:update", on_ydoc_update);
  on_event(root, h, "ydoc:document:leave", on_ydoc_leave);
  on_event(root, h, "ydoc:awareness:update", on_awareness);
}

}  // namespace owcore::realtime::openwebui
