#include "owcore/redis/io/connection.hpp"

#include "owcore/net/error.hpp"
#include "owcore/net/timeout.hpp"
#include "owcore/redis/io/node_setup.hpp"
#include "owcore/redis/error.hpp"

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <spdlog/logger.h>


namespace owcore::redis {

namespace asio = boost::asio;
using boost::system::error_code;
using clock = std::chrono::steady_clock;

struct connection::pending {
  request req;
  std::size_t expected = 0;
  response replies;
  std::unique_ptr<completion> handler;  ///< null once completed or cancelled
  std::uint64_t id = 0;
  bool internal = false;  ///< a health-check PING: no caller waits for it
  unsigned attempts = 0;
  clock::time_point enqueued;
  clock::time_point written_at;
};

connection::connection(net::executor ex, connection_options opts)
    : strand_(asio::make_strand(ex)),
      opts_(std::move(opts)),
      stream_(strand_),
      parser_(opts_.max_reply_bytes),
      writer_cv_(strand_),
      sleep_(strand_) {
  read_buf_.resize(64 * 1024);
}

connection::~connection() = default;

void connection::start() {
  asio::co_spawn(strand_, run(), asio::detached);
}

std::string connection::peer() const {
  std::lock_guard lock(peer_mutex_);
  return peer_;
}

void connection::stop() {
  asio::post(strand_, [self = shared_from_this()] {
    if (self->stopped_) return;
    self->stopped_ = true;
    self->state_ = connection_state::stopped;
    self->stream_.close();
    self->sleep_.cancel();
    self->writer_cv_.cancel();
    for (auto& p : self->queued_) self->complete(*p, error::stopped);
    self->queued_.clear();
  });
}

void connection::reconnect_now() {
  asio::post(strand_, [self = shared_from_this()] {
    if (self->stopped_) return;
    self->stream_.close();
    self->sleep_.cancel();
  });
}

net::awaitable<std::pair<error_code, response>> connection::exec(request req) {
  auto [ec, resp] = co_await async_exec(std::move(req), net::use_tuple);
  co_return std::pair{ec, std::move(resp)};
}

std::uint64_t connection::next_request_id() noexcept {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

void connection::submit(request req, std::uint64_t id, std::unique_ptr<completion> done) {
  asio::post(strand_, [self = shared_from_this(), req = std::move(req), id,
                       done = std::move(done)]() mutable {
    auto p = std::make_unique<pending>();
    p->expected = req.size();
    p->req = std::move(req);
    p->handler = std::move(done);
    p->id = id;
    p->enqueued = clock::now();
    if (self->stopped_) return self->complete(*p, error::stopped);
    if (p->expected == 0) return self->complete(*p, {});
    if (self->queued_.size() + self->in_flight_.size() >= self->opts_.max_queued)
      return self->complete(*p, error::queue_full);
    self->queued_.push_back(std::move(p));
    // A non-empty queue means the writer is already awake or writing.
    if (self->queued_.size() == 1) self->writer_cv_.cancel();
  });
}

void connection::cancel(std::uint64_t id) {
  asio::post(strand_, [self = shared_from_this(), id] {
    for (auto* q : {&self->queued_, &self->in_flight_})
      for (auto& entry : *q)
        if (entry->id == id) return self->cancel_pending(entry.get());
  });
}

void connection::cancel_pending(pending* p) {
  complete(*p, asio::error::operation_aborted);
  // Not yet written: forget it. Written: it stays in flight so its reply is consumed in order.
  std::erase_if(queued_, [p](const auto& q) { return q.get() == p; });
}

void connection::complete(pending& p, error_code ec) {
  if (!p.handler) return;
  auto h = std::move(p.handler);
  h->complete(ec, std::move(p.replies));
}

void connection::expire_queued() {
  const auto now = clock::now();
  std::erase_if(queued_, [&](auto& p) {
    if (now - p->enqueued < opts_.queue_timeout) return false;
    complete(*p, net::error::timeout);
    return true;
  });
}

net::awaitable<void> connection::run() {
  auto self = shared_from_this();
  backoff bo(opts_.backoff_initial, opts_.backoff_cap);
  bool outage_logged = false;
  while (!stopped_) {
    state_ = connection_state::connecting;
    auto err = co_await open();
    if (stopped_) break;
    if (err) {
      stream_.close();
      if (opts_.log && (err.detail != last_error_ || bo.attempts() == 0))
        opts_.log->warn("{}: {} (retrying with backoff)", opts_.log_name, err.detail);
      last_error_ = err.detail;
      outage_logged = true;
      state_ = connection_state::backing_off;
      expire_queued();
      sleep_.expires_after(bo.next());
      co_await sleep_.async_wait(net::use_tuple);
      continue;
    }
    if (opts_.log) {
      if (outage_logged)
        opts_.log->info("{}: reconnected to {} ({} failed attempt(s) in between)", opts_.log_name,
                        peer(), bo.attempts());
      else
        opts_.log->debug("{}: connected to {}", opts_.log_name, peer());
    }
    bo.reset();
    last_error_.clear();
    outage_logged = false;
    ++connects_;
    state_ = connection_state::ready;
    auto why = co_await serve();
    on_disconnect(why);
    if (!stopped_ && opts_.log) {
      opts_.log->warn("{}: connection to {} lost: {}", opts_.log_name, peer(), why.message());
      outage_logged = true;
    }
  }
  state_ = connection_state::stopped;
  on_disconnect(error::stopped);
  for (auto& p : queued_) complete(*p, error::stopped);
  queued_.clear();
}

net::awaitable<error_info> connection::open() {
  net::connect_options copts = opts_.node.connect;
  copts.timeout = opts_.connect_timeout;
  if (opts_.resolve) {
    auto [err, addr] = co_await opts_.resolve();
    if (err) co_return err;
    copts.host = addr.host;
    copts.port = addr.port;
    copts.unix_path.clear();
  }
  {
    std::lock_guard lock(peer_mutex_);
    peer_ = io::peer_name(copts);
  }
  parser_ = reply_parser(opts_.max_reply_bytes);
  setup_options setup;
  setup.auth = opts_.node.auth;
  setup.db = opts_.select_db ? opts_.node.db : 0;
  setup.client_name = opts_.node.client_name;
  setup.require_master = opts_.require_master;
  co_return co_await io::open_node(stream_, parser_, read_buf_, copts, setup, opts_.reply_timeout);
}

net::awaitable<error_code> connection::serve() {
  using namespace asio::experimental::awaitable_operators;
  last_read_ = clock::now();
  health_ping_in_flight_ = false;
  auto watchdog = [this]() -> net::awaitable<error_code> {
    asio::steady_timer tick(strand_);
    const auto period = std::chrono::milliseconds(250);
    for (;;) {
      tick.expires_after(period);
      auto [ec] = co_await tick.async_wait(net::use_tuple);
      if (ec) co_return ec;
      const auto now = clock::now();
      if (!in_flight_.empty() && opts_.reply_timeout > clock::duration::zero() &&
          now - in_flight_.front()->written_at > opts_.reply_timeout) {
        stream_.close();
        co_return make_error_code(net::error::timeout);
      }
      if (opts_.health_check_interval > clock::duration::zero() && !health_ping_in_flight_ &&
          in_flight_.empty() && queued_.empty() && now - last_read_ > opts_.health_check_interval) {
        auto p = std::make_unique<pending>();
        p->req.push("PING");
        p->expected = 1;
        p->internal = true;
        p->enqueued = now;
        health_ping_in_flight_ = true;
        queued_.push_back(std::move(p));
        writer_cv_.cancel();
      }
    }
  };
  auto result = co_await (reader() || writer() || watchdog());
  co_return std::visit([](error_code ec) { return ec; }, result);
}

net::awaitable<error_code> connection::reader() {
  for (;;) {
    error_code ec;
    while (auto r = parser_.next(ec)) {
      if (in_flight_.empty()) co_return make_error_code(error::unexpected_reply);
      auto& front = *in_flight_.front();
      front.replies.push_back(std::move(*r));
      if (front.replies.size() == front.expected) {
        auto done = std::move(in_flight_.front());
        in_flight_.pop_front();
        if (done->internal) health_ping_in_flight_ = false;
        complete(*done, {});
      }
    }
    if (ec) co_return ec;
    auto [rec, n] = co_await stream_.read_some(asio::buffer(read_buf_));
    if (rec) co_return rec;
    last_read_ = clock::now();
    if (auto fec = parser_.feed(std::string_view(read_buf_.data(), n))) co_return fec;
  }
}

net::awaitable<error_code> connection::writer() {
  for (;;) {
    if (queued_.empty()) {
      writer_cv_.expires_at(clock::time_point::max());
      co_await writer_cv_.async_wait(net::use_tuple);
      if (!stream_.is_open()) co_return make_error_code(error::connection_closed);
      continue;
    }
    write_buf_.clear();
    const auto now = clock::now();
    while (!queued_.empty() && write_buf_.size() < opts_.max_write_batch) {
      auto p = std::move(queued_.front());
      queued_.pop_front();
      if (!p->handler && !p->internal) continue;
      p->req.encode(write_buf_);
      ++p->attempts;
      p->written_at = now;
      in_flight_.push_back(std::move(p));
    }
    if (write_buf_.empty()) continue;
    auto [ec, n] = co_await stream_.write(asio::buffer(write_buf_));
    if (ec) co_return ec;
  }
}

void connection::on_disconnect(error_code) {
  stream_.close();
  // Oldest first back to the head of the queue, so a retried pipeline keeps its order.
  for (auto it = in_flight_.rbegin(); it != in_flight_.rend(); ++it) {
    auto& p = *it;
    if (p->internal || !p->handler) continue;
    if (!stopped_ && p->req.policy() == retry_policy::idempotent && p->attempts < 3) {
      p->replies.clear();
      queued_.push_front(std::move(p));
    } else {
      complete(*p, error::unknown_outcome);
    }
  }
  in_flight_.clear();
  health_ping_in_flight_ = false;
}

}  // namespace owcore::redis
