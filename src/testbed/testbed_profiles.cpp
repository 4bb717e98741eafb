#include "testbed/testbed_profiles.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <cmath>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace owcore::testbed {
namespace {

namespace json = boost::json;
namespace profiles = realtime::profiles;
namespace socketio = realtime::socketio;
namespace adapter = realtime::adapter;
using socketio::ack;
using socketio::payload;
using socket_ptr = std::shared_ptr<socketio::socket>;

const json::value* field(const payload& p, std::string_view key) {
  if (p.args.empty() || !p.args.front().is_object()) return nullptr;
  return p.args.front().get_object().if_contains(key);
}

std::optional<std::string> string_field(const payload& p, std::string_view key) {
  const auto* v = field(p, key);
  if (!v || !v->is_string()) return std::nullopt;
  return std::string(v->get_string());
}

payload ok_payload(bool ok, std::string_view error = {}) {
  json::object o;
  o["ok"] = ok;
  if (!error.empty()) o["error"] = error;
  payload p;
  p.args.emplace_back(std::move(o));
  return p;
}

// The `timeout_ms` field of a request (default 2 s; accepted in (0, 600000) ms).
std::chrono::milliseconds timeout_field(const payload& p) {
  std::chrono::milliseconds timeout{2000};
  if (const auto* t = field(p, "timeout_ms"); t && t->is_number()) {
    const double ms = t->to_number<double>();
    if (std::isfinite(ms) && ms > 0 && ms < 600000) timeout = std::chrono::milliseconds(static_cast<long>(ms));
  }
  return timeout;
}

// The arguments to forward from a request's `args` array (with the request's attachments).
payload args_field(payload& p) {
  payload forward;
  if (const auto* fa = field(p, "args"); fa && fa->is_array()) forward.args = fa->get_array();
  forward.attachments = std::move(p.attachments);
  return forward;
}

// Acknowledges `a` with the answer of a server-to-client call, or {"error": message}. May run on
// any thread (ack is thread-safe).
socketio::ack_callback answer_to(ack a) {
  return [a](socketio::ack_result r) {
    if (!a) return;
    if (r) {
      a(std::move(*r));
      return;
    }
    json::object o;
    o["error"] = r.error().message();
    payload p;
    p.args.emplace_back(std::move(o));
    a(std::move(p));
  };
}

// Forwards `payload` of a `broadcast` request to `room` as `deliver`, unchanged (attachments
// included: its placeholders keep their indices).
void broadcast_to_room(const socket_ptr& s, payload args, ack a, bool except_me) {
  const auto room = string_field(args, "room");
  const auto* body = field(args, "payload");
  if (!room || !body) {
    if (a) a(ok_payload(false, "expected {room, payload}"));
    return;
  }
  payload out;
  out.args.push_back(*body);
  out.attachments = std::move(args.attachments);
  adapter::broadcast_target to;
  to.nsp = s->nsp();
  to.rooms.push_back(*room);
  if (except_me) to.except.push_back(s->sid());
  if (const auto* ex = field(args, "except"); ex && ex->is_array())
    for (const auto& r : ex->get_array())
      if (r.is_string()) to.except.emplace_back(r.get_string());
  s->owner().emit("deliver", std::move(out), to);
  if (a) a(ok_payload(true));
}

// Why the most recent sockets left, by sid: lets a test ask why its own client was dropped (a
// missed pong on a busy machine, or something another client sent). Bounded: the oldest entry
// goes first. Written by the namespace's disconnect handler, read by `disconnect-reason`.
class recent_disconnects {
 public:
  static constexpr std::size_t capacity = 4096;

  void add(std::string sid, std::string_view reason) {
    std::lock_guard lock(mutex_);
    if (order_.size() == capacity) {
      reasons_.erase(order_.front());
      order_.pop_front();
    }
    if (reasons_.insert_or_assign(sid, std::string(reason)).second) order_.push_back(std::move(sid));
  }

  std::optional<std::string> find(const std::string& sid) const {
    std::lock_guard lock(mutex_);
    auto it = reasons_.find(sid);
    if (it == reasons_.end()) return std::nullopt;
    return it->second;
  }

 private:
  mutable std::mutex mutex_;
  std::deque<std::string> order_;
  std::unordered_map<std::string, std::string> reasons_;
};

void install_bench(socketio::server& srv) {
  auto& root = srv.of("/");
  root.on("join", [](const socket_ptr& s, payload args, ack a) {
    const auto room = string_field(args, "room");
    const bool ok = room && s->join(*room);
    if (a) a(ok ? ok_payload(true) : ok_payload(false, room ? "room limit reached" : "expected {room}"));
  });
  root.on("broadcast", [](const socket_ptr& s, payload args, ack a) {
    broadcast_to_room(s, std::move(args), std::move(a), false);
  });
  root.on("echo", [](const socket_ptr&, payload args, ack a) {
    if (a) a(std::move(args));
  });
}

void install_testing(socketio::server& srv) {
  profiles::install_conformance(srv);
  install_bench(srv);
  auto& root = srv.of("/");
  root.on("leave", [](const socket_ptr& s, payload args, ack a) {
    const auto room = string_field(args, "room");
    if (room) s->leave(*room);
    if (a) a(ok_payload(room.has_value()));
  });
  root.on("rooms", [](const socket_ptr& s, payload, ack a) {
    if (!a) return;
    json::array rooms;
    for (const auto& r : s->rooms()) rooms.emplace_back(r);
    payload p;
    p.args.emplace_back(std::move(rooms));
    a(std::move(p));
  });
  root.on("broadcast-except-me", [](const socket_ptr& s, payload args, ack a) {
    broadcast_to_room(s, std::move(args), std::move(a), true);
  });
  root.on("ask", [](const socket_ptr& s, payload args, ack a) {
    const auto event = string_field(args, "event");
    if (!event) {
      if (a) a(ok_payload(false, "expected {event}"));
      return;
    }
    const auto timeout = timeout_field(args);
    s->emit_with_ack(*event, args_field(args), timeout, answer_to(std::move(a)));
  });
  root.on("stats", [](const socket_ptr& s, payload, ack a) {
    if (!a) return;
    json::object o;
    o["clients"] = s->owner().client_count();
    o["sockets"] = s->owner().get_adapter().socket_count("/");
    payload p;
    p.args.emplace_back(std::move(o));
    a(std::move(p));
  });
  auto left = std::make_shared<recent_disconnects>();
  root.on_disconnect([left](const socket_ptr& s, socketio::disconnect_reason r) {
    left->add(s->sid(), socketio::to_string(r));
  });
  root.on("disconnect-reason", [left](const socket_ptr&, payload args, ack a) {
    if (!a) return;
    const auto sid = string_field(args, "sid");
    const auto reason = sid ? left->find(*sid) : std::nullopt;
    payload p;
    if (reason) p.args.emplace_back(*reason);
    else p.args.emplace_back(nullptr);
    a(std::move(p));
  });
  root.on("disconnect-me", [](const socket_ptr& s, payload, ack a) {
    if (a) a(ok_payload(true));
    s->disconnect();
  });

  // Operations on another socket by sid, through the server's adapter: a sid on another instance
  // is reached over the adapter's transport (redis_adapter: enter_room, leave_room, disconnect,
  // close_room and emit-with-callback messages).
  root.on("join-sid", [](const socket_ptr& s, payload args, ack a) {
    const auto sid = string_field(args, "sid");
    const auto room = string_field(args, "room");
    if (sid && room) s->owner().enter_room(s->nsp(), *sid, *room);
    if (a) a(sid && room ? ok_payload(true) : ok_payload(false, "expected {sid, room}"));
  });
  root.on("leave-sid", [](const socket_ptr& s, payload args, ack a) {
    const auto sid = string_field(args, "sid");
    const auto room = string_field(args, "room");
    if (sid && room) s->owner().leave_room(s->nsp(), *sid, *room);
    if (a) a(sid && room ? ok_payload(true) : ok_payload(false, "expected {sid, room}"));
  });
  root.on("disconnect-sid", [](const socket_ptr& s, payload args, ack a) {
    const auto sid = string_field(args, "sid");
    if (sid) s->owner().disconnect(s->nsp(), *sid);
    if (a) a(sid ? ok_payload(true) : ok_payload(false, "expected {sid}"));
  });
  root.on("close-room", [](const socket_ptr& s, payload args, ack a) {
    const auto room = string_field(args, "room");
    if (room) s->owner().close_room(s->nsp(), *room);
    if (a) a(room ? ok_payload(true) : ok_payload(false, "expected {room}"));
  });
  root.on("call-sid", [](const socket_ptr& s, payload args, ack a) {
    const auto sid = string_field(args, "sid");
    const auto event = string_field(args, "event");
    if (!sid || !event) {
      if (a) a(ok_payload(false, "expected {sid, event}"));
      return;
    }
    const auto timeout = timeout_field(args);
    s->owner().call(s->nsp(), *sid, *event, args_field(args), timeout, answer_to(std::move(a)));
  });
}

realtime::profiles::registry make_registry() {
  profiles::registry r = profiles::standard();
  r.add("bench", [](socketio::server& srv, const profiles::install_context&) { install_bench(srv); });
  r.add("testing", [](socketio::server& srv, const profiles::install_context&) { install_testing(srv); });
  return r;
}

}  // namespace

const realtime::profiles::registry& profiles() {
  static const realtime::profiles::registry r = make_registry();
  return r;
}

}  // namespace owcore::testbed
