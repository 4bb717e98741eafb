#include "owcore/realtime/engineio/session_fsm.hpp"

#include <algorithm>

namespace owcore::realtime::engineio {

frame frame_queue::pop_front() {
  frame f = std::move(items_[head_++]);
  if (head_ == items_.size()) {
    clear();
  } else if (head_ >= 64 && head_ * 2 >= items_.size()) {
    // A queue that never drains completely must not grow without bound at the front.
    items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
  return f;
}

void frame_queue::clear() noexcept {
  head_ = 0;
  if (items_.capacity() > 16) std::vector<frame>().swap(items_);
  else items_.clear();
}


std::string_view to_string(close_reason r) noexcept {
  switch (r) {
    case close_reason::client_close: return "client close";
    case close_reason::server_close: return "server close";
    case close_reason::shutdown: return "server shutdown";
    case close_reason::ping_timeout: return "ping timeout";
    case close_reason::transport_close: return "transport close";
    case close_reason::protocol_error: return "protocol error";
    case close_reason::queue_overflow: return "queue overflow";
  }
  return "unknown";
}

session_fsm::session_fsm(fsm_options opts, transport_kind transport, clock::time_point now)
    : opts_(opts), transport_(transport), next_ping_(now + opts.ping_interval) {}

session_fsm::send_result session_fsm::send(std::span<const frame> batch) {
  if (state_ != state::open) return send_result::dropped;
  std::size_t bytes = 0;
  for (const auto& f : batch) bytes += f.size();
  if (queue_.size() + batch.size() > opts_.max_queued_packets ||
      queued_bytes_ + bytes > opts_.max_queued_bytes) {
    close(close_reason::queue_overflow, clock::time_point{});
    return send_result::overflow;
  }
  for (const auto& f : batch) queue_.push_back(f);
  queued_bytes_ += bytes;
  return send_result::queued;
}

std::optional<frame> session_fsm::next_frame() {
  if (queue_.empty() || state_ == state::closed) return std::nullopt;
  frame f = queue_.pop_front();
  queued_bytes_ -= f.size();
  return f;
}

bool session_fsm::transport_should_close() const noexcept {
  return state_ == state::closed || (state_ == state::closing && queue_.empty());
}

void session_fsm::finish_closing() noexcept {
  if (state_ == state::closing) state_ = state::closed;
}

session_fsm::poll_start session_fsm::begin_poll() {
  if (transport_ != transport_kind::polling || state_ == state::closed) return poll_start::reject;
  if (poll_pending_) {
    // A second concurrent GET breaks the ordering guarantee; the spec says close the session.
    close(close_reason::protocol_error, clock::time_point{});
    return poll_start::reject;
  }
  poll_pending_ = true;
  return poll_ready() ? poll_start::respond : poll_start::wait;
}

bool session_fsm::poll_ready() const noexcept {
  return state_ != state::open || !queue_.empty() || probed_ || transport_ != transport_kind::polling;
}

std::string session_fsm::finish_poll() {
  poll_pending_ = false;
  std::string out;
  if (state_ == state::closed) {
    // After a client `close` the pending GET just ends (noop); any other close tells the client.
    const bool by_client = reason_ == close_reason::client_close;
    out += static_cast<char>(by_client ? packet_type::noop : packet_type::close);
    return out;
  }
  if (transport_ != transport_kind::polling) {
    out += static_cast<char>(packet_type::noop);
    return out;
  }
  std::size_t used = 0;
  while (!queue_.empty()) {
    const std::size_t next = payload_size(queue_.front()) + (out.empty() ? 0 : 1);
    if (!out.empty() && used + next > opts_.max_payload) break;
    frame f = queue_.pop_front();
    queued_bytes_ -= f.size();
    append_to_payload(out, f);
    used += next;
  }
  if (state_ == state::closing && queue_.empty()) {
    if (!out.empty()) out += record_separator;
    out += static_cast<char>(packet_type::close);
    state_ = state::closed;
  }
  if (out.empty()) out += static_cast<char>(packet_type::noop);
  return out;
}

session_fsm::inbound session_fsm::on_packet(const packet& p, clock::time_point now) {
  if (state_ != state::open) return inbound::none;
  switch (p.type) {
    case packet_type::message:
      return inbound::deliver;
    case packet_type::ping: {
      // Engine.IO v4 clients only ping as an upgrade probe; answer any ping with the same data.
      const auto r = send(control_frame(packet_type::pong, p.data));
      return r == send_result::overflow ? inbound::closed : inbound::replied;
    }
    case packet_type::pong:
      if (awaiting_pong_) {
        awaiting_pong_ = false;
        next_ping_ = now + opts_.ping_interval;
      }
      return inbound::none;
    case packet_type::close:
      close(close_reason::client_close, now);
      return inbound::closed;
    case packet_type::open:
    case packet_type::upgrade:
    case packet_type::noop:
      return inbound::none;
  }
  return inbound::none;
}

bool session_fsm::begin_upgrade(clock::time_point now, bool upgrades_allowed) {
  if (!upgrades_allowed || state_ != state::open || transport_ != transport_kind::polling || candidate_)
    return false;
  candidate_ = true;
  probed_ = false;
  upgrade_deadline_ = now + opts_.upgrade_timeout;
  return true;
}

bool session_fsm::on_probe() noexcept {
  if (!candidate_ || probed_ || state_ != state::open) return false;
  probed_ = true;
  return true;
}

bool session_fsm::complete_upgrade() noexcept {
  if (!candidate_ || !probed_ || state_ != state::open) return false;
  candidate_ = false;
  probed_ = false;
  transport_ = transport_kind::websocket;
  return true;
}

void session_fsm::abort_upgrade() noexcept {
  candidate_ = false;
  probed_ = false;
}

void session_fsm::clear_queue() noexcept {
  queue_.clear();
  queued_bytes_ = 0;
}

void session_fsm::close(close_reason r, clock::time_point now) {
  if (state_ == state::closed) return;
  if (state_ == state::closing) {
    if (is_graceful(r)) return;
    state_ = state::closed;
    clear_queue();
    return;
  }
  reason_ = r;
  candidate_ = false;
  probed_ = false;
  if (is_graceful(r)) {
    state_ = state::closing;
    linger_deadline_ = now + opts_.close_linger;
  } else {
    state_ = state::closed;
    clear_queue();
  }
}

session_fsm::clock::time_point session_fsm::next_deadline() const noexcept {
  switch (state_) {
    case state::closed: return clock::time_point::max();
    case state::closing: return linger_deadline_;
    case state::open: break;
  }
  auto d = awaiting_pong_ ? pong_deadline_ : next_ping_;
  if (candidate_) d = std::min(d, upgrade_deadline_);
  return d;
}

session_fsm::timer_effects session_fsm::on_timer(clock::time_point now) {
  timer_effects fx;
  if (state_ == state::closing) {
    if (now >= linger_deadline_) {
      state_ = state::closed;
      clear_queue();
      fx.closed = true;
    }
    return fx;
  }
  if (state_ != state::open) return fx;
  if (candidate_ && now >= upgrade_deadline_) {
    abort_upgrade();
    fx.upgrade_aborted = true;
  }
  if (awaiting_pong_) {
    if (now >= pong_deadline_) {
      close(close_reason::ping_timeout, now);
      fx.closed = true;
    }
    return fx;
  }
  if (now >= next_ping_) {
    if (send(control_frame(packet_type::ping)) == send_result::overflow) {
      fx.closed = true;
      return fx;
    }
    awaiting_pong_ = true;
    pong_deadline_ = now + opts_.ping_timeout;
    fx.ping_queued = true;
  }
  return fx;
}

}  // namespace owcore::realtime::engineio
