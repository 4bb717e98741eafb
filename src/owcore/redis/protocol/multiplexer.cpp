#include "owcore/redis/protocol/multiplexer.hpp"

#include "owcore/redis/error.hpp"

#include <algorithm>

namespace owcore::redis {

using boost::system::error_code;

multiplexer::multiplexer(multiplexer_options opts) : opts_(opts) {}

multiplexer::~multiplexer() = default;

void multiplexer::finish(entry& e, error_code ec) {
  if (!e.sink) return;
  auto sink = std::move(e.sink);
  sink->complete(ec, std::move(e.replies));
}

bool multiplexer::add(request req, std::uint64_t id, std::unique_ptr<request_sink> sink,
                      clock::time_point now) {
  if (stopped_) {
    sink->complete(error::stopped, {});
    return false;
  }
  if (req.empty()) {
    sink->complete({}, {});
    return false;
  }
  if (queued_.size() + in_flight_.size() >= opts_.max_queued) {
    sink->complete(error::queue_full, {});
    return false;
  }
  const bool was_empty = queued_.empty();
  auto& e = queued_.emplace_back();
  e.expected = req.size();
  e.req = std::move(req);
  e.sink = std::move(sink);
  e.id = id;
  e.enqueued = now;
  return was_empty;
}

bool multiplexer::add_ping(clock::time_point now) {
  if (stopped_ || ping_pending_) return false;
  const bool was_empty = queued_.empty();
  auto& e = queued_.emplace_back();
  e.req.push("PING");
  e.expected = 1;
  e.internal = true;
  e.enqueued = now;
  ping_pending_ = true;
  return was_empty;
}

bool multiplexer::cancel(std::uint64_t id, error_code why) {
  for (auto it = queued_.begin(); it != queued_.end(); ++it) {
    if (it->id != id || it->internal) continue;
    finish(*it, why);
    queued_.erase(it);
    return true;
  }
  for (auto& e : in_flight_) {
    if (e.id != id || e.internal || !e.sink) continue;
    // Written: its reply will still come and must be consumed in order.
    finish(e, why);
    return true;
  }
  return false;
}

std::string_view multiplexer::prepare_write(clock::time_point now) {
  write_buf_.clear();
  staged_ = 0;
  while (!queued_.empty() && (staged_ == 0 || write_buf_.size() < opts_.max_write_batch)) {
    auto& e = queued_.front();
    e.req.encode(write_buf_);
    ++e.attempts;
    e.written_at = now;
    in_flight_.push_back(std::move(e));
    queued_.pop_front();
    ++staged_;
  }
  return write_buf_;
}

void multiplexer::commit_write(clock::time_point now) {
  const auto n = std::min(staged_, in_flight_.size());
  for (auto it = in_flight_.end() - static_cast<std::ptrdiff_t>(n); it != in_flight_.end(); ++it)
    it->written_at = now;
  staged_ = 0;
}

multiplexer::reply_result multiplexer::on_reply(reply r) {
  if (in_flight_.empty()) return reply_result::unsolicited;
  auto& front = in_flight_.front();
  front.replies.push_back(std::move(r));
  if (front.replies.size() < front.expected) return reply_result::consumed;
  auto done = std::move(front);
  in_flight_.pop_front();
  if (staged_ > in_flight_.size()) staged_ = in_flight_.size();
  if (done.internal) ping_pending_ = false;
  finish(done, {});
  return reply_result::completed;
}

multiplexer::lost_summary multiplexer::on_connection_lost() {
  lost_summary sum;
  // Newest first to the head of the queue, so the oldest ends up first again.
  for (auto it = in_flight_.rbegin(); it != in_flight_.rend(); ++it) {
    auto& e = *it;
    if (e.internal || !e.sink) {
      ++sum.dropped;
      continue;
    }
    const bool resend = !stopped_ && e.req.policy() == retry_policy::idempotent &&
                        e.attempts < opts_.max_attempts;
    if (resend) {
      e.replies.clear();
      queued_.push_front(std::move(e));
      ++sum.requeued;
    } else {
      finish(e, error::unknown_outcome);
      ++sum.unknown_outcome;
    }
  }
  in_flight_.clear();
  staged_ = 0;
  // A queued health-check PING is useless on the next connection.
  const auto before = queued_.size();
  std::erase_if(queued_, [](const entry& e) { return e.internal; });
  sum.dropped += before - queued_.size();
  ping_pending_ = false;
  return sum;
}

void multiplexer::stop() {
  stopped_ = true;
  for (auto& e : queued_) finish(e, error::stopped);
  queued_.clear();
  on_connection_lost();
}

std::size_t multiplexer::expire_queued(clock::time_point now, clock::duration timeout,
                                       error_code why) {
  std::size_t n = 0;
  std::erase_if(queued_, [&](entry& e) {
    if (now - e.enqueued < timeout) return false;
    if (e.internal) ping_pending_ = false;
    finish(e, why);
    ++n;
    return true;
  });
  return n;
}

std::optional<multiplexer::clock::time_point> multiplexer::oldest_written() const {
  if (in_flight_.empty()) return std::nullopt;
  return in_flight_.front().written_at;
}

}  // namespace owcore::redis
