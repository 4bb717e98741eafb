#include "owcore/redis/io/subscriber.hpp"

#include "owcore/net/error.hpp"
#include "owcore/redis/error.hpp"
#include "owcore/redis/metrics.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/logger.h>

namespace owcore::redis {

namespace asio = boost::asio;
using boost::system::error_code;
using clock = std::chrono::steady_clock;

namespace {

io::supervisor_options supervisor_options_of(const subscriber_options& o) {
  io::supervisor_options s;
  s.node = o.node;
  s.resolve = o.resolve;
  s.setup.auth = o.node.auth;
  s.setup.client_name = o.node.client_name;  // no SELECT: pub/sub is server-wide
  s.connect_timeout = o.connect_timeout;
  s.setup_timeout = o.connect_timeout;
  s.backoff_initial = o.backoff_initial;
  s.backoff_cap = o.backoff_cap;
  s.max_reply_bytes = o.max_reply_bytes;
  s.log = o.log;
  s.log_name = o.log_name;
  s.metrics = o.metrics;
  return s;
}

}  // namespace

subscriber::subscriber(net::executor ex, subscriber_options opts)
    : strand_(net::make_strand(ex)),
      opts_(std::move(opts)),
      sup_(strand_, supervisor_options_of(opts_)),
      writer_cv_(strand_) {}

subscriber::~subscriber() = default;

void subscriber::start() { asio::co_spawn(strand_, run(), asio::detached); }

void subscriber::stop() {
  asio::post(strand_, [self = shared_from_this()] {
    self->stopped_ = true;
    self->sup_.stop();
    self->writer_cv_.cancel();
  });
}

void subscriber::reconnect_now() {
  asio::post(strand_, [self = shared_from_this()] { self->sup_.reconnect_now(); });
}

void subscriber::add(subscription_kind k, std::string name) {
  asio::post(strand_, [self = shared_from_this(), k, n = std::move(name)]() mutable {
    if (!self->tracker_.add(k, n) || !self->connected_) return;
    subscription_tracker::subscribe_command(self->out_, k, n);
    self->wake_writer();
  });
}

void subscriber::remove(subscription_kind k, const std::string& name) {
  if (!tracker_.remove(k, name) || !connected_) return;
  subscription_tracker::unsubscribe_command(out_, k, name);
  wake_writer();
}

void subscriber::subscribe(std::string channel) { add(subscription_kind::channel, std::move(channel)); }
void subscriber::psubscribe(std::string pattern) { add(subscription_kind::pattern, std::move(pattern)); }
void subscriber::ssubscribe(std::string channel) { add(subscription_kind::shard, std::move(channel)); }

void subscriber::unsubscribe(std::string channel) {
  asio::post(strand_, [self = shared_from_this(), c = std::move(channel)] {
    self->remove(subscription_kind::channel, c);
    self->remove(subscription_kind::shard, c);
  });
}

void subscriber::punsubscribe(std::string pattern) {
  asio::post(strand_, [self = shared_from_this(), p = std::move(pattern)] {
    self->remove(subscription_kind::pattern, p);
  });
}

void subscriber::set_error_handler(std::function<bool(const std::string& error)> handler) {
  asio::post(strand_, [self = shared_from_this(), h = std::move(handler)]() mutable {
    self->opts_.on_error = std::move(h);
  });
}

void subscriber::wake_writer() { writer_cv_.cancel(); }

net::awaitable<void> subscriber::run() {
  auto self = shared_from_this();
  co_await sup_.run(*this);
  subscribed_ = false;
}

void subscriber::on_lost(error_code) {
  connected_ = false;
  subscribed_ = false;
  if (!stopped_) {
    ++drops_;
    if (opts_.metrics) opts_.metrics->subscriber_drops.inc();
  }
}

void subscriber::mark_subscribed() {
  subscribed_ = true;
  if (opts_.metrics && drops_ > 0) opts_.metrics->subscriber_recoveries.inc();
  if (opts_.log && drops_ > 0 && !resubscribe_logged_) {
    resubscribe_logged_ = true;
    opts_.log->info("{}: re-subscribed on {} after {} drop(s)", opts_.log_name, sup_.peer(),
                    drops_.load());
  }
  if (opts_.on_subscribed) opts_.on_subscribed(drops_.load());
}

net::awaitable<error_code> subscriber::serve() {
  using namespace asio::experimental::awaitable_operators;
  connected_ = true;
  out_.clear();
  ping_outstanding_ = false;
  if (tracker_.resubscribe_commands(out_) == 0) {
    subscribed_ = true;
    if (opts_.on_subscribed) opts_.on_subscribed(drops_.load());
  } else {
    resubscribe_logged_ = false;
  }
  auto r = co_await (reader() || writer() || watchdog());
  co_return std::visit([](error_code ec) { return ec; }, r);
}

net::awaitable<error_code> subscriber::watchdog() {
  asio::steady_timer tick(strand_);
  auto last_ping = clock::time_point{};
  for (;;) {
    tick.expires_after(std::min<clock::duration>(opts_.ping_interval, std::chrono::milliseconds(250)));
    auto [ec] = co_await tick.async_wait(net::use_tuple);
    if (ec) co_return ec;
    const auto since = std::max(sup_.last_read(), last_ping);
    if (clock::now() - since < opts_.ping_interval) continue;
    if (ping_outstanding_) {
      // Connected, but silent through a whole extra interval: not delivering any more.
      sup_.stream().close();
      co_return make_error_code(net::error::timeout);
    }
    ping_outstanding_ = true;
    last_ping = clock::now();
    encode_command(out_, {"PING"});
    wake_writer();
  }
}

net::awaitable<error_code> subscriber::writer() {
  for (;;) {
    if (out_.empty()) {
      writer_cv_.expires_at(clock::time_point::max());
      co_await writer_cv_.async_wait(net::use_tuple);
      if (!sup_.stream().is_open() || stopped_) co_return make_error_code(error::connection_closed);
      continue;
    }
    writing_.swap(out_);
    out_.clear();
    auto [ec, n] = co_await sup_.stream().write(asio::buffer(writing_));
    writing_.clear();
    if (ec) co_return ec;
  }
}

net::awaitable<error_code> subscriber::reader() {
  for (;;) {
    error_code ec;
    while (auto r = sup_.parser().next(ec))
      if (!handle(std::move(*r))) co_return make_error_code(error::unexpected_reply);
    if (ec) co_return ec;
    if (auto rec = co_await sup_.read_some()) co_return rec;
    ping_outstanding_ = false;  // any traffic proves the connection delivers
  }
}

bool subscriber::handle(reply r) {
  auto ev = tracker_.classify(std::move(r));
  switch (ev.type) {
    case push_event::kind::message:
      if (opts_.metrics) opts_.metrics->pubsub_messages.inc();
      if (opts_.on_message) opts_.on_message(ev.msg);
      return true;
    case push_event::kind::subscribed:
      if (!subscribed_) mark_subscribed();
      return true;
    case push_event::kind::error:
      // A subscriber sends nothing but (P|S)SUBSCRIBE, their UNSUBSCRIBEs and PING, so an error
      // reply answers a subscription; its owner may accept it (an ACL refusing one pattern).
      if (opts_.on_error && opts_.on_error(ev.text)) return true;
      if (opts_.log) opts_.log->warn("{}: server error: {}", opts_.log_name, ev.text);
      return false;  // e.g. MOVED for SSUBSCRIBE after a slot migration: reconnect, re-resolve
    case push_event::kind::lost_shard:
      return false;  // the server dropped a shard subscription still wanted: start over
    case push_event::kind::unsubscribed:
    case push_event::kind::other:
      return true;
  }
  return true;
}

}  // namespace owcore::redis
