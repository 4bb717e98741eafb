#include "owcore/realtime/socketio/server.hpp"

#include "owcore/realtime/socketio/client.hpp"

namespace owcore::realtime::socketio {

const namespace_handlers::event_fn* namespace_handlers::handler(const std::string& event) const noexcept {
  auto it = events_.find(event);
  return it == events_.end() ? nullptr : &it->second;
}

server::server(server_options opts, std::shared_ptr<adapter::adapter> adapter)
    : opts_(std::move(opts)), adapter_(std::move(adapter)) {}

server::~server() = default;

namespace_handlers& server::of(const std::string& nsp) {
  auto& h = namespaces_[nsp];
  if (!h) h = std::make_unique<namespace_handlers>();
  return *h;
}

const namespace_handlers* server::find_namespace(const std::string& nsp) const noexcept {
  auto it = namespaces_.find(nsp);
  return it == namespaces_.end() ? nullptr : it->second.get();
}

std::shared_ptr<engineio::session_listener> server::attach(const std::shared_ptr<engineio::session>& s) {
  clients_.fetch_add(1, std::memory_order_relaxed);
  auto c = std::make_shared<client>(shared_from_this(), s);
  c->start();
  return c;
}

void server::emit(std::string_view event, payload args, const adapter::broadcast_target& to) {
  adapter_->broadcast(make_event(to.nsp, event, std::move(args)), to);
}

void server::call(const std::string& nsp, const std::string& sid, std::string_view event, payload args,
                  std::chrono::milliseconds timeout, ack_callback on_ack) {
  adapter_->call(nsp, sid, make_event(nsp, event, std::move(args)), timeout, std::move(on_ack));
}

net::awaitable<ack_result> server::call(std::string nsp, std::string sid, std::string event, payload args,
                                        std::chrono::milliseconds timeout) {
  auto self = shared_from_this();
  std::function<void(ack_callback)> start = [self, nsp = std::move(nsp), sid = std::move(sid),
                                             event = std::move(event), args = std::move(args),
                                             timeout](ack_callback cb) mutable {
    self->call(nsp, sid, event, std::move(args), timeout, std::move(cb));
  };
  co_return co_await await_ack(std::move(start));
}

bool server::enter_room(const std::string& nsp, const std::string& sid, const std::string& room) {
  return adapter_->add_room(nsp, sid, room);
}

void server::leave_room(const std::string& nsp, const std::string& sid, const std::string& room) {
  adapter_->del_room(nsp, sid, room);
}

void server::close_room(const std::string& nsp, const std::string& room) { adapter_->close_room(nsp, room); }

void server::disconnect(const std::string& nsp, const std::string& sid) { adapter_->disconnect(nsp, sid); }

}  // namespace owcore::realtime::socketio
