#include "owcore/redis/io/subscriber.hpp"

#include "owcore/net/error.hpp"
#include "owcore/redis/io/node_setup.hpp"
#include "owcore/redis/error.hpp"

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

subscriber::subscriber(net::executor ex, subscriber_options opts)
    : strand_(asio::make_strand(ex)),
      opts_(std::move(opts)),
      stream_(strand_),
      parser_(opts_.max_reply_bytes),
      writer_cv_(strand_),
      sleep_(strand_) {
  read_buf_.resize(64 * 1024);
}

subscriber::~subscriber() = default;

void subscriber::start() { asio::co_spawn(strand_, run(), asio::detached); }

void subscriber::stop() {
  asio::post(strand_, [self = shared_from_this()] {
    self->stopped_ = true;
    self->stream_.close();
    self->sleep_.cancel();
    self->writer_cv_.cancel();
  });
}

void subscriber::reconnect_now() {
  asio::post(strand_, [self = shared_from_this()] {
    self->stream_.close();
    self->sleep_.cancel();
  });
}

void subscriber::subscribe(std::string channel) {
  asio::post(strand_, [self = shared_from_this(), c = std::move(channel)] {
    if (self->channels_.insert(c).second && self->connected_) self->send_one("SUBSCRIBE", c);
  });
}

void subscriber::psubscribe(std::string pattern) {
  asio::post(strand_, [self = shared_from_this(), p = std::move(pattern)] {
    if (self->patterns_.insert(p).second && self->connected_) self->send_one("PSUBSCRIBE", p);
  });
}

void subscriber::ssubscribe(std::string channel) {
  asio::post(strand_, [self = shared_from_this(), c = std::move(channel)] {
    if (self->shard_channels_.insert(c).second && self->connected_)
      self->send_one("SSUBSCRIBE", c);
  });
}

void subscriber::unsubscribe(std::string channel) {
  asio::post(strand_, [self = shared_from_this(), c = std::move(channel)] {
    if (self->channels_.erase(c) && self->connected_) self->send_one("UNSUBSCRIBE", c);
    if (self->shard_channels_.erase(c) && self->connected_) self->send_one("SUNSUBSCRIBE", c);
  });
}

void subscriber::set_error_handler(std::function<bool(const std::string& error)> handler) {
  asio::post(strand_, [self = shared_from_this(), h = std::move(handler)]() mutable {
    self->opts_.on_error = std::move(h);
  });
}

void subscriber::punsubscribe(std::string pattern) {
  asio::post(strand_, [self = shared_from_this(), p = std::move(pattern)] {
    if (self->patterns_.erase(p) && self->connected_) self->send_one("PUNSUBSCRIBE", p);
  });
}

void subscriber::send_one(std::string_view verb, std::string_view name) {
  encode_command(out_, {verb, name});
  writer_cv_.cancel();
}

void subscriber::send(std::string_view verb, const std::set<std::string>& names) {
  if (names.empty()) return;
  std::vector<std::string_view> args{verb};
  for (const auto& n : names) args.emplace_back(n);
  encode_command(out_, args);
  writer_cv_.cancel();
}

net::awaitable<void> subscriber::run() {
  auto self = shared_from_this();
  backoff bo(opts_.backoff_initial, opts_.backoff_cap);
  std::string last_error;
  while (!stopped_) {
    net::connect_options copts = opts_.node.connect;
    copts.timeout = opts_.connect_timeout;
    error_info err;
    if (opts_.resolve) {
      auto [rerr, addr] = co_await opts_.resolve();
      err = std::move(rerr);
      copts.host = addr.host;
      copts.port = addr.port;
      copts.unix_path.clear();
    }
    if (!err) {
      parser_ = reply_parser(opts_.max_reply_bytes);
      setup_options setup;
      setup.auth = opts_.node.auth;
      setup.client_name = opts_.node.client_name;  // no SELECT: pub/sub is server-wide
      err = co_await io::open_node(stream_, parser_, read_buf_, copts, setup, opts_.connect_timeout);
    }
    if (stopped_) break;
    if (err) {
      stream_.close();
      if (opts_.log && err.detail != last_error)
        opts_.log->warn("{}: {} (retrying with backoff)", opts_.log_name, err.detail);
      last_error = err.detail;
      sleep_.expires_after(bo.next());
      co_await sleep_.async_wait(net::use_tuple);
      continue;
    }
    last_error.clear();
    bo.reset();
    auto why = co_await session();
    connected_ = false;
    subscribed_ = false;
    stream_.close();
    if (stopped_) break;
    ++drops_;
    if (opts_.log)
      opts_.log->warn("{}: subscription connection to {} lost ({}); reconnecting and re-subscribing",
                      opts_.log_name, stream_.peer(), why.message());
  }
  subscribed_ = false;
}

net::awaitable<error_code> subscriber::session() {
  using namespace asio::experimental::awaitable_operators;
  connected_ = true;
  out_.clear();
  ping_outstanding_ = false;
  last_read_ = clock::now();
  send("SUBSCRIBE", channels_);
  send("PSUBSCRIBE", patterns_);
  send("SSUBSCRIBE", shard_channels_);
  if (channels_.empty() && patterns_.empty() && shard_channels_.empty()) {
    subscribed_ = true;
    if (opts_.on_subscribed) opts_.on_subscribed(drops_.load());
  } else {
    resubscribe_logged_ = false;
  }
  auto watchdog = [this]() -> net::awaitable<error_code> {
    asio::steady_timer tick(strand_);
    for (;;) {
      tick.expires_after(std::min<clock::duration>(opts_.ping_interval, std::chrono::milliseconds(250)));
      auto [ec] = co_await tick.async_wait(net::use_tuple);
      if (ec) co_return ec;
      if (clock::now() - last_read_ < opts_.ping_interval) continue;
      if (ping_outstanding_) {
        // Connected, but silent through a whole extra interval: not delivering any more.
        stream_.close();
        co_return make_error_code(net::error::timeout);
      }
      ping_outstanding_ = true;
      last_read_ = clock::now();
      encode_command(out_, {"PING"});
      writer_cv_.cancel();
    }
  };
  auto r = co_await (reader() || writer() || watchdog());
  co_return std::visit([](error_code ec) { return ec; }, r);
}

net::awaitable<error_code> subscriber::writer() {
  for (;;) {
    if (out_.empty()) {
      writer_cv_.expires_at(clock::time_point::max());
      co_await writer_cv_.async_wait(net::use_tuple);
      if (!stream_.is_open() || stopped_) co_return make_error_code(error::connection_closed);
      continue;
    }
    writing_.swap(out_);
    out_.clear();
    auto [ec, n] = co_await stream_.write(asio::buffer(writing_));
    writing_.clear();
    if (ec) co_return ec;
  }
}

net::awaitable<error_code> subscriber::reader() {
  for (;;) {
    error_code ec;
    while (auto r = parser_.next(ec))
      if (!handle(*r)) co_return make_error_code(error::unexpected_reply);
    if (ec) co_return ec;
    auto [rec, n] = co_await stream_.read_some(asio::buffer(read_buf_));
    if (rec) co_return rec;
    last_read_ = clock::now();
    ping_outstanding_ = false;  // any traffic proves the connection delivers
    if (auto fec = parser_.feed(std::string_view(read_buf_.data(), n))) co_return fec;
  }
}

bool subscriber::handle(const reply& r) {
  if (r.is_error()) {
    // A subscriber sends nothing but (P|S)SUBSCRIBE, their UNSUBSCRIBEs and PING, so an error
    // reply answers a subscription; its owner may accept it (an ACL refusing one pattern).
    if (opts_.on_error && opts_.on_error(r.str)) return true;
    if (opts_.log) opts_.log->warn("{}: server error: {}", opts_.log_name, r.str);
    return false;  // e.g. MOVED for SSUBSCRIBE after a slot migration: reconnect and re-resolve
  }
  if (r.type != reply::kind::array || r.elements.empty()) return true;
  const auto& e = r.elements;
  const std::string& kind = e[0].str;
  if (kind == "message" && e.size() == 3) {
    if (opts_.on_message) opts_.on_message(message{message::kind::message, e[1].str, {}, e[2].str});
  } else if (kind == "pmessage" && e.size() == 4) {
    if (opts_.on_message)
      opts_.on_message(message{message::kind::pmessage, e[2].str, e[1].str, e[3].str});
  } else if (kind == "smessage" && e.size() == 3) {
    if (opts_.on_message) opts_.on_message(message{message::kind::smessage, e[1].str, {}, e[2].str});
  } else if (kind == "subscribe" || kind == "psubscribe" || kind == "ssubscribe") {
    if (!subscribed_) {
      subscribed_ = true;
      if (opts_.log && drops_ > 0 && !resubscribe_logged_) {
        resubscribe_logged_ = true;
        opts_.log->info("{}: re-subscribed on {} after {} drop(s)", opts_.log_name, stream_.peer(),
                        drops_.load());
      }
      if (opts_.on_subscribed) opts_.on_subscribed(drops_.load());
    }
  } else if (kind == "sunsubscribe" && shard_channels_.contains(e.size() > 1 ? e[1].str : "")) {
    // The server dropped a shard subscription we still want (its slot moved): start over.
    return false;
  }
  return true;  // pong, unsubscribe confirmations
}

}  // namespace owcore::redis
