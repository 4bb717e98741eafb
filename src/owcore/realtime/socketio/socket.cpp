#include "owcore/realtime/socketio/socket.hpp"

#include "owcore/realtime/socketio/client.hpp"
#include "owcore/realtime/socketio/error.hpp"
#include "owcore/realtime/socketio/server.hpp"
#include "owcore/realtime/metrics.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/logger.h>

namespace owcore::realtime::socketio {

namespace asio = boost::asio;
namespace json = boost::json;

std::string_view to_string(disconnect_reason r) noexcept {
  switch (r) {
    case disconnect_reason::client_disconnect: return "client namespace disconnect";
    case disconnect_reason::server_disconnect: return "server namespace disconnect";
    case disconnect_reason::transport_close: return "transport close";
    case disconnect_reason::ping_timeout: return "ping timeout";
    case disconnect_reason::transport_error: return "transport error";
    case disconnect_reason::server_shutdown: return "server shutting down";
  }
  return "unknown";
}

ack::ack(std::weak_ptr<socket> s, std::uint64_t id) : state_(std::make_shared<state>()) {
  state_->target = std::move(s);
  state_->id = id;
}

void ack::operator()(payload args) const {
  if (!state_ || state_->sent.exchange(true)) return;
  auto s = state_->target.lock();
  if (!s) return;
  s->send_packet(make_ack(s->nsp(), state_->id, std::move(args)));
}

net::awaitable<ack_result> await_ack(std::function<void(ack_callback)> start) {
  auto init = [start = std::move(start)](auto handler) mutable {
    using handler_type = decltype(handler);
    auto h = std::make_shared<handler_type>(std::move(handler));
    start([h](ack_result r) {
      auto ex = asio::get_associated_executor(*h);
      asio::dispatch(ex, [h, r = std::move(r)]() mutable { (*h)(std::move(r)); });
    });
  };
  auto token = asio::use_awaitable_t<net::executor>();
  co_return co_await asio::async_initiate<asio::use_awaitable_t<net::executor>, void(ack_result)>(std::move(init), token);
}

socket::socket(std::shared_ptr<server> srv, std::weak_ptr<client> owner, std::weak_ptr<engineio::session> session,
               net::executor strand, std::string sid, std::string nsp, json::value auth,
               std::shared_ptr<const engineio::request_info> request, socket_options opts)
    : server_(std::move(srv)),
      owner_(std::move(owner)),
      session_(std::move(session)),
      strand_(std::move(strand)),
      sid_(std::move(sid)),
      nsp_(std::move(nsp)),
      auth_(std::move(auth)),
      request_(std::move(request)),
      opts_(opts) {
  if (auto s = session_.lock()) eio_sid_ = s->id();
}

socket::~socket() = default;

void socket::send_packet(const packet& p) {
  if (!connected()) return;
  if (auto s = session_.lock()) s->send_frames(encode(p));
}

void socket::deliver(const std::shared_ptr<const encoded_packet>& frames) {
  if (!connected() || !frames) return;
  if (auto s = session_.lock()) s->send_shared(frames);
}

void socket::emit(std::string_view event, payload args) {
  if (!connected()) return;
  metrics().socketio.events_out[event_index(event)].inc();
  send_packet(make_event(nsp_, event, std::move(args)));
}

void socket::emit_with_ack(std::string_view event, payload args, std::chrono::milliseconds timeout,
                           ack_callback on_ack) {
  deliver_call(make_event(nsp_, event, std::move(args)), timeout, std::move(on_ack));
}

net::awaitable<ack_result> socket::call(std::string event, payload args, std::chrono::milliseconds timeout) {
  auto self = shared_from_this();
  std::function<void(ack_callback)> start = [self, event = std::move(event), args = std::move(args),
                                             timeout](ack_callback cb) mutable {
    self->emit_with_ack(event, std::move(args), timeout, std::move(cb));
  };
  co_return co_await await_ack(std::move(start));
}

void socket::deliver_call(packet event, std::chrono::milliseconds timeout, ack_callback on_ack) {
  asio::dispatch(strand_, [self = shared_from_this(), event = std::move(event), timeout,
                           on_ack = std::move(on_ack)]() mutable {
    self->start_call(std::move(event), timeout, std::move(on_ack));
  });
}

void socket::start_call(packet event, std::chrono::milliseconds timeout, ack_callback on_ack) {
  if (!connected() || disconnected_) {
    on_ack(error::disconnected);
    return;
  }
  if (pending_.size() >= opts_.max_pending_acks) {
    on_ack(error::too_many_pending_acks);
    return;
  }
  const auto id = next_ack_id_++;
  auto timer = std::make_shared<asio::steady_timer>(strand_, timeout);
  pending_.emplace(id, pending_call{std::move(on_ack), timer});
  timer->async_wait([weak = weak_from_this(), id](const boost::system::error_code& ec) {
    if (ec) return;
    if (auto self = weak.lock()) self->expire_call(id);
  });
  event.nsp = nsp_;
  event.id = id;
  metrics().socketio.events_out[event_index_of(event)].inc();
  send_packet(event);
}

void socket::expire_call(std::uint64_t id) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  auto cb = std::move(it->second.on_ack);
  pending_.erase(it);
  cb(error::ack_timeout);
}

void socket::on_ack_packet(packet p) {
  if (!p.id) return;
  auto it = pending_.find(*p.id);
  if (it == pending_.end()) return;  // late (timed out) or unknown: ignore, like the reference
  auto cb = std::move(it->second.on_ack);
  it->second.timer->cancel();
  pending_.erase(it);
  payload args;
  if (p.data && p.data->is_array()) args.args = std::move(p.data->get_array());
  args.attachments = std::move(p.attachments);
  cb(std::move(args));
}

bool socket::join(const std::string& room) {
  if (!connected()) return false;
  return server_->get_adapter().add_room(nsp_, sid_, room);
}

void socket::leave(const std::string& room) { server_->get_adapter().del_room(nsp_, sid_, room); }

std::vector<std::string> socket::rooms() const { return server_->get_adapter().rooms_of(nsp_, sid_); }

void socket::disconnect() {
  asio::dispatch(strand_, [self = shared_from_this()] { self->server_disconnect(); });
}

void socket::disconnect_from_server() { disconnect(); }

void socket::server_disconnect() {
  if (!connected() || disconnected_) return;
  packet p;
  p.type = packet_type::disconnect;
  p.nsp = nsp_;
  send_packet(p);
  on_disconnected(disconnect_reason::server_disconnect);
  if (auto c = owner_.lock()) c->forget(nsp_);
}

void socket::on_disconnected(disconnect_reason reason) {
  if (disconnected_) return;
  disconnected_ = true;
  const bool was_connected = connected();
  connected_.store(false, std::memory_order_release);
  auto pending = std::move(pending_);
  pending_.clear();
  for (auto& [id, call] : pending) {
    call.timer->cancel();
    call.on_ack(error::disconnected);
  }
  if (!was_connected) return;  // refused or still authorizing: the namespace never saw it
  metrics().socketio.disconnects[static_cast<std::size_t>(reason)].inc();
  if (server_->options().trace && server_->log())
    server_->log()->info("socket.io {} {}: disconnected ({})", nsp_, sid_, to_string(reason));
  server_->get_adapter().remove_socket(nsp_, sid_);
  if (const auto* ns = server_->find_namespace(nsp_); ns && ns->disconnection()) {
    try {
      ns->disconnection()(shared_from_this(), reason);
    } catch (const std::exception& e) {
      if (server_->log()) server_->log()->error("socket.io disconnect handler failed on {}: {}", nsp_, e.what());
    }
  }
}

}  // namespace owcore::realtime::socketio
