#include "owcore/realtime/profiles/profiles.hpp"

namespace owcore::realtime::profiles {
namespace {

using socketio::ack;
using socketio::payload;
using socket_ptr = std::shared_ptr<socketio::socket>;

void emit_auth(const socket_ptr& s) {
  payload p;
  p.args.push_back(s->auth());
  s->emit("auth", std::move(p));
}

void install_openwebui(socketio::server& srv, const install_context& ctx) {
  if (ctx.openwebui && openwebui::complete(*ctx.openwebui))
    openwebui::install(srv, ctx.openwebui, ctx.openwebui_options);
  else
    srv.of("/");
}

registry make_standard() {
  registry r;
  r.add("openwebui", install_openwebui);
  r.add("conformance", [](socketio::server& srv, const install_context&) { install_conformance(srv); });
  return r;
}

}  // namespace

void registry::add(std::string name, installer install) {
  profiles_.insert_or_assign(std::move(name), std::move(install));
}

const installer* registry::find(std::string_view name) const {
  const auto it = profiles_.find(name);
  return it == profiles_.end() ? nullptr : &it->second;
}

std::string registry::names() const {
  std::string out;
  for (const auto& [name, _] : profiles_) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

const registry& standard() {
  static const registry r = make_standard();
  return r;
}

void install_conformance(socketio::server& srv) {
  auto& root = srv.of("/");
  root.on_connection(emit_auth);
  root.on("message", [](const socket_ptr& s, payload args, ack) { s->emit("message-back", std::move(args)); });
  root.on("message-with-ack", [](const socket_ptr&, payload args, ack a) {
    if (a) a(std::move(args));
  });
  srv.of("/custom").on_connection(emit_auth);
}

}  // namespace owcore::realtime::profiles
