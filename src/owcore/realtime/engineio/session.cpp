#include "owcore/realtime/engineio/session.hpp"

#include "owcore/realtime/engineio/server.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <string_view>

namespace owcore::realtime::engineio {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using clock_type = std::chrono::steady_clock;

namespace detail {

struct websocket_conn {
  explicit websocket_conn(beast::tcp_stream s) : ws(std::move(s)) {}
  websocket::stream<beast::tcp_stream> ws;
};

}  // namespace detail

namespace {

constexpr std::string_view probe_request = "2probe";
constexpr std::string_view probe_reply = "3probe";

void hard_close(detail::websocket_conn& c) noexcept {
  boost::system::error_code ignored;
  beast::get_lowest_layer(c.ws).socket().close(ignored);
}

error to_engineio_error(const boost::system::error_code& ec) noexcept {
  if (ec.category() == engineio_category()) return static_cast<error>(ec.value());
  return error::bad_request;
}

}  // namespace

session::session(std::weak_ptr<server> srv, net::executor strand, std::string sid, transport_kind transport,
                 const session_config& cfg, request_info info)
    : srv_(std::move(srv)),
      strand_(std::move(strand)),
      sid_(std::move(sid)),
      info_(std::move(info)),
      cfg_(cfg),
      fsm_(cfg.fsm, transport, clock_type::now()),
      timer_(strand_),
      poll_cv_(strand_),
      write_cv_(strand_) {}

session::~session() = default;

void session::send(std::string data, bool binary) {
  std::vector<frame> frames;
  frames.push_back(binary ? binary_frame(std::move(data)) : message_frame(data));
  send_frames(std::move(frames));
}

void session::send_frames(std::vector<frame> frames) {
  asio::dispatch(strand_, [self = shared_from_this(), frames = std::move(frames)]() mutable {
    self->do_send(std::move(frames));
  });
}

void session::close(close_reason reason) {
  asio::dispatch(strand_, [self = shared_from_this(), reason] {
    self->fsm_.close(reason, clock_type::now());
    self->after_change();
  });
}

void session::do_send(std::vector<frame> frames) {
  switch (fsm_.send(frames)) {
    case session_fsm::send_result::queued: wake(); break;
    case session_fsm::send_result::dropped: break;
    case session_fsm::send_result::overflow: after_change(); break;
  }
}

void session::wake() {
  poll_cv_.cancel();
  write_cv_.cancel();
}

void session::drop_candidate() {
  if (!candidate_ws_) return;
  hard_close(*candidate_ws_);
  candidate_ws_.reset();
}

void session::after_change() {
  if (fsm_.current() == session_fsm::state::open) return;
  wake();
  drop_candidate();
  timer_.cancel();  // re-arm for the linger deadline, or stop
  if (!notified_) {
    notified_ = true;
    // Posted, never inline: close() may be called from inside the listener's own on_message.
    asio::post(strand_, [self = shared_from_this()] {
      auto listener = std::move(self->listener_);
      if (listener) listener->on_close(self->fsm_.reason().value_or(close_reason::server_close));
    });
  }
  if (fsm_.current() == session_fsm::state::closed && !finished_) finish();
}

void session::finish() {
  finished_ = true;
  if (auto srv = srv_.lock()) srv->unregister(sid_);
  // A writer stuck in a write to a slow peer would never get to the close frame: cut it off.
  // An idle writer wakes up and sends the close frame itself.
  if (active_ws_ && writing_) hard_close(*active_ws_);
}

void session::start_timers() { asio::co_spawn(strand_, run_timers(shared_from_this()), asio::detached); }

net::awaitable<void> session::run_timers(std::shared_ptr<session> self) {
  while (!self->finished_) {
    self->timer_.expires_at(self->fsm_.next_deadline());
    co_await self->timer_.async_wait(net::use_tuple);
    if (self->finished_) break;
    const auto fx = self->fsm_.on_timer(clock_type::now());
    if (fx.upgrade_aborted) self->drop_candidate();
    if (fx.ping_queued) self->wake();
    self->after_change();
  }
}

void session::handle_inbound(packet p) {
  switch (fsm_.on_packet(p, clock_type::now())) {
    case session_fsm::inbound::deliver:
      if (listener_) listener_->on_message(std::move(p.data), p.binary);
      break;
    case session_fsm::inbound::replied: wake(); break;
    case session_fsm::inbound::closed: after_change(); break;
    case session_fsm::inbound::none: break;
  }
}

// --- long-polling -----------------------------------------------------------------------------

net::awaitable<session::http_result> session::open_polling(std::string open_packet) {
  auto self = shared_from_this();
  if (auto srv = srv_.lock()) listener_ = srv->opened(self);
  start_timers();
  http_result r;
  r.body = static_cast<char>(packet_type::open) + open_packet;
  co_return r;
}

net::awaitable<session::http_result> session::poll() {
  auto self = shared_from_this();
  http_result r;
  switch (fsm_.begin_poll()) {
    case session_fsm::poll_start::reject:
      after_change();  // a duplicate GET closed the session
      r.status = 400;
      r.code = error::bad_request;
      co_return r;
    case session_fsm::poll_start::wait:
      while (!fsm_.poll_ready()) {
        poll_cv_.expires_at(clock_type::time_point::max());
        co_await poll_cv_.async_wait(net::use_tuple);
      }
      break;
    case session_fsm::poll_start::respond:
      break;
  }
  r.body = fsm_.finish_poll();
  after_change();  // a graceful close ends once its last packets left
  co_return r;
}

net::awaitable<session::http_result> session::post(std::string body) {
  auto self = shared_from_this();
  http_result r;
  if (fsm_.transport() != transport_kind::polling || fsm_.current() == session_fsm::state::closed) {
    r.status = 400;
    r.code = error::bad_request;
    co_return r;
  }
  if (body.size() > cfg_.max_payload) {
    r.status = 413;
    r.code = error::payload_too_large;
    co_return r;
  }
  auto packets = decode_payload(body, cfg_.limits);
  if (!packets) {
    fsm_.close(close_reason::protocol_error, clock_type::now());
    after_change();
    r.status = 400;
    r.code = to_engineio_error(packets.error());
    co_return r;
  }
  for (auto& p : *packets) {
    if (fsm_.current() != session_fsm::state::open) break;
    handle_inbound(std::move(p));
  }
  r.body = "ok";
  co_return r;
}

// --- WebSocket --------------------------------------------------------------------------------

session::ws_ptr session::make_conn(beast::tcp_stream stream) const {
  auto c = std::make_shared<detail::websocket_conn>(std::move(stream));
  boost::system::error_code ignored;
  // Packets are small and often written back to back (CONNECT answer, then an event): without
  // TCP_NODELAY the second write waits for the peer's delayed ACK (~40 ms).
  beast::get_lowest_layer(c->ws).socket().set_option(asio::ip::tcp::no_delay(true), ignored);
  websocket::stream_base::timeout t{};
  t.handshake_timeout = cfg_.websocket_handshake_timeout;
  t.idle_timeout = websocket::stream_base::none();  // Engine.IO's ping/pong is the liveness check
  t.keep_alive_pings = false;
  c->ws.set_option(t);
  c->ws.read_message_max(cfg_.max_payload);
  c->ws.auto_fragment(false);
  c->ws.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(beast::http::field::server, "owcore"); }));
  return c;
}

net::awaitable<void> session::run_new_websocket(std::shared_ptr<session> self, http_request req,
                                                beast::tcp_stream stream, std::string open_packet) {
  auto c = self->make_conn(std::move(stream));
  auto [ec] = co_await c->ws.async_accept(req, net::use_tuple);
  if (ec) co_return;  // never registered: the client just goes away
  auto srv = self->srv_.lock();
  if (!srv || !srv->try_register(self)) {
    co_await c->ws.async_close(websocket::close_code::try_again_later, net::use_tuple);
    hard_close(*c);
    co_return;
  }
  self->active_ws_ = c;
  self->fsm_.send(control_frame(packet_type::open, open_packet));
  self->listener_ = srv->opened(self);
  srv.reset();
  self->start_timers();
  asio::co_spawn(self->strand_, write_loop(self, c), asio::detached);
  co_await self->read_loop(c);
}

net::awaitable<void> session::run_upgrade(std::shared_ptr<session> self, http_request req,
                                          beast::tcp_stream stream) {
  auto c = self->make_conn(std::move(stream));
  auto [ec] = co_await c->ws.async_accept(req, net::use_tuple);
  if (ec) co_return;
  if (!self->fsm_.begin_upgrade(clock_type::now(), self->cfg_.upgrades_allowed)) {
    // Already upgraded, another candidate, or closed: one WebSocket per session.
    co_await c->ws.async_close(websocket::close_code::policy_error, net::use_tuple);
    hard_close(*c);
    co_return;
  }
  self->candidate_ws_ = c;
  self->timer_.cancel();  // the upgrade deadline may now be the next one
  const bool upgraded = co_await self->run_candidate(c);
  if (!upgraded) co_return;
  asio::co_spawn(self->strand_, write_loop(self, c), asio::detached);
  co_await self->read_loop(c);
}

net::awaitable<bool> session::run_candidate(ws_ptr c) {
  beast::flat_buffer buf;
  for (;;) {
    buf.clear();
    auto [ec, n] = co_await c->ws.async_read(buf, net::use_tuple);
    if (c != candidate_ws_) co_return false;  // timed out, or the session closed
    if (ec || c->ws.got_binary()) break;
    const std::string text = beast::buffers_to_string(buf.data());
    if (text == probe_request) {
      if (!fsm_.on_probe()) break;
      c->ws.text(true);
      auto [wec, wn] = co_await c->ws.async_write(asio::buffer(probe_reply.data(), probe_reply.size()),
                                                  net::use_tuple);
      if (c != candidate_ws_) co_return false;
      if (wec) break;
      wake();  // a pending long-poll ends with `noop`, letting the client pause polling
      continue;
    }
    if (text.size() == 1 && text[0] == static_cast<char>(packet_type::upgrade) && fsm_.complete_upgrade()) {
      candidate_ws_.reset();
      active_ws_ = c;
      wake();  // the pending long-poll (if any) ends with `noop`; queued packets go to the writer
      co_return true;
    }
    break;
  }
  fsm_.abort_upgrade();
  drop_candidate();
  co_return false;
}

net::awaitable<void> session::read_loop(ws_ptr c) {
  beast::flat_buffer buf;
  for (;;) {
    buf.clear();
    auto [ec, n] = co_await c->ws.async_read(buf, net::use_tuple);
    if (c != active_ws_ || fsm_.current() == session_fsm::state::closed) co_return;
    if (ec) {
      // Beast already answered an oversized message with close code 1009.
      const auto reason = ec == websocket::error::message_too_big ? close_reason::protocol_error
                                                                  : close_reason::transport_close;
      fsm_.close(reason, clock_type::now());
      after_change();
      co_return;
    }
    if (c->ws.got_binary()) {
      handle_inbound(packet{packet_type::message, beast::buffers_to_string(buf.data()), true});
      continue;
    }
    const auto data = buf.data();
    const std::string_view text(static_cast<const char*>(data.data()), data.size());
    auto p = decode_text(text);
    if (!p) {
      fsm_.close(close_reason::protocol_error, clock_type::now());
      after_change();
      co_return;
    }
    handle_inbound(std::move(*p));
  }
}

net::awaitable<void> session::write_loop(std::shared_ptr<session> self, ws_ptr c) {
  for (;;) {
    if (self->fsm_.transport_should_close()) break;
    auto f = self->fsm_.next_frame();
    if (!f) {
      self->write_cv_.expires_at(clock_type::time_point::max());
      co_await self->write_cv_.async_wait(net::use_tuple);
      continue;
    }
    c->ws.text(!f->binary);
    self->writing_ = true;
    auto [ec, n] = co_await c->ws.async_write(asio::buffer(*f->bytes), net::use_tuple);
    self->writing_ = false;
    if (ec) {
      self->fsm_.close(close_reason::transport_close, clock_type::now());
      self->after_change();
      hard_close(*c);
      co_return;
    }
  }
  self->fsm_.finish_closing();
  self->after_change();
  const auto reason = self->fsm_.reason().value_or(close_reason::server_close);
  websocket::close_reason cr(websocket::close_code::normal);
  if (reason == close_reason::protocol_error) cr = websocket::close_reason(websocket::close_code::policy_error);
  else if (reason == close_reason::shutdown) cr = websocket::close_reason(websocket::close_code::going_away);
  if (c->ws.is_open()) {
    co_await c->ws.async_close(cr, net::use_tuple);
  }
  hard_close(*c);
}

}  // namespace owcore::realtime::engineio
