#include "owcore/redis/io/connection.hpp"

#include "owcore/net/error.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>

namespace owcore::redis {

namespace asio = boost::asio;
using boost::system::error_code;
using clock = std::chrono::steady_clock;

namespace {

io::supervisor_options supervisor_options_of(const connection_options& o) {
  io::supervisor_options s;
  s.node = o.node;
  s.resolve = o.resolve;
  s.setup.auth = o.node.auth;
  s.setup.db = o.select_db ? o.node.db : 0;
  s.setup.client_name = o.node.client_name;
  s.setup.require_master = o.require_master;
  s.connect_timeout = o.connect_timeout;
  s.setup_timeout = o.reply_timeout;
  s.backoff_initial = o.backoff_initial;
  s.backoff_cap = o.backoff_cap;
  s.max_reply_bytes = o.max_reply_bytes;
  s.log = o.log;
  s.metrics = o.metrics;
  s.log_name = o.log_name;
  return s;
}

multiplexer_options multiplexer_options_of(const connection_options& o) {
  multiplexer_options m;
  m.max_queued = o.max_queued;
  m.max_write_batch = o.max_write_batch;
  return m;
}

}  // namespace

connection::connection(net::executor ex, connection_options opts)
    : strand_(net::make_strand(ex)),
      opts_(std::move(opts)),
      sup_(strand_, supervisor_options_of(opts_)),
      mux_(multiplexer_options_of(opts_)),
      writer_cv_(strand_) {}

connection::~connection() = default;

void connection::start() { asio::co_spawn(strand_, run(), asio::detached); }

void connection::stop() {
  asio::post(strand_, [self = shared_from_this()] {
    if (self->stopped_) return;
    self->stopped_ = true;
    self->state_ = connection_state::stopped;
    self->sup_.stop();
    self->writer_cv_.cancel();
    self->mux_.stop();
  });
}

void connection::reconnect_now() {
  asio::post(strand_, [self = shared_from_this()] { self->sup_.reconnect_now(); });
}

net::awaitable<std::pair<error_code, response>> connection::exec(request req) {
  auto [ec, resp] = co_await async_exec(std::move(req), net::use_tuple);
  co_return std::pair{ec, std::move(resp)};
}

std::uint64_t connection::next_request_id() noexcept {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

void connection::submit(request req, command_view view, std::uint64_t id,
                        std::unique_ptr<request_sink> done) {
  bool first = false;
  {
    std::unique_lock lock(inbox_mutex_);
    // The multiplexer bounds queued requests; the inbox is bounded the same way.
    if (inbox_.size() >= opts_.max_queued) {
      lock.unlock();
      done->complete(error::queue_full, {});
      return;
    }
    first = inbox_.empty();
    inbox_.push_back(submission{std::move(req), view, id, std::move(done)});
  }
  if (first)
    asio::post(strand_, asio::bind_allocator(io::recycling_allocator<void>(),
                                             [self = shared_from_this()] { self->drain_inbox(); }));
}

void connection::drain_inbox() {
  {
    std::lock_guard lock(inbox_mutex_);
    inbox_.swap(draining_);
  }
  const auto now = clock::now();
  bool wake = false;
  for (auto& s : draining_) {
    if (!s.view.args.empty()) wake = mux_.add(s.view, s.id, std::move(s.sink), now) || wake;
    else wake = mux_.add(std::move(s.req), s.id, std::move(s.sink), now) || wake;
  }
  draining_.clear();
  if (wake) writer_cv_.cancel();
}

void connection::cancel(std::uint64_t id) {
  asio::post(strand_, [self = shared_from_this(), id] {
    self->mux_.cancel(id, asio::error::operation_aborted);
  });
}

net::awaitable<void> connection::run() {
  auto self = shared_from_this();
  co_await sup_.run(*this);
  state_ = connection_state::stopped;
  mux_.stop();
}

void connection::on_attempt() {
  if (!stopped_) state_ = connection_state::connecting;
}

void connection::on_connect_failed(const error_info&) {
  state_ = connection_state::backing_off;
  mux_.expire_queued(clock::now(), opts_.queue_timeout, net::error::timeout);
}

void connection::on_connected() { state_ = connection_state::ready; }

void connection::on_lost(error_code) { mux_.on_connection_lost(); }

net::awaitable<error_code> connection::serve() {
  using namespace asio::experimental::awaitable_operators;
  auto result = co_await (reader() || writer() || watchdog());
  co_return std::visit([](error_code ec) { return ec; }, result);
}

net::awaitable<error_code> connection::watchdog() {
  asio::steady_timer tick(strand_);
  for (;;) {
    tick.expires_after(std::chrono::milliseconds(250));
    auto [ec] = co_await tick.async_wait(net::use_tuple);
    if (ec) co_return ec;
    const auto now = clock::now();
    const auto oldest = mux_.oldest_written();
    if (oldest && opts_.reply_timeout > clock::duration::zero() &&
        now - *oldest > opts_.reply_timeout) {
      sup_.stream().close();
      co_return make_error_code(net::error::timeout);
    }
    if (opts_.health_check_interval > clock::duration::zero() && mux_.idle() &&
        now - sup_.last_read() > opts_.health_check_interval && mux_.add_ping(now))
      writer_cv_.cancel();
  }
}

net::awaitable<error_code> connection::reader() {
  for (;;) {
    error_code ec;
    while (auto r = sup_.parser().next(ec))
      if (mux_.on_reply(std::move(*r)) == multiplexer::reply_result::unsolicited)
        co_return make_error_code(error::unexpected_reply);
    if (ec) co_return ec;
    if (auto rec = co_await sup_.read_some()) co_return rec;
  }
}

net::awaitable<error_code> connection::writer() {
  for (;;) {
    const auto bytes = mux_.prepare_write(clock::now());
    if (bytes.empty()) {
      writer_cv_.expires_at(clock::time_point::max());
      co_await writer_cv_.async_wait(net::use_tuple);
      if (!sup_.stream().is_open()) co_return make_error_code(error::connection_closed);
      continue;
    }
    auto [ec, n] = co_await sup_.stream().write(asio::buffer(bytes.data(), bytes.size()));
    if (ec) co_return ec;
    mux_.commit_write(clock::now());
    writes_.store(mux_.writes(), std::memory_order_relaxed);
    commands_written_.store(mux_.commands_written(), std::memory_order_relaxed);
  }
}

}  // namespace owcore::redis
