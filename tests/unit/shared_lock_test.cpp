// Owner-token locks (memory backend) and the lock keeper: renewal beside the job at <= TTL/3,
// loss detection without touching the new owner's lock, endless re-contention, release on stop.
// Short TTLs; assertions are about behaviour (who holds the lock), never about speed.
#include "owcore/coord/shared/lock.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <regex>
#include <set>
#include <stdexcept>
#include <thread>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace shared_lock_test {

namespace shared = owcore::coord::shared;
namespace net = owcore::net;
namespace asio = boost::asio;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

// An io_context on one background thread.
struct io_thread {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
  std::thread thread{[this] { io.run(); }};
  ~io_thread() {
    guard.reset();
    io.stop();
    thread.join();
  }
  template <class T>
  T run(net::awaitable<T> a) {
    auto f = asio::co_spawn(io, std::move(a), asio::use_future);
    if (f.wait_for(10s) != std::future_status::ready) throw std::runtime_error("coroutine timed out");
    return f.get();
  }
};

bool acquired(io_thread& t, shared::owner_lock& l) {
  auto r = t.run(l.acquire());
  if (!r) throw std::runtime_error(r.error().message());
  return *r;
}

template <class Pred>
bool eventually(Pred p, std::chrono::milliseconds limit = 5s) {
  const auto end = clock_type::now() + limit;
  while (clock_type::now() < end) {
    if (p()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return p();
}

net::awaitable<void> pause_for(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

}  // namespace

TEST(SharedLock, OwnerTokensAreUuid4) {
  const std::regex uuid4("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto t = shared::make_owner_token();
    EXPECT_TRUE(std::regex_match(t, uuid4)) << t;
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(SharedLock, MemoryLockOwnerChecks) {
  io_thread t;
  auto table = std::make_shared<shared::memory_lock_table>();
  auto a = shared::make_memory_lock(table, "p:usage_cleanup_lock", 60s);
  auto b = shared::make_memory_lock(table, "p:usage_cleanup_lock", 60s);
  EXPECT_NE(a->owner(), b->owner());
  EXPECT_TRUE(acquired(t, *a));
  EXPECT_FALSE(acquired(t, *a));  // SET NX: even the owner cannot take it twice
  EXPECT_FALSE(acquired(t, *b));
  EXPECT_FALSE(*t.run(b->renew()));
  EXPECT_FALSE(*t.run(b->release()));
  EXPECT_EQ(table->holder(a->name()), a->owner());
  EXPECT_TRUE(*t.run(a->renew()));
  EXPECT_TRUE(*t.run(a->release()));
  EXPECT_FALSE(table->holder(a->name()));
  EXPECT_FALSE(*t.run(a->release()));
  EXPECT_TRUE(acquired(t, *b));
}

TEST(SharedLock, MemoryLockExpires) {
  io_thread t;
  auto table = std::make_shared<shared::memory_lock_table>();
  auto a = shared::make_memory_lock(table, "l", 50ms);
  auto b = shared::make_memory_lock(table, "l", 50ms);
  EXPECT_TRUE(acquired(t, *a));
  EXPECT_TRUE(eventually([&] { return acquired(t, *b); }));
  EXPECT_FALSE(*t.run(a->renew()));    // expired and taken: a's renew must not extend b's lock
  EXPECT_FALSE(*t.run(a->release()));  // nor delete it
  EXPECT_EQ(table->holder("l"), b->owner());
}

TEST(SharedLockKeeper, RenewsBesideALongJobSoTheLockNeverLapses) {
  io_thread t;
  auto table = std::make_shared<shared::memory_lock_table>();
  const auto ttl = 600ms;  // generous: a loaded CI machine must not stall a renewal past it
  std::atomic<int> runs{0};
  shared::lock_keeper_options o;
  o.period = 10ms;
  o.renew_interval = 10s;  // asks for too little: clamped to TTL/3
  auto keeper = shared::lock_keeper::start(
      t.io.get_executor(), shared::make_memory_lock(table, "l", ttl),
      [&]() -> net::awaitable<void> {
        ++runs;
        co_await pause_for(ttl * 5 / 2);  // one run lasts longer than two TTLs
      },
      o);
  EXPECT_EQ(keeper->renew_interval(), ttl / 3);
  ASSERT_TRUE(eventually([&] { return keeper->holding() && runs > 0; }));
  // For several TTLs, nobody else can take the lock: renewal keeps it alive during the job.
  auto other = shared::make_memory_lock(table, "l", ttl);
  const auto end = clock_type::now() + 3 * ttl;
  while (clock_type::now() < end) {
    ASSERT_FALSE(acquired(t, *other));
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_GT(keeper->stats().renewals, 0u);
  EXPECT_EQ(keeper->stats().losses, 0u);
  keeper->stop();
  t.run(keeper->wait_stopped());
  EXPECT_FALSE(keeper->holding());
  EXPECT_FALSE(table->holder("l"));  // released on stop
  EXPECT_TRUE(acquired(t, *other));
}

TEST(SharedLockKeeper, LosingTheLockStopsTheJobAndNeverDeletesTheNewOwnersLock) {
  io_thread t;
  auto table = std::make_shared<shared::memory_lock_table>();
  const auto ttl = 150ms;
  std::atomic<int> runs{0};
  shared::lock_keeper_options o;
  o.period = 5ms;
  o.retry_min = 5ms;
  o.retry_max = 10ms;
  auto keeper = shared::lock_keeper::start(
      t.io.get_executor(), shared::make_memory_lock(table, "l", ttl),
      [&]() -> net::awaitable<void> {
        ++runs;
        co_return;
      },
      o);
  ASSERT_TRUE(eventually([&] { return keeper->holding(); }));
  // Someone deletes the key (an operator, a Python 0.10 instance) and another owner takes it.
  table->erase("l");
  auto thief = shared::make_memory_lock(table, "l", 60s);
  ASSERT_TRUE(acquired(t, *thief));
  ASSERT_TRUE(eventually([&] { return keeper->stats().losses >= 1 && !keeper->holding(); }));
  // While the thief holds it, the keeper contends but neither runs the job nor touches the lock.
  const int runs_after_loss = runs;
  const auto attempts_after_loss = keeper->stats().attempts;
  ASSERT_TRUE(eventually([&] { return keeper->stats().attempts > attempts_after_loss + 3; }));
  EXPECT_EQ(runs, runs_after_loss);
  EXPECT_EQ(table->holder("l"), thief->owner());
  // It never gives up: once the thief releases, the keeper takes the lock back.
  EXPECT_TRUE(*t.run(thief->release()));
  ASSERT_TRUE(eventually([&] { return keeper->holding() && runs > runs_after_loss; }));
  EXPECT_EQ(keeper->stats().acquisitions, 2u);
  keeper->stop();
  t.run(keeper->wait_stopped());
  EXPECT_FALSE(table->holder("l"));
}

TEST(SharedLockKeeper, StopWhileAnotherOwnerHoldsLeavesTheirLock) {
  io_thread t;
  auto table = std::make_shared<shared::memory_lock_table>();
  auto holder = shared::make_memory_lock(table, "l", 60s);
  ASSERT_TRUE(acquired(t, *holder));
  shared::lock_keeper_options o;
  o.retry_min = 1ms;
  o.retry_max = 2ms;
  auto keeper = shared::lock_keeper::start(t.io.get_executor(), shared::make_memory_lock(table, "l", 300ms),
                                           []() -> net::awaitable<void> { co_return; }, o);
  // Python's cleaner gives up after 3 attempts; this one keeps going.
  ASSERT_TRUE(eventually([&] { return keeper->stats().attempts > 10; }));
  EXPECT_EQ(keeper->stats().acquisitions, 0u);
  keeper->stop();
  t.run(keeper->wait_stopped());
  t.run(keeper->wait_stopped());  // again: completes at once
  EXPECT_EQ(table->holder("l"), holder->owner());
}

TEST(SharedLockKeeper, JobExceptionsAreCountedAndTheJobRunsAgain) {
  io_thread t;
  auto table = std::make_shared<shared::memory_lock_table>();
  std::atomic<int> runs{0};
  shared::lock_keeper_options o;
  o.period = 1ms;
  auto keeper = shared::lock_keeper::start(
      t.io.get_executor(), shared::make_memory_lock(table, "l", 1s),
      [&]() -> net::awaitable<void> {
        ++runs;
        throw std::runtime_error("job failed");
        co_return;
      },
      o);
  ASSERT_TRUE(eventually([&] { return runs >= 3; }));
  EXPECT_GE(keeper->stats().job_errors, 2u);
  EXPECT_TRUE(keeper->holding());
  keeper->stop();
  t.run(keeper->wait_stopped());
  EXPECT_FALSE(table->holder("l"));
}

TEST(SharedLockKeeper, TwoKeepersNeverRunTheJobAtTheSameTime) {
  io_thread t;
  auto table = std::make_shared<shared::memory_lock_table>();
  std::atomic<int> inside{0}, overlaps{0}, runs{0};
  struct leave {
    std::atomic<int>& n;
    ~leave() { n.fetch_sub(1); }  // also when stop() cancels the run mid-way
  };
  auto job = [&]() -> net::awaitable<void> {
    if (inside.fetch_add(1) != 0) ++overlaps;
    leave guard{inside};
    ++runs;
    co_await pause_for(2ms);
  };
  shared::lock_keeper_options o;
  o.period = 1ms;
  o.retry_min = 1ms;
  o.retry_max = 3ms;
  auto a = shared::lock_keeper::start(t.io.get_executor(), shared::make_memory_lock(table, "l", 1s), job, o);
  auto b = shared::lock_keeper::start(t.io.get_executor(), shared::make_memory_lock(table, "l", 1s), job, o);
  ASSERT_TRUE(eventually([&] { return runs > 20; }));
  EXPECT_EQ(overlaps, 0);
  EXPECT_NE(a->holding(), b->holding());
  // Hand-over: stopping the holder lets the other one take the lock.
  auto& holder = a->holding() ? a : b;
  auto& waiter = a->holding() ? b : a;
  holder->stop();
  t.run(holder->wait_stopped());
  ASSERT_TRUE(eventually([&] { return waiter->holding(); }));
  waiter->stop();
  t.run(waiter->wait_stopped());
  EXPECT_EQ(overlaps, 0);
}

}  // namespace shared_lock_test
