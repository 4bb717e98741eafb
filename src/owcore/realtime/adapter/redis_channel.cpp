#include "owcore/realtime/adapter/redis_channel.hpp"

#include "owcore/net/error.hpp"
#include "owcore/net/timeout.hpp"
#include "owcore/realtime/metrics.hpp"
#include "owcore/redis/error.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <spdlog/logger.h>

#include <stdexcept>

namespace owcore::realtime::adapter {

namespace asio = boost::asio;
namespace rp = socketio_pubsub;
using boost::system::error_code;
using clock_type = std::chrono::steady_clock;

bool redis_channel::log_limiter::allow(std::uint64_t& suppressed) {
  std::lock_guard lock(mutex_);
  const auto now = clock_type::now();
  if (now < next_) {
    ++skipped_;
    return false;
  }
  next_ = now + interval_;
  suppressed = std::exchange(skipped_, 0);
  return true;
}

namespace {

// A short, printable excerpt of an untrusted payload for a log line (no control characters, so
// a payload cannot forge log lines).
std::string excerpt(std::string_view payload) {
  constexpr std::size_t max = 80;
  std::string out;
  for (std::size_t i = 0; i < payload.size() && i < max; ++i) {
    const auto c = static_cast<unsigned char>(payload[i]);
    out += (c >= 0x20 && c < 0x7F) ? static_cast<char>(c) : '.';
  }
  if (payload.size() > max) out += "...";
  return out;
}

// Errors after which the batch may have reached Redis (or the time is up): never re-sent.
bool retryable(const error_code& ec) {
  return ec != redis::error::unknown_outcome && ec != net::error::timeout && ec != redis::error::stopped &&
         ec != asio::error::operation_aborted;
}

net::awaitable<error_code> exec_into(std::shared_ptr<redis::client> client, redis::request req,
                                     std::shared_ptr<redis::response> out) {
  auto [ec, resp] = co_await client->exec(std::move(req));
  *out = std::move(resp);
  co_return ec;
}

}  // namespace

std::shared_ptr<redis_channel> redis_channel::create(net::executor ex, std::shared_ptr<redis::client> client,
                                                     redis_channel_options opts, message_handler on_message) {
  if (opts.channel.empty()) throw std::invalid_argument("redis_channel: empty channel name");
  if (!opts.host_id.empty() && !rp::valid_host_id(opts.host_id))
    throw std::invalid_argument("redis_channel: host_id must be 32 lowercase hex digits");
  if (!client) throw std::invalid_argument("redis_channel: no Redis client");
  return std::shared_ptr<redis_channel>(
      new redis_channel(std::move(ex), std::move(client), std::move(opts), std::move(on_message)));
}

redis_channel::redis_channel(net::executor ex, std::shared_ptr<redis::client> client, redis_channel_options opts,
                             message_handler on_message)
    : strand_(asio::make_strand(ex)),
      client_(std::move(client)),
      opts_(std::move(opts)),
      on_message_(std::move(on_message)),
      host_id_(opts_.host_id.empty() ? rp::make_host_id() : opts_.host_id),
      writer_cv_(strand_),
      retry_timer_(strand_),
      room_mode_(opts_.room_channels),
      malformed_log_(opts_.log_interval),
      drop_log_(opts_.log_interval) {}

redis_channel::~redis_channel() {
  // Normally stop() already ran; a subscriber must not outlive its handler's target.
  if (sub_) sub_->stop();
}

void redis_channel::start() {
  std::shared_ptr<redis::subscriber> sub;
  {
    std::lock_guard lock(mutex_);
    if (started_ || stopped_) return;
    started_ = true;
  }
  auto weak = weak_from_this();
  sub = client_->make_subscriber(
      [weak](const redis::message& m) {
        if (auto self = weak.lock()) self->on_payload(m);
      },
      "socketio pubsub", "");
  sub->subscribe(opts_.channel);
  if (room_mode_) {
    sub->psubscribe(pattern());
    std::weak_ptr<redis::subscriber> weak_sub = sub;
    sub->set_error_handler([weak, weak_sub](const std::string& error) {
      auto self = weak.lock();
      return self && self->on_subscribe_error(error, weak_sub);
    });
  }
  {
    // Under the lock so that a concurrent stop() either sees and stops it, or ran first.
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    sub_ = sub;
    sub->start();
  }
  asio::co_spawn(strand_, write_loop(shared_from_this()), [log = opts_.log](std::exception_ptr e) {
    if (!e || !log) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      log->error("socketio pubsub: writer loop failed: {}", ex.what());
    }
  });
  if (opts_.log)
    opts_.log->info("socketio pubsub: subscribing to '{}'{} as host {}", opts_.channel,
                    room_mode_ ? fmt::format(" and room channels '{}'", pattern()) : std::string(), host_id_);
}

bool redis_channel::on_subscribe_error(const std::string& error, const std::weak_ptr<redis::subscriber>& weak_sub) {
  auto sub = weak_sub.lock();
  // The handler exists only in room-channel mode. SUBSCRIBE <channel> is sent before PSUBSCRIBE
  // <channel>#* and Redis answers in order, so an error once the subscriber is subscribed
  // answers the pattern (possibly one sent before a PUBLISH refusal already fell back). A
  // refused SUBSCRIBE of the shared channel itself is left to the subscriber (reconnect with
  // backoff, as before).
  if (!sub || !error.starts_with("NOPERM") || !sub->subscribed()) return false;
  fall_back("PSUBSCRIBE " + pattern() + " refused: " + error);
  return true;
}

void redis_channel::fall_back(const std::string& why) {
  if (!room_mode_.exchange(false)) return;
  std::shared_ptr<redis::subscriber> sub;
  {
    std::lock_guard lock(mutex_);
    sub = sub_;
  }
  if (sub) sub->punsubscribe(pattern());
  if (opts_.log)
    opts_.log->warn("socketio pubsub: {}; room channels are off until restart, every message now goes on '{}' "
                    "(add &{} to the Redis ACL user, or set WEBSOCKET_REDIS_ROOM_CHANNELS=false on the whole fleet)",
                    why, opts_.channel, pattern());
}

std::string redis_channel::channel_for(const rp::message& m) const {
  if (room_mode_) {
    if (const auto* e = std::get_if<rp::emit_message>(&m)) {
      if (const auto* room = std::get_if<std::string>(&e->room))
        // "<channel>#<nsp>#<room>", python-socketio-room-channel style (docs/wire.md); unambiguous
        // while namespaces contain no '#'.
        return opts_.channel + "#" + e->nsp + "#" + *room;
    }
  }
  return opts_.channel;
}

void redis_channel::stop() {
  std::shared_ptr<redis::subscriber> sub;
  std::size_t dropped = 0;
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
    sub = sub_;
    dropped = queue_.size();
    queue_.clear();
    queued_bytes_ = 0;
  }
  if (sub) sub->stop();
  publish_failed_ += dropped;
  metrics().pubsub.publish_failed.inc(dropped);
  if (dropped && opts_.log) opts_.log->warn("socketio pubsub: stopped with {} unpublished messages", dropped);
  asio::post(strand_, [self = shared_from_this()] {
    self->writer_cv_.cancel();
    self->retry_timer_.cancel();
  });
}

bool redis_channel::subscribed() const {
  std::lock_guard lock(mutex_);
  return sub_ && !stopped_ && sub_->subscribed();
}

std::size_t redis_channel::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

redis_channel_stats redis_channel::stats() const noexcept {
  redis_channel_stats s;
  s.received = received_.load();
  s.delivered = delivered_.load();
  s.filtered = filtered_.load();
  s.malformed = malformed_.load();
  s.published = published_.load();
  s.publish_failed = publish_failed_.load();
  s.rejected = rejected_.load();
  s.not_local = not_local_.load();
  return s;
}

error_code redis_channel::publish(rp::message m) {
  auto refuse = [this](error_code ec) {
    ++rejected_;
    metrics().pubsub.rejected_out.inc();
    return ec;
  };
  if (rp::host_id_of(m).empty() && !std::holds_alternative<rp::callback_message>(m)) rp::host_id_of(m) = host_id_;
  if (auto err = rp::validate(m, opts_.limits)) return refuse(err->code);
  outgoing out{channel_for(m), rp::encode(m, opts_.style)};
  if (out.payload.size() > opts_.limits.max_message_bytes) return refuse(make_error_code(rp::error::too_large));
  bool wake = false;
  bool full = false;
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return refuse(make_error_code(rp::error::stopped));
    full = queue_.size() >= opts_.max_queued || queued_bytes_ + out.payload.size() > opts_.max_queued_bytes;
    if (!full) {
      queued_bytes_ += out.payload.size();
      queue_.push_back(std::move(out));
      wake = std::exchange(writer_idle_, false);
    }
  }
  if (full) {
    log_drop("publish queue full, message refused", 1, make_error_code(rp::error::queue_full));
    return refuse(make_error_code(rp::error::queue_full));
  }
  if (wake) asio::post(strand_, [self = shared_from_this()] { self->writer_cv_.cancel(); });
  return {};
}

void redis_channel::on_payload(const redis::message& m) {
  if (m.type == redis::message::kind::pmessage) {
    // A room channel "<channel>#<nsp>#<room>": skipped before decoding unless the room has
    // members here (every instance receives every room's traffic through the pattern).
    if (!room_mode_ || m.pattern != pattern() || !m.channel.starts_with(opts_.channel + "#")) return;
    ++received_;
    metrics().pubsub.received.inc();
    const std::string_view rest = std::string_view(m.channel).substr(opts_.channel.size() + 1);
    const auto hash = rest.find('#');
    if (hash == std::string_view::npos ||
        (opts_.has_local_room && !opts_.has_local_room(rest.substr(0, hash), rest.substr(hash + 1)))) {
      ++not_local_;
      return;
    }
  } else if (m.type != redis::message::kind::message || m.channel != opts_.channel) {
    return;
  } else {
    ++received_;
    metrics().pubsub.received.inc();
  }
  auto decoded = rp::decode(m.payload, opts_.limits);
  if (auto* err = std::get_if<rp::decode_error>(&decoded)) {
    ++malformed_;
    metrics().pubsub.rejected_in.inc();
    std::uint64_t suppressed = 0;
    if (opts_.log && malformed_log_.allow(suppressed))
      opts_.log->warn("socketio pubsub: dropped a malformed message ({} at {}; {} bytes: '{}'){}", err->code.message(),
                      err->where, m.payload.size(), excerpt(m.payload),
                      suppressed ? fmt::format("; {} more since the last report", suppressed) : std::string());
    return;
  }
  auto& msg = std::get<rp::message>(decoded);
  if (!rp::should_process(msg, host_id_)) {
    ++filtered_;
    return;
  }
  ++delivered_;
  if (!on_message_) return;
  try {
    on_message_(std::move(msg));
  } catch (const std::exception& e) {
    if (opts_.log) opts_.log->error("socketio pubsub: message handler threw: {}", e.what());
  }
}

bool redis_channel::stopping() const {
  std::lock_guard lock(mutex_);
  return stopped_;
}

// `self` keeps the channel alive while the loop runs.
net::awaitable<void> redis_channel::write_loop([[maybe_unused]] std::shared_ptr<redis_channel> self) {
  for (;;) {
    std::vector<outgoing> batch;
    {
      std::lock_guard lock(mutex_);
      std::size_t bytes = 0;
      while (!queue_.empty() && batch.size() < opts_.max_batch &&
             (batch.empty() || bytes + queue_.front().payload.size() <= opts_.max_batch_bytes)) {
        bytes += queue_.front().payload.size();
        queued_bytes_ -= queue_.front().payload.size();
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      if (batch.empty()) {
        if (stopped_) co_return;
        writer_idle_ = true;
      }
    }
    if (batch.empty()) {
      // publish() cancels this wait (posted to the strand) after clearing writer_idle_.
      writer_cv_.expires_at(clock_type::time_point::max());
      co_await writer_cv_.async_wait(net::use_tuple);
      continue;
    }
    co_await send_batch(std::move(batch));
  }
}

net::awaitable<void> redis_channel::send_batch(std::vector<outgoing> batch) {
  const auto deadline = clock_type::now() + opts_.publish_timeout;
  redis::request req;
  for (auto& out : batch) {
    redis::command c;
    c.args.reserve(3);
    c.args.emplace_back("PUBLISH");
    c.args.emplace_back(std::move(out.channel));
    c.args.emplace_back(std::move(out.payload));
    // PUBLISH has no key, and a Cluster client spreads keyless commands over the masters; but
    // messages published on different nodes reach a subscriber over different cluster-bus links
    // and can overtake each other (an `emit` before the `enter_room` published ahead of it).
    // Every PUBLISH of this instance, on the shared channel and on every room channel alike, is
    // routed as the shared channel's name, so all go to one node: each channel's messages stay
    // in order, and so do an `enter_room` (shared channel) and the room emit after it (room
    // channel). Cluster pub/sub reaches every node's subscribers whichever node a message is
    // published on. Ignored outside a Cluster.
    c.route_as = opts_.channel;
    req.push(std::move(c));
  }
  const std::size_t n = req.size();
  error_code ec;
  for (int attempt = 1;; ++attempt) {
    const auto left = deadline - clock_type::now();
    if (left <= clock_type::duration::zero()) {
      ec = make_error_code(net::error::timeout);
      break;
    }
    auto resp = std::make_shared<redis::response>();
    // Each attempt sends a copy: the payloads of refused room-channel messages are re-sent.
    redis::request attempt_req = req;
    ec = co_await net::with_timeout(exec_into(client_, std::move(attempt_req), resp), left);
    if (!ec) {
      std::uint64_t refused = 0;
      std::string first_error;
      std::vector<outgoing> to_shared;  // room-channel messages an ACL refused (NOPERM)
      for (std::size_t i = 0; i < resp->size(); ++i) {
        const auto& r = (*resp)[i];
        if (!r.is_error()) continue;
        const auto& args = req.commands()[i].args;
        if (r.str.starts_with("NOPERM") && args[1] != opts_.channel) {
          to_shared.push_back({opts_.channel, args[2]});
          continue;
        }
        if (refused++ == 0) first_error = r.str;
      }
      if (!to_shared.empty()) {
        // Refused, so never delivered: sending them on the shared channel cannot duplicate.
        fall_back("PUBLISH on a room channel refused: NOPERM");
        published_ += n - refused - to_shared.size();
        metrics().pubsub.published.inc(n - refused - to_shared.size());
        co_await send_batch(std::move(to_shared));
      } else {
        published_ += n - refused;
        metrics().pubsub.published.inc(n - refused);
      }
      if (refused) {
        publish_failed_ += refused;
        metrics().pubsub.publish_failed.inc(refused);
        std::uint64_t suppressed = 0;
        if (opts_.log && drop_log_.allow(suppressed))
          opts_.log->error("socketio pubsub: Redis refused {} PUBLISH(es): {}{}", refused, first_error,
                           suppressed ? fmt::format(" ({} earlier reports suppressed)", suppressed) : std::string());
      }
      co_return;
    }
    if (attempt == 2 || stopping() || !retryable(ec) || deadline - clock_type::now() <= opts_.retry_delay) break;
    if (opts_.log) opts_.log->warn("socketio pubsub: publish failed ({}), retrying once", ec.message());
    retry_timer_.expires_after(opts_.retry_delay);
    co_await retry_timer_.async_wait(net::use_tuple);
    if (stopping()) break;
  }
  publish_failed_ += n;
  metrics().pubsub.publish_failed.inc(n);
  log_drop("publish failed, messages dropped", n, ec);
}

void redis_channel::log_drop(const std::string& what, std::uint64_t count, const error_code& ec) {
  std::uint64_t suppressed = 0;
  if (!opts_.log || !drop_log_.allow(suppressed)) return;
  opts_.log->error("socketio pubsub: {} ({} message(s): {}){}", what, count, ec.message(),
                   suppressed ? fmt::format("; {} more reports since the last one", suppressed) : std::string());
}

}  // namespace owcore::realtime::adapter
