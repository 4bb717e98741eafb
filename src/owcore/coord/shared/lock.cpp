#include "owcore/coord/shared/lock.hpp"

#include "owcore/base/random.hpp"
#include "owcore/base/uuid.hpp"
#include "owcore/coord/shared/failure.hpp"
#include "owcore/coord/shared/keys.hpp"
#include "owcore/net/timeout.hpp"
#include "owcore/redis/error.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/logger.h>

namespace owcore::coord::shared {

namespace asio = boost::asio;
using boost::system::error_code;
using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

using detail::fail;

// Renew and release: Open WebUI's owner-checked scripts (docs/wire.md, "Locks"), in milliseconds.
constexpr std::string_view renew_script = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
else
  return 0
end
)lua";

constexpr std::string_view release_script = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
else
  return 0
end
)lua";

milliseconds at_least_1ms(milliseconds ttl) {
  return ttl < milliseconds(1) ? milliseconds(1) : ttl;
}

class memory_lock final : public owner_lock {
 public:
  memory_lock(std::shared_ptr<memory_lock_table> table, std::string name, milliseconds ttl)
      : table_(std::move(table)),
        name_(std::move(name)),
        owner_(make_owner_token()),
        ttl_(at_least_1ms(ttl)) {}

  const std::string& name() const noexcept override { return name_; }
  const std::string& owner() const noexcept override { return owner_; }
  milliseconds ttl() const noexcept override { return ttl_; }

  net::awaitable<result<bool>> acquire() override {
    co_return table_->try_acquire(name_, owner_, ttl_);
  }
  net::awaitable<result<bool>> renew() override { co_return table_->renew(name_, owner_, ttl_); }
  net::awaitable<result<bool>> release() override { co_return table_->release(name_, owner_); }

 private:
  std::shared_ptr<memory_lock_table> table_;
  std::string name_;
  std::string owner_;
  milliseconds ttl_;
};

class redis_lock final : public owner_lock {
 public:
  redis_lock(std::shared_ptr<redis::client> client, std::string key, milliseconds ttl)
      : client_(std::move(client)),
        key_(std::move(key)),
        owner_(make_owner_token()),
        ttl_(at_least_1ms(ttl)) {}

  const std::string& name() const noexcept override { return key_; }
  const std::string& owner() const noexcept override { return owner_; }
  milliseconds ttl() const noexcept override { return ttl_; }

  net::awaitable<result<bool>> acquire() override {
    redis::request req;
    req.push("SET", redis::key(key_), owner_, "NX", "PX", ttl_.count());
    auto r = co_await run(std::move(req));
    if (!r) co_return fail(r.error());
    if (r->is_nil()) co_return false;
    if (r->is_status("OK")) co_return true;
    co_return fail(make_error_code(error::unexpected_reply));
  }

  net::awaitable<result<bool>> renew() override {
    std::vector<std::string> keys{key_};
    std::vector<std::string> args{owner_, std::to_string(ttl_.count())};
    redis::request req;
    req.eval(renew_script, keys, args).idempotent();
    co_return integer_is_one(co_await run(std::move(req)));
  }

  net::awaitable<result<bool>> release() override {
    std::vector<std::string> keys{key_};
    std::vector<std::string> args{owner_};
    redis::request req;
    req.eval(release_script, keys, args);
    co_return integer_is_one(co_await run(std::move(req)));
  }

 private:
  net::awaitable<result<redis::reply>> run(redis::request req) {
    auto [ec, rep] = co_await client_->exec_one(std::move(req));
    if (ec) co_return fail(ec);
    if (rep.is_error()) co_return fail(redis::reply_error(rep.str));
    co_return std::move(rep);
  }

  static result<bool> integer_is_one(const result<redis::reply>& r) {
    if (!r) return fail(r.error());
    if (r->type != redis::reply::kind::integer)
      return fail(make_error_code(error::unexpected_reply));
    return r->integer == 1;
  }

  std::shared_ptr<redis::client> client_;
  std::string key_;
  std::string owner_;
  milliseconds ttl_;
};

// Cancellation in the keeper: `||` cancels the losing branch (terminal cancellation). Its
// pending operation completes with operation_aborted and, Asio's default, its next co_await
// throws; the checks below only decide what to count and log on the way out.
bool is_cancelled(const asio::cancellation_state& cs) {
  return cs.cancelled() != asio::cancellation_type::none;
}

}  // namespace

std::string make_owner_token() { return base::uuid4(); }

// --- memory_lock_table -----------------------------------------------------------------------

bool memory_lock_table::try_acquire(const std::string& name, const std::string& owner,
                                    milliseconds ttl) {
  std::lock_guard lock(mutex_);
  const auto now = clock_type::now();
  auto it = locks_.find(name);
  if (it != locks_.end() && it->second.expires > now) return false;
  locks_[name] = entry{owner, now + ttl};
  return true;
}

bool memory_lock_table::renew(const std::string& name, const std::string& owner, milliseconds ttl) {
  std::lock_guard lock(mutex_);
  const auto now = clock_type::now();
  auto it = locks_.find(name);
  if (it == locks_.end() || it->second.expires <= now || it->second.owner != owner) return false;
  it->second.expires = now + ttl;
  return true;
}

bool memory_lock_table::release(const std::string& name, const std::string& owner) {
  std::lock_guard lock(mutex_);
  auto it = locks_.find(name);
  if (it == locks_.end() || it->second.expires <= clock_type::now() || it->second.owner != owner)
    return false;
  locks_.erase(it);
  return true;
}

std::optional<std::string> memory_lock_table::holder(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto it = locks_.find(name);
  if (it == locks_.end() || it->second.expires <= clock_type::now()) return std::nullopt;
  return it->second.owner;
}

void memory_lock_table::erase(const std::string& name) {
  std::lock_guard lock(mutex_);
  locks_.erase(name);
}

std::shared_ptr<owner_lock> make_memory_lock(std::shared_ptr<memory_lock_table> table,
                                             std::string name, milliseconds ttl) {
  return std::make_shared<memory_lock>(std::move(table), std::move(name), ttl);
}

std::shared_ptr<owner_lock> make_redis_lock(const redis_backend& backend, std::string_view name,
                                            milliseconds ttl) {
  return std::make_shared<redis_lock>(backend.client, keys::key(backend.prefix, name), ttl);
}

// --- lock_keeper -----------------------------------------------------------------------------

lock_keeper::lock_keeper(net::executor ex, std::shared_ptr<owner_lock> lock, job work,
                         lock_keeper_options options)
    : strand_(asio::make_strand(ex)),
      lock_(std::move(lock)),
      work_(std::move(work)),
      opts_(std::move(options)),
      rng_(base::random_u64()),
      stop_timer_(strand_, clock_type::time_point::max()),
      done_timer_(strand_, clock_type::time_point::max()) {
  const milliseconds ttl = lock_->ttl();
  const milliseconds third = std::max(ttl / 3, milliseconds(1));
  renew_every_ = (opts_.renew_interval <= milliseconds(0) || opts_.renew_interval > third)
                     ? third
                     : opts_.renew_interval;
  retry_min_ =
      opts_.retry_min > milliseconds(0) ? opts_.retry_min : std::max(ttl / 4, milliseconds(1));
  retry_max_ =
      opts_.retry_max > milliseconds(0) ? opts_.retry_max : std::max(ttl / 2, milliseconds(1));
  if (retry_max_ < retry_min_) retry_max_ = retry_min_;
  op_timeout_ = opts_.op_timeout > milliseconds(0) ? opts_.op_timeout : renew_every_;
  if (opts_.period < milliseconds(0)) opts_.period = milliseconds(0);
}

std::shared_ptr<lock_keeper> lock_keeper::start(net::executor ex, std::shared_ptr<owner_lock> lock,
                                                job work, lock_keeper_options options) {
  auto self = std::make_shared<lock_keeper>(std::move(ex), std::move(lock), std::move(work),
                                            std::move(options));
  asio::co_spawn(
      self->strand_, [self]() { return self->run(); },
      [self](std::exception_ptr e) {
        if (!e || !self->opts_.log) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& err) {
          self->opts_.log->error("{}: stopped by an exception: {}", self->opts_.log_name,
                                 err.what());
        }
      });
  return self;
}

void lock_keeper::stop() {
  asio::post(strand_, [self = shared_from_this()] {
    self->stop_requested_ = true;
    self->stop_timer_.cancel();
  });
}

net::awaitable<void> lock_keeper::wait_stopped() {
  // Named, not a temporary of the co_await expression (g++ 12 destroys those twice).
  auto waiter = [self = shared_from_this()]() -> net::awaitable<void> {
    if (!self->done_) co_await self->done_timer_.async_wait(net::use_tuple);
  };
  co_await asio::co_spawn(strand_, std::move(waiter), asio::use_awaitable);
}

lock_keeper_stats lock_keeper::stats() const noexcept {
  constexpr auto r = std::memory_order_relaxed;
  return lock_keeper_stats{counters_.attempts.load(r),  counters_.acquisitions.load(r),
                           counters_.renewals.load(r),  counters_.renew_errors.load(r),
                           counters_.losses.load(r),    counters_.runs.load(r),
                           counters_.job_errors.load(r)};
}

net::awaitable<void> lock_keeper::run() {
  using namespace asio::experimental::awaitable_operators;
  for (;;) {
    try {
      co_await (contend() || wait_stop());
    } catch (const std::exception& e) {
      // contend() ends only through stop or a bug (the job's exceptions are caught below it).
      if (opts_.log) opts_.log->error("{}: {}; restarting", opts_.log_name, e.what());
    }
    if (stop_requested_) break;
    if (holding_.exchange(false)) co_await timed(lock_->release());  // owner-checked
    co_await (sleep(retry_max_) || wait_stop());
    if (stop_requested_) break;
  }
  if (holding_.exchange(false)) {
    auto r = co_await timed(lock_->release());
    if (opts_.log) {
      if (!r)
        opts_.log->warn("{}: releasing {} failed: {}", opts_.log_name, lock_->name(),
                        r.error().message());
      else opts_.log->info("{}: released {}", opts_.log_name, lock_->name());
    }
  }
  done_ = true;
  done_timer_.cancel();
}

net::awaitable<void> lock_keeper::wait_stop() {
  if (!stop_requested_) co_await stop_timer_.async_wait(net::use_tuple);
}

net::awaitable<void> lock_keeper::contend() {
  const auto cs = co_await asio::this_coro::cancellation_state;
  for (;;) {
    const auto sent = clock_type::now();
    counters_.attempts.fetch_add(1, std::memory_order_relaxed);
    auto r = co_await timed(lock_->acquire());
    if (is_cancelled(cs)) co_return;
    if (r && *r) {
      counters_.acquisitions.fetch_add(1, std::memory_order_relaxed);
      holding_.store(true, std::memory_order_release);
      if (opts_.log) opts_.log->info("{}: acquired {}", opts_.log_name, lock_->name());
      co_await hold(sent);
      if (is_cancelled(cs)) co_return;
      holding_.store(false, std::memory_order_release);
    } else if (!r && opts_.log) {
      opts_.log->warn("{}: acquiring {} failed: {}", opts_.log_name, lock_->name(),
                      r.error().message());
    }
    std::uniform_int_distribution<std::int64_t> pick(retry_min_.count(), retry_max_.count());
    if (!co_await sleep(milliseconds(pick(rng_)))) co_return;
  }
}

net::awaitable<void> lock_keeper::hold(clock_type::time_point acquired_at) {
  using namespace asio::experimental::awaitable_operators;
  co_await (work_loop() || renew_loop(acquired_at + lock_->ttl()));
}

net::awaitable<void> lock_keeper::work_loop() {
  const auto cs = co_await asio::this_coro::cancellation_state;
  for (;;) {
    if (is_cancelled(cs)) co_return;
    counters_.runs.fetch_add(1, std::memory_order_relaxed);
    try {
      co_await work_();
    } catch (const std::exception& e) {
      if (is_cancelled(cs)) co_return;  // cancelled mid-run: not the job's fault
      counters_.job_errors.fetch_add(1, std::memory_order_relaxed);
      if (opts_.log) opts_.log->error("{}: job failed: {}", opts_.log_name, e.what());
    }
    if (!co_await sleep(opts_.period)) co_return;
  }
}

net::awaitable<void> lock_keeper::renew_loop(clock_type::time_point valid_until) {
  const auto cs = co_await asio::this_coro::cancellation_state;
  auto wait = clock_type::duration(renew_every_);
  for (;;) {
    if (!co_await sleep(wait)) co_return;
    const auto sent = clock_type::now();
    auto r = co_await timed(lock_->renew());
    if (is_cancelled(cs)) co_return;
    if (r && *r) {
      counters_.renewals.fetch_add(1, std::memory_order_relaxed);
      valid_until = sent + lock_->ttl();
      wait = renew_every_;
      continue;
    }
    if (r) {
      // The lock expired or another owner took it: stop working, do not touch it.
      counters_.losses.fetch_add(1, std::memory_order_relaxed);
      if (opts_.log)
        opts_.log->warn("{}: lost {}; contending again", opts_.log_name, lock_->name());
      co_return;
    }
    counters_.renew_errors.fetch_add(1, std::memory_order_relaxed);
    const auto now = clock_type::now();
    if (now >= valid_until) {
      // Renewals kept failing until the last confirmed lease ran out: assume it is gone.
      counters_.losses.fetch_add(1, std::memory_order_relaxed);
      if (opts_.log)
        opts_.log->warn("{}: renewing {} failed ({}) past its lease; contending again",
                        opts_.log_name, lock_->name(), r.error().message());
      co_return;
    }
    if (opts_.log)
      opts_.log->warn("{}: renewing {} failed: {}", opts_.log_name, lock_->name(),
                      r.error().message());
    wait = std::min<clock_type::duration>(renew_every_, valid_until - now);
  }
}

net::awaitable<result<bool>> lock_keeper::timed(net::awaitable<result<bool>> op) {
  std::optional<result<bool>> out;
  auto wrapped = [&]() -> net::awaitable<error_code> {
    out = co_await std::move(op);
    co_return error_code{};
  };
  auto ec = co_await net::with_timeout(wrapped(), op_timeout_);
  if (ec) co_return fail(ec);
  if (!out) co_return fail(make_error_code(net::error::timeout));
  co_return std::move(*out);
}

net::awaitable<bool> lock_keeper::sleep(clock_type::duration d) {
  asio::steady_timer t(strand_, d);
  auto [ec] = co_await t.async_wait(net::use_tuple);
  const auto cs = co_await asio::this_coro::cancellation_state;
  co_return !ec && !is_cancelled(cs);
}

}  // namespace owcore::coord::shared
