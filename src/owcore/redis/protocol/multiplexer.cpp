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

// Completes the request at once (and returns false) when it cannot be queued.
bool multiplexer::admit(request_sink& sink, bool empty) {
  if (stopped_) {
    sink.complete(error::stopped, {});
    return false;
  }
  if (empty) {
    sink.complete({}, {});
    return false;
  }
  if (queued_.size() + in_flight_.size() >= opts_.max_queued) {
    sink.complete(error::queue_full, {});
    return false;
  }
  return true;
}

bool multiplexer::enqueue(entry&& e) {
  const bool was_empty = queued_.empty();
  queued_.push_back(std::move(e));
  return was_empty;
}

bool multiplexer::add(request req, std::uint64_t id, std::unique_ptr<request_sink> sink,
                      clock::time_point now) {
  if (!admit(*sink, req.empty())) return false;
  entry e;
  e.expected = req.size();
  e.policy = req.policy();
  e.req = std::move(req);
  e.sink = std::move(sink);
  e.id = id;
  e.enqueued = now;
  return enqueue(std::move(e));
}

bool multiplexer::add(command_view cmd, std::uint64_t id, std::unique_ptr<request_sink> sink,
                      clock::time_point now) {
  if (!admit(*sink, cmd.args.empty())) return false;
  entry e;
  e.expected = 1;
  e.policy = cmd.policy;
  e.view = cmd;
  e.sink = std::move(sink);
  e.id = id;
  e.enqueued = now;
  return enqueue(std::move(e));
}

bool multiplexer::add_ping(clock::time_point now) {
  if (stopped_ || ping_pending_) return false;
  const bool was_empty = queued_.empty();
  entry e;
  e.req.push("PING");
  e.expected = 1;
  e.internal = true;
  e.enqueued = now;
  queued_.push_back(std::move(e));
  ping_pending_ = true;
  return was_empty;
}

bool multiplexer::cancel(std::uint64_t id, error_code why) {
  for (std::size_t i = 0; i < queued_.size(); ++i) {
    if (queued_[i].id != id || queued_[i].internal) continue;
    finish(queued_[i], why);
    queued_.erase_at(i);
    return true;
  }
  for (std::size_t i = 0; i < in_flight_.size(); ++i) {
    auto& e = in_flight_[i];
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
  staged_commands_ = 0;
  while (!queued_.empty() && (staged_ == 0 || write_buf_.size() < opts_.max_write_batch)) {
    auto& e = queued_.front();
    if (!e.view.args.empty()) encode_command(write_buf_, e.view.args);
    else e.req.encode(write_buf_);
    staged_commands_ += e.expected;
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
  for (std::size_t i = in_flight_.size() - n; i < in_flight_.size(); ++i)
    in_flight_[i].written_at = now;
  if (n > 0) {
    ++writes_;
    commands_written_ += staged_commands_;
  }
  staged_ = 0;
  staged_commands_ = 0;
}

multiplexer::reply_result multiplexer::on_reply(reply&& r) {
  if (in_flight_.empty()) return reply_result::unsolicited;
  auto& front = in_flight_.front();
  if (front.expected == 1) {
    // One-command request: hand the reply over without a response vector.
    auto sink = std::move(front.sink);
    if (front.internal) ping_pending_ = false;
    in_flight_.pop_front();
    if (staged_ > in_flight_.size()) staged_ = in_flight_.size();
    if (sink) sink->complete_one(std::move(r));
    return reply_result::completed;
  }
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
  for (std::size_t i = in_flight_.size(); i-- > 0;) {
    auto& e = in_flight_[i];
    if (e.internal || !e.sink) {
      ++sum.dropped;
      continue;
    }
    const bool resend =
        !stopped_ && e.policy == retry_policy::idempotent && e.attempts < opts_.max_attempts;
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
  staged_commands_ = 0;
  // A queued health-check PING is useless on the next connection.
  sum.dropped += queued_.erase_if([](const entry& e) { return e.internal; });
  ping_pending_ = false;
  return sum;
}

void multiplexer::stop() {
  stopped_ = true;
  for (std::size_t i = 0; i < queued_.size(); ++i) finish(queued_[i], error::stopped);
  queued_.clear();
  on_connection_lost();
}

std::size_t multiplexer::expire_queued(clock::time_point now, clock::duration timeout,
                                       error_code why) {
  std::size_t n = 0;
  queued_.erase_if([&](entry& e) {
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
