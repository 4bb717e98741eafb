// The Yjs events of the Open WebUI handlers (docs/openwebui-events.md): join, state, update,
// leave and awareness, with the debounced note save.
#include "owcore/realtime/openwebui/handler_common.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <chrono>
#include <tuple>

namespace owcore::realtime::openwebui::detail {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

// Whether the socket's user may `permission` the document (non-note documents are opt-in and
// never checked against the database, as in Python).
net::awaitable<bool> may_access(handlers_ptr h, state_ptr st, document_ref doc, std::string permission) {
  if (!doc.note_id) co_return h->opts.lim.allow_non_note_documents;
  auto user = co_await current_user(h, st);
  if (!user) co_return false;
  auto allowed = co_await h->svc->permissions->can_access_note(*user, *doc.note_id, permission);
  co_return allowed && *allowed;
}

// `ydoc:document:state` to the socket: the merged state and the sids of every instance in the
// document (the Redis presence set).
net::awaitable<bool> send_state(handlers_ptr h, socket_ptr s, std::string document_id) {
  auto state = co_await h->svc->documents->state(document_id);
  if (!state) co_return false;
  auto users = co_await h->svc->documents->users(document_id);
  if (!users) co_return false;
  json::array sessions;
  for (auto& u : *users) sessions.emplace_back(std::move(u));
  json::object o;
  o["document_id"] = document_id;
  o["state"] = int_list(*state);
  o["sessions"] = std::move(sessions);
  s->emit("ydoc:document:state", one(std::move(o)));
  co_return true;
}

void join_failed(const socket_ptr& s) {
  json::object o;
  o["message"] = "Failed to join document";
  s->emit("error", one(std::move(o)));
}

// The debounced note save, a task on item `note:<id>`. A named type rather than a lambda: g++ 12
// mishandles lambdas holding shared_ptrs that end up in co_await expressions.
struct note_save_job {
  std::shared_ptr<const services> svc;
  std::string user_id, note_id, patch;
  std::chrono::milliseconds delay;

  net::awaitable<void> operator()() const {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(delay);
    auto waited = co_await timer.async_wait(net::use_tuple);
    if (std::get<0>(waited)) co_return;  // stopped by a newer update or a stop command
    auto user = co_await svc->identity->user(user_id);
    if (!user || !*user) co_return;
    auto saved = co_await svc->writes->save_note(**user, note_id, patch);
    if (!saved && svc->log) svc->log->warn("openwebui: note {} not saved: {}", note_id, saved.error().message());
  }
};

}  // namespace

net::awaitable<void> on_ydoc_join(handlers_ptr h, socket_ptr s, state_ptr st, payload p, ack a) {
  if (!st->user) co_return reply(a, false, "not authenticated");
  const std::string sid = s->sid();
  auto e = parse_ydoc_join(p, sid, h->opts.lim);
  if (!e) co_return reply(a, false, "expected {document_id: 'note:<id>'}");
  auto allowed = co_await may_access(h, st, e->doc, "read");
  if (!allowed) co_return reply(a, false, "no access");
  if (!st->documents.contains(e->doc.id) && st->documents.size() >= h->opts.lim.max_documents)
    co_return reply(a, false, "too many documents");
  if (!join_room(h, s, e->doc.room())) co_return reply(a, false, "room limit");
  st->documents.insert(e->doc.id);
  auto added = co_await h->svc->documents->add_user(e->doc.id, sid);
  if (st->gone) {
    auto undo = co_await h->svc->documents->remove_user(e->doc.id, sid);
    (void)undo;
    co_return;
  }
  if (!added) {
    join_failed(s);
    co_return reply(a, false, "store unavailable");
  }
  auto sent = co_await send_state(h, s, e->doc.id);
  if (!sent) {
    join_failed(s);
    co_return reply(a, false, "store unavailable");
  }
  json::object o;
  o["document_id"] = e->doc.id;
  o["user_id"] = e->user_id;
  o["user_name"] = e->user_name;
  o["user_color"] = e->user_color;
  emit_to_room(s, "ydoc:user:joined", std::move(o), e->doc.room(), true);
  reply(a, true);
}

net::awaitable<void> on_ydoc_state(handlers_ptr h, socket_ptr s, state_ptr st, payload p, ack a) {
  if (!st->user) co_return reply(a, false, "not authenticated");
  auto doc = parse_document_event(p, h->opts.lim);
  if (!doc) co_return reply(a, false, "expected {document_id}");
  if (!in_local_room(s, doc->room())) co_return reply(a, false, "not in the document");
  auto exists = co_await h->svc->documents->exists(doc->id);
  if (!exists || !*exists) co_return reply(a, false, "no such document");
  auto sent = co_await send_state(h, s, doc->id);
  reply(a, sent);
}

net::awaitable<void> on_ydoc_update(handlers_ptr h, socket_ptr s, state_ptr st, payload p, ack a) {
  if (!st->user) co_return reply(a, false, "not authenticated");
  const std::string sid = s->sid();
  auto e = parse_ydoc_update(p, sid, h->opts.lim);
  if (!e) co_return reply(a, false, "expected {document_id, update}");
  if (!in_local_room(s, e->doc.room())) co_return reply(a, false, "not in the document");
  auto allowed = co_await may_access(h, st, e->doc, "write");
  if (!allowed) co_return reply(a, false, "no access");
  // Only an update that schedules a save cancels the pending ones (Python 0.11.1+).
  if (e->save) {
    auto stopped = co_await h->svc->note_tasks->stop_item(e->doc.id);
    if (!stopped) h->warn("openwebui: pending saves of {} not stopped: {}", e->doc.id, stopped.error().message());
  }
  auto appended = co_await h->svc->documents->append(e->doc.id, e->update);
  if (!appended) co_return reply(a, false, appended.error().message());
  json::object o;
  o["document_id"] = e->doc.id;
  o["user_id"] = e->user_id;
  o["update"] = int_list(e->update);
  o["socket_id"] = sid;
  emit_to_room(s, "ydoc:document:update", std::move(o), e->doc.room(), true);
  if (e->save && e->doc.note_id) {
    coord::tasks::task_body body =
        note_save_job{h->svc, st->user->id, *e->doc.note_id, std::move(*e->save), h->opts.save_delay};
    auto created = co_await h->svc->note_tasks->create(e->doc.id, std::move(body));
    if (!created) h->warn("openwebui: save of {} not scheduled: {}", e->doc.id, created.error().message());
  }
  reply(a, true);
}

net::awaitable<void> on_ydoc_leave(handlers_ptr h, socket_ptr s, state_ptr st, payload p, ack a) {
  if (!st->user) co_return reply(a, false, "not authenticated");
  auto doc = parse_document_event(p, h->opts.lim);
  if (!doc) co_return reply(a, false, "expected {document_id}");
  // Python does not check; owcore does, so no one can announce `ydoc:user:left` to a room it is not in.
  if (!in_local_room(s, doc->room())) co_return reply(a, false, "not in the document");
  const std::string sid = s->sid();
  auto removed = co_await h->svc->documents->remove_user(doc->id, sid);
  (void)removed;
  s->leave(doc->room());
  st->documents.erase(doc->id);
  json::object o;
  o["document_id"] = doc->id;
  o["user_id"] = st->user->id;
  emit_to_room(s, "ydoc:user:left", std::move(o), doc->room(), false);
  auto exists = co_await h->svc->documents->exists(doc->id);
  auto users = co_await h->svc->documents->users(doc->id);
  const bool empty = exists && *exists && users && users->empty();
  if (empty) {
    auto cleared = co_await h->svc->documents->clear(doc->id);
    (void)cleared;
  }
  reply(a, true);
}

net::awaitable<void> on_awareness(handlers_ptr h, socket_ptr s, state_ptr st, payload p, ack a) {
  if (!st->user) co_return reply(a, false, "not authenticated");
  auto e = parse_awareness(p, h->opts.lim);
  if (!e) co_return reply(a, false, "expected {document_id, update}");
  if (!in_local_room(s, e->doc.room())) co_return reply(a, false, "not in the document");
  json::object o;
  o["document_id"] = e->doc.id;
  o["user_id"] = st->user->id;
  o["update"] = int_list(e->update);
  emit_to_room(s, "ydoc:awareness:update", std::move(o), e->doc.room(), true);
  reply(a, true);
}


}  // namespace owcore::realtime::openwebui::detail
