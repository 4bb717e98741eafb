#include "owcore/realtime/engineio/session.hpp"

#include "owcore/realtime/engineio/server.hpp"

#include "owcore/realtime/engineio/websocket.hpp"
#include "owcore/realtime/metrics.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/defer.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <spdlog/logger.h>

#include <array>
#include <string_view>

namespace owcore::realtime::engineio {

namespace asio = boost::asio;
using asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace detail {

// One WebSocket connection. Idle, it holds no buffer: reads wait for readability and then go
// through one per-thread buffer; only an incomplete frame is kept (`pending`). Writes gather
// the control bytes and every queued frame into one write.
struct websocket_conn {
  websocket_conn(tcp::socket s, std::size_t max_message) : sock(std::move(s)), parser(max_message) {}
  tcp::socket sock;
  ws::frame_parser parser;
  std::string pending;    ///< bytes of an incomplete frame
  std::string urgent;     ///< bytes to write before queued frames (101, pong, "3probe")
  bool writing = false;       ///< a gathered write is in flight
  bool flush_posted = false;  ///< a flush is already posted to the strand
  bool close_queued = false;  ///< the close frame is written or about to be
  bool dead = false;          ///< the socket is closed; ignore everything
  // The write in flight (kept alive until it completes, then released).
  std::string urgent_out;
  std::string headers;
  std::vector<frame> batch;
};

}  // namespace detail

namespace {

constexpr std::string_view probe_request = "2probe";
constexpr std::string_view probe_reply = "3probe";
// One gathered write carries at most this much (the rest follows in the next one).
constexpr std::size_t max_batch_frames = 512;
constexpr std::size_t max_batch_bytes = 1 << 20;
// Reads per readiness event before yielding to other connections.
constexpr int max_reads_per_wakeup = 4;

// Queues a close frame with `code` (once) ahead of anything not yet written; the socket closes
// after the write that carries it (see on_written).
void queue_close(detail::websocket_conn& c, ws::close_code code) {
  if (c.close_queued) return;
  c.close_queued = true;
  c.urgent += ws::close_frame(code);
}

void hard_close(detail::websocket_conn& c) noexcept {
  c.dead = true;
  boost::system::error_code ignored;
  c.sock.close(ignored);
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
      info_(std::make_shared<const request_info>(std::move(info))),
      cfg_(cfg),
      fsm_(cfg.fsm, transport, clock_type::now()),
      timer_(strand_) {
  if (transport == transport_kind::polling) poll_cv_ = std::make_unique<asio::steady_timer>(strand_);
}

session::~session() = default;

void session::send(std::string data, bool binary) {
  std::vector<frame> frames;
  frames.push_back(binary ? binary_frame(std::move(data)) : message_frame(data));
  send_frames(std::move(frames));
}

void session::send_frames(std::vector<frame> frames) {
  // Deferred, not posted, when not already on the strand: a broadcast hands frames to many
  // sessions from one handler, and waking another thread for each costs more than the send.
  if (net::running_in(strand_)) return do_send(frames);
  asio::defer(strand_, [self = shared_from_this(), frames = std::move(frames)]() mutable {
    self->do_send(frames);
  });
}

void session::send_shared(std::shared_ptr<const std::vector<frame>> frames) {
  if (net::running_in(strand_)) return do_send(*frames);
  asio::defer(strand_, [self = shared_from_this(), frames = std::move(frames)] { self->do_send(*frames); });
}

void session::close(close_reason reason) {
  asio::dispatch(strand_, [self = shared_from_this(), reason] {
    self->fsm_.close(reason, clock_type::now());
    self->after_change();
  });
}

void session::do_send(std::span<const frame> frames) {
  if (cfg_.trace) {
    std::size_t bytes = 0;
    for (const auto& f : frames) bytes += f.size();
    cfg_.trace->info("engine.io {}: sending {} packet{} ({} bytes)", sid_, frames.size(),
                     frames.size() == 1 ? "" : "s", bytes);
  }
  switch (fsm_.send(frames)) {
    case session_fsm::send_result::queued: wake(); break;
    case session_fsm::send_result::dropped: break;
    case session_fsm::send_result::overflow: after_change(); break;
  }
}

void session::wake() {
  if (poll_cv_) poll_cv_->cancel();
  if (active_ws_) schedule_flush(active_ws_);
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
  arm_timer();  // the linger deadline, or stop
  if (!notified_) {
    notified_ = true;
    // Posted, never inline: close() may be called from inside the listener's own on_message.
    asio::post(strand_, [self = shared_from_this()] {
      if (self->cfg_.trace)
        self->cfg_.trace->info("engine.io {}: closed ({})", self->sid_,
                               to_string(self->fsm_.reason().value_or(close_reason::server_close)));
      auto listener = std::move(self->listener_);
      if (listener) listener->on_close(self->fsm_.reason().value_or(close_reason::server_close));
    });
  }
  if (fsm_.current() == session_fsm::state::closed && !finished_) finish();
}

void session::finish() {
  finished_ = true;
  if (auto srv = srv_.lock())
    srv->unregister(sid_, fsm_.transport(), fsm_.reason().value_or(close_reason::server_close));
  timer_.cancel();
  // A writer stuck in a write to a slow peer would never get to the close frame: cut it off.
  // An idle connection sends the close frame itself (wake() scheduled its flush).
  if (active_ws_ && active_ws_->writing) hard_close(*active_ws_);
}

void session::start_timers() { arm_timer(); }

void session::arm_timer() {
  if (finished_) return;
  const auto at = fsm_.next_deadline();
  if (timer_armed_ && at == timer_at_) return;
  timer_at_ = at;
  timer_armed_ = true;
  timer_.expires_at(at);  // cancels the previous wait, whose handler then does nothing
  timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec == asio::error::operation_aborted) return;
    self->timer_armed_ = false;
    self->on_timer(ec);
  });
}

void session::on_timer(boost::system::error_code) {
  if (finished_) return;
  const auto fx = fsm_.on_timer(clock_type::now());
  if (fx.upgrade_aborted) drop_candidate();
  if (fx.ping_queued) wake();
  after_change();
  arm_timer();
}

void session::handle_inbound(packet p) {
  if (cfg_.trace)
    cfg_.trace->info("engine.io {}: received packet {} ({} bytes{})", sid_, static_cast<int>(p.type), p.data.size(),
                     p.binary ? ", binary" : "");
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
  if (cfg_.trace) cfg_.trace->info("engine.io {}: opened (polling)", sid_);
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
      while (!fsm_.poll_ready() && poll_cv_) {
        poll_cv_->expires_at(clock_type::time_point::max());
        co_await poll_cv_->async_wait(net::use_tuple);
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

session::ws_ptr session::make_conn(tcp::socket sock) const {
  boost::system::error_code ignored;
  // Packets are small and often written back to back: without TCP_NODELAY a write can wait for
  // the peer's delayed ACK (~40 ms).
  sock.set_option(tcp::no_delay(true), ignored);
  sock.non_blocking(true, ignored);
  return std::make_shared<detail::websocket_conn>(std::move(sock), cfg_.max_payload);
}

void session::run_new_websocket(std::shared_ptr<session> self, std::string accept, tcp::socket sock,
                                std::string open_packet) {
  auto c = self->make_conn(std::move(sock));
  auto srv = self->srv_.lock();
  c->urgent = ws::switching_protocols(accept);
  if (!srv || !srv->try_register(self)) {
    queue_close(*c, ws::close_code::try_again_later);
    self->flush(c);
    return;
  }
  self->active_ws_ = c;
  self->fsm_.send(control_frame(packet_type::open, open_packet));
  self->listener_ = srv->opened(self);
  srv.reset();
  if (self->cfg_.trace) self->cfg_.trace->info("engine.io {}: opened (websocket)", self->sid_);
  self->start_timers();
  self->flush(c);  // the 101 and the open packet leave in one write
  self->arm_read(c);
}

void session::run_upgrade(std::shared_ptr<session> self, std::string accept, tcp::socket sock) {
  auto c = self->make_conn(std::move(sock));
  c->urgent = ws::switching_protocols(accept);
  if (!self->fsm_.begin_upgrade(clock_type::now(), self->cfg_.upgrades_allowed)) {
    // Already upgraded, another candidate, or closed: one WebSocket per session.
    queue_close(*c, ws::close_code::policy_violation);
    self->flush(c);
    return;
  }
  self->candidate_ws_ = c;
  self->arm_timer();  // the upgrade deadline may now be the next one
  self->flush(c);
  self->arm_read(c);
}

void session::arm_read(const ws_ptr& c) {
  c->sock.async_wait(tcp::socket::wait_read, [self = shared_from_this(), c](boost::system::error_code ec) {
    self->on_readable(c, ec);
  });
}

void session::on_readable(const ws_ptr& c, boost::system::error_code ec) {
  if (c->dead) return;
  if (ec) return transport_lost(c);
  // Shared by every connection of this thread: an idle connection holds no read buffer.
  static thread_local std::array<char, 64 * 1024> buf;
  for (int i = 0; i < max_reads_per_wakeup; ++i) {
    const auto n = c->sock.read_some(asio::buffer(buf), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) break;
    if (ec) return transport_lost(c);  // EOF included: the peer went away without a close frame
    if (!feed(c, std::string_view(buf.data(), n))) return;
    if (n < buf.size()) break;
  }
  arm_read(c);
}

// Parses `bytes` (after any kept incomplete frame) and acts on each frame. False when the
// connection is finished with (closed, failed, or no longer wanted).
bool session::feed(const ws_ptr& c, std::string_view bytes) {
  std::string joined;
  std::string_view in = bytes;
  if (!c->pending.empty()) {
    joined = std::move(c->pending);
    c->pending = std::string();
    joined.append(bytes);
    in = joined;
  }
  while (!in.empty()) {
    auto st = c->parser.parse(in);
    if (st.fail) {
      fail_conn(c, *st.fail);
      return false;
    }
    if (st.consumed == 0) break;
    in.remove_prefix(st.consumed);
    if (!st.ev) continue;
    auto& e = *st.ev;
    switch (e.what) {
      case ws::event::kind::message:
        if (!on_ws_message(c, std::move(e.data), e.binary)) return false;
        break;
      case ws::event::kind::ping:
        c->urgent += ws::control_frame(ws::opcode::pong, e.data);
        schedule_flush(c);
        break;
      case ws::event::kind::pong:
        break;
      case ws::event::kind::close:
        // The client closes: answer its close frame, and the session ends with the transport.
        queue_close(*c, ws::close_code::normal);
        transport_lost(c);
        return false;
    }
  }
  if (!in.empty()) {
    if (in.size() > c->parser.max_frame_bytes()) {  // cannot happen: the parser refuses first
      fail_conn(c, ws::close_code::too_big);
      return false;
    }
    if (joined.empty()) {
      c->pending.assign(in);
    } else {
      // Keep the joined buffer (a large frame arriving in many reads is appended to, not
      // copied again on every read).
      joined.erase(0, joined.size() - in.size());
      c->pending = std::move(joined);
    }
  }
  return !c->dead;
}

bool session::on_ws_message(const ws_ptr& c, std::string data, bool binary) {
  if (c == candidate_ws_) {
    if (!binary && data == probe_request && fsm_.on_probe()) {
      c->urgent += ws::control_frame(ws::opcode::text, probe_reply);
      schedule_flush(c);
      wake();  // a pending long-poll ends with `noop`, letting the client pause polling
      return true;
    }
    if (!binary && data.size() == 1 && data[0] == static_cast<char>(packet_type::upgrade) &&
        fsm_.complete_upgrade()) {
      candidate_ws_.reset();
      active_ws_ = c;
      auto& m = metrics().engineio;
      m.upgrades.inc();
      m.sessions[static_cast<std::size_t>(transport_kind::polling)].sub();
      m.sessions[static_cast<std::size_t>(transport_kind::websocket)].add();
      if (cfg_.trace) cfg_.trace->info("engine.io {}: upgraded to websocket", sid_);
      wake();  // the pending long-poll (if any) ends with `noop`; queued packets go out here
      return true;
    }
    fsm_.abort_upgrade();
    drop_candidate();
    return false;
  }
  if (c != active_ws_ || fsm_.current() == session_fsm::state::closed) return false;
  if (binary) {
    handle_inbound(packet{packet_type::message, std::move(data), true});
  } else {
    auto p = decode_text(data);
    if (!p) {
      fsm_.close(close_reason::protocol_error, clock_type::now());
      after_change();
      return false;
    }
    handle_inbound(std::move(*p));
  }
  return c == active_ws_ && fsm_.current() != session_fsm::state::closed;
}

void session::schedule_flush(const ws_ptr& c) {
  if (c->writing || c->flush_posted || c->dead) return;
  // Posted, not run inline: every packet queued by the handlers running now (one broadcast
  // to many sockets, several acknowledgements) leaves in the same write.
  c->flush_posted = true;
  asio::defer(strand_, [self = shared_from_this(), c] {
    c->flush_posted = false;
    self->flush(c);
  });
}

void session::flush(const ws_ptr& c) {
  if (c->writing || c->dead) return;
  c->urgent_out = std::move(c->urgent);
  c->urgent = std::string();
  const bool active = c == active_ws_;
  std::size_t bytes = 0;
  while (active && c->batch.size() < max_batch_frames && bytes < max_batch_bytes) {
    auto f = fsm_.next_frame();
    if (!f) break;
    bytes += f->size();
    c->batch.push_back(std::move(*f));
  }
  if (active && !c->close_queued && fsm_.transport_should_close() && c->batch.empty()) {
    // Everything queued is out: end the session, then the WebSocket with a close frame.
    fsm_.finish_closing();
    const auto reason = fsm_.reason().value_or(close_reason::server_close);
    auto code = ws::close_code::normal;
    if (reason == close_reason::protocol_error) code = ws::close_code::policy_violation;
    else if (reason == close_reason::shutdown) code = ws::close_code::going_away;
    c->close_queued = true;
    c->urgent_out += ws::close_frame(code);
    after_change();
  }
  if (c->urgent_out.empty() && c->batch.empty()) {
    c->urgent_out = std::string();
    return;
  }
  // The buffer list is copied into the write operation, so one scratch list per thread does.
  static thread_local std::vector<asio::const_buffer> buffers;
  buffers.clear();
  c->headers.resize(c->batch.size() * 10);  // sized before pointing into it: it must not move
  std::size_t at = 0;
  if (!c->urgent_out.empty()) buffers.push_back(asio::buffer(c->urgent_out));
  for (const auto& f : c->batch) {
    const auto n = ws::encode_header(c->headers.data() + at, f.binary ? ws::opcode::binary : ws::opcode::text,
                                     f.size());
    buffers.push_back(asio::buffer(c->headers.data() + at, n));
    buffers.push_back(asio::buffer(*f.bytes));
    at += n;
  }
  c->writing = true;
  asio::async_write(c->sock, buffers, [self = shared_from_this(), c](boost::system::error_code ec, std::size_t) {
    self->on_written(c, ec);
  });
  if (buffers.capacity() > 4096) std::vector<asio::const_buffer>().swap(buffers);
}

void session::on_written(const ws_ptr& c, boost::system::error_code ec) {
  c->writing = false;
  // An idle connection keeps no write memory.
  std::vector<frame>().swap(c->batch);
  std::string().swap(c->urgent_out);
  std::string().swap(c->headers);
  if (c->dead) return;
  if (ec) return transport_lost(c);
  if (c->close_queued && c->urgent.empty()) {
    // The close frame is out. The peer answers with its own and closes; a bounded linger is
    // not needed because nothing more is owed to it.
    boost::system::error_code ignored;
    c->sock.shutdown(tcp::socket::shutdown_send, ignored);
    hard_close(*c);
    end_conn(c, close_reason::transport_close);
    return;
  }
  flush(c);
}

// A protocol violation on the WebSocket layer: a close frame with `code`, then the socket goes.
void session::fail_conn(const ws_ptr& c, ws::close_code code) {
  if (c->dead) return;
  queue_close(*c, code);
  end_conn(c, close_reason::protocol_error);
  if (!c->writing) flush(c);
}

// `c` no longer carries the session: a candidate's upgrade is abandoned, the active transport's
// session closes for `reason`.
void session::end_conn(const ws_ptr& c, close_reason reason) {
  if (c == candidate_ws_) {
    fsm_.abort_upgrade();
    candidate_ws_.reset();
  } else if (c == active_ws_ && fsm_.current() != session_fsm::state::closed) {
    fsm_.close(reason, clock_type::now());
    after_change();
  }
}

// The connection is gone (EOF, error) or closed by the client: the session ends with it.
void session::transport_lost(const ws_ptr& c) {
  end_conn(c, close_reason::transport_close);
  if (c->close_queued && !c->urgent.empty() && !c->writing && !c->dead) {
    flush(c);  // answer the client's close frame, then the socket closes
    return;
  }
  if (!c->writing) hard_close(*c);
}

}  // namespace owcore::realtime::engineio
