#include "owcore/realtime/socketio/client.hpp"

#include "owcore/realtime/socketio/error.hpp"
#include "owcore/realtime/socketio/server.hpp"
#include "owcore/realtime/metrics.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json/object.hpp>
#include <spdlog/logger.h>

namespace owcore::realtime::socketio {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

disconnect_reason reason_of(engineio::close_reason r) noexcept {
  switch (r) {
    case engineio::close_reason::client_close: return disconnect_reason::transport_close;
    case engineio::close_reason::server_close: return disconnect_reason::server_disconnect;
    case engineio::close_reason::shutdown: return disconnect_reason::server_shutdown;
    case engineio::close_reason::ping_timeout: return disconnect_reason::ping_timeout;
    case engineio::close_reason::transport_close: return disconnect_reason::transport_close;
    case engineio::close_reason::protocol_error: return disconnect_reason::transport_error;
    case engineio::close_reason::queue_overflow: return disconnect_reason::transport_error;
  }
  return disconnect_reason::transport_close;
}

json::value message_object(std::string_view message) {
  json::object o;
  o["message"] = message;
  return o;
}

}  // namespace

client::client(std::shared_ptr<server> srv, const std::shared_ptr<engineio::session>& s)
    : server_(std::move(srv)),
      session_(s),
      strand_(s->get_executor()),
      request_(s->request_ptr()),
      decoder_(server_->options().limits),
      connect_timer_(std::make_unique<boost::asio::steady_timer>(strand_)) {}

client::~client() { server_->client_gone(); }

void client::start() {
  connect_timer_->expires_after(server_->options().connect_timeout);
  connect_timer_->async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    if (ec) return;
    auto self = weak.lock();
    if (!self || self->closed_ || !self->sockets_.empty() || !self->connecting_.empty()) return;
    if (auto s = self->session_.lock()) s->close(engineio::close_reason::server_close);
  });
}

void client::send(const packet& p) {
  if (auto s = session_.lock()) s->send_frames(encode(p));
}

void client::fail(const boost::system::error_code& ec) {
  if (closed_) return;
  closed_ = true;  // ignore whatever else this client sends; on_close does the cleanup
  if (const auto& log = server_->log()) {
    if (auto s = session_.lock()) log->info("socket.io client {} closed: {}", s->id(), ec.message());
  }
  if (auto s = session_.lock()) s->close(engineio::close_reason::protocol_error);
}

void client::on_message(std::string data, bool binary) {
  if (closed_) return;
  auto r = binary ? decoder_.feed_binary(std::move(data)) : decoder_.feed_text(data);
  if (!r) {
    fail(r.error());
    return;
  }
  if (*r) handle(std::move(**r));
}

void client::handle(packet p) {
  if (p.type == packet_type::connect) {
    connect(std::move(p));
    return;
  }
  if (p.type == packet_type::connect_error) {
    fail(error::unexpected_packet);
    return;
  }
  auto it = sockets_.find(p.nsp);
  if (it == sockets_.end()) return;  // not connected to that namespace: ignored, as python-socketio does
  auto s = it->second;
  switch (p.type) {
    case packet_type::disconnect:
      sockets_.erase(it);
      s->on_disconnected(disconnect_reason::client_disconnect);
      return;
    case packet_type::event:
    case packet_type::binary_event:
      dispatch_event(s, std::move(p));
      return;
    case packet_type::ack:
    case packet_type::binary_ack:
      s->on_ack_packet(std::move(p));
      return;
    case packet_type::connect:
    case packet_type::connect_error:
      return;
  }
}

void client::dispatch_event(const std::shared_ptr<socket>& s, packet p) {
  auto& arr = p.data->get_array();  // the decoder checked: a non-empty array, a string first
  std::string name(arr.front().get_string());
  if (server_->options().trace && server_->log())
    server_->log()->info("socket.io {} {}: received event '{}' ({} argument{}{})", s->nsp(), s->sid(), name,
                         arr.size() - 1, arr.size() == 2 ? "" : "s", p.id ? ", ack requested" : "");
  if (is_reserved_event(name)) {
    fail(error::reserved_event);
    return;
  }
  metrics().socketio.events_in[event_index(name)].inc();
  payload args;
  args.args.reserve(arr.size() - 1);
  for (std::size_t i = 1; i < arr.size(); ++i) args.args.push_back(std::move(arr[i]));
  args.attachments = std::move(p.attachments);
  ack reply;
  if (p.id) reply = ack(s, *p.id);
  const auto* ns = server_->find_namespace(s->nsp());
  if (!ns) return;
  try {
    if (const auto* h = ns->handler(name)) (*h)(s, std::move(args), std::move(reply));
    else if (ns->fallback()) ns->fallback()(s, name, std::move(args), std::move(reply));
  } catch (const std::exception& e) {
    if (const auto& log = server_->log()) log->error("socket.io handler '{}' on {} failed: {}", name, s->nsp(), e.what());
  }
}

void client::refuse(const std::string& nsp, json::value data) {
  if (server_->options().trace && server_->log()) {
    auto s = session_.lock();
    server_->log()->info("socket.io {}: connection to {} refused", s ? s->id() : std::string("-"), nsp);
  }
  packet p;
  p.type = packet_type::connect_error;
  p.nsp = nsp;
  p.data = std::move(data);
  send(p);
}

void client::connect(packet p) {
  const std::string nsp = p.nsp;
  if (sockets_.contains(nsp) || connecting_.contains(nsp)) return;  // duplicate CONNECT
  const auto* ns = server_->find_namespace(nsp);
  if (!ns) {
    refuse(nsp, message_object("Invalid namespace"));
    return;
  }
  json::value auth = p.data ? std::move(*p.data) : json::value(json::object());
  auto s = std::make_shared<socket>(server_, weak_from_this(), session_, strand_, server_->next_sid(), nsp,
                                    std::move(auth), request_, server_->options().socket);
  if (ns->authorizer()) {
    connecting_.insert(nsp);
    asio::co_spawn(strand_, authorize(shared_from_this(), s, ns), asio::detached);
    return;
  }
  finish_connect(s, *ns);
}

net::awaitable<void> client::authorize(std::shared_ptr<client> self, std::shared_ptr<socket> s,
                                       const namespace_handlers* ns) {
  std::optional<json::value> refusal;
  try {
    auto op = ns->authorizer()(s);
    refusal = co_await std::move(op);
  } catch (const std::exception& e) {
    if (const auto& log = self->server_->log()) log->error("socket.io authorization on {} failed: {}", s->nsp(), e.what());
    refusal = message_object("Internal server error");
  }
  self->connecting_.erase(s->nsp());
  if (self->closed_) co_return;
  if (refusal) {
    self->refuse(s->nsp(), std::move(*refusal));
    co_return;
  }
  self->finish_connect(s, *ns);
}

void client::finish_connect(const std::shared_ptr<socket>& s, const namespace_handlers& ns) {
  connect_timer_.reset();  // a namespace is connected: the connect timeout no longer applies
  if (server_->options().trace && server_->log())
    server_->log()->info("socket.io {}: connected to {} as {}", s->eio_sid(), s->nsp(), s->sid());
  sockets_[s->nsp()] = s;
  s->mark_connected();
  metrics().socketio.connects.inc();
  server_->get_adapter().add_socket(s->nsp(), s->sid(), s);
  packet ok;
  ok.type = packet_type::connect;
  ok.nsp = s->nsp();
  json::object o;
  o["sid"] = s->sid();
  ok.data = std::move(o);
  send(ok);
  if (!ns.connection()) return;
  try {
    ns.connection()(s);
  } catch (const std::exception& e) {
    if (const auto& log = server_->log()) log->error("socket.io connection handler on {} failed: {}", s->nsp(), e.what());
  }
}

void client::forget(const std::string& nsp) { sockets_.erase(nsp); }

void client::on_close(engineio::close_reason reason) {
  closed_ = true;
  connect_timer_.reset();
  const auto r = reason_of(reason);
  auto sockets = std::move(sockets_);
  sockets_.clear();
  for (auto& [nsp, s] : sockets) s->on_disconnected(r);
}

}  // namespace owcore::realtime::socketio
