// The task service over its memory registry (coord/tasks/task_registry.hpp): the same contract
// tests/integration/task_test.cpp checks through owcore processes on Redis, without a network.

#include "owcore/coord/tasks/task_service.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace task_service_test {

namespace asio = boost::asio;
namespace net = owcore::net;
namespace tasks = owcore::coord::tasks;
using namespace std::chrono_literals;

namespace {

// A task that sleeps until cancelled (or an hour).
net::awaitable<void> sleeper() {
  asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::hours(1));
  co_await t.async_wait(asio::use_awaitable);
}

net::awaitable<void> pause(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

struct scenario {
  std::shared_ptr<tasks::task_service> svc;

  net::awaitable<void> operator()() const {
    auto a = co_await svc->create("chat-1", sleeper);
    auto b = co_await svc->create("chat-1", sleeper, "fixed-id");
    auto c = co_await svc->create("", sleeper);
    EXPECT_TRUE(a && b && c);
    EXPECT_EQ(*b, "fixed-id");
    EXPECT_EQ(a->size(), 36u);  // a uuid4
    auto dup = co_await svc->create("", sleeper, "fixed-id");
    EXPECT_FALSE(dup);
    auto bad = co_await svc->create("", sleeper, "has space");
    EXPECT_FALSE(bad);
    EXPECT_EQ(svc->local_count(), 3u);

    auto all = co_await svc->list();
    EXPECT_TRUE(all && all->size() == 3 && has(*all, *a) && has(*all, *c));
    auto of_chat = co_await svc->list_by_item("chat-1");
    EXPECT_TRUE(of_chat && of_chat->size() == 2 && has(*of_chat, *a) && has(*of_chat, "fixed-id"));

    auto stopped = co_await svc->stop_task(*c);
    EXPECT_TRUE(stopped && *stopped == tasks::stop_outcome::stopped_local);
    auto unknown = co_await svc->stop_task("no-such-task");
    EXPECT_TRUE(unknown && *unknown == tasks::stop_outcome::not_found);
    auto n = co_await svc->stop_item("chat-1");
    EXPECT_TRUE(n && *n == 2u);

    for (int i = 0; i < 100 && svc->local_count() > 0; ++i) co_await pause(10ms);
    EXPECT_EQ(svc->local_count(), 0u);
    auto left = co_await svc->list();
    EXPECT_TRUE(left && left->empty());
    auto none = co_await svc->list_by_item("chat-1");
    EXPECT_TRUE(none && none->empty());
  }
};

}  // namespace

TEST(TaskServiceMemory, CreateListStopAndCleanUp) {
  asio::io_context io;
  auto svc = tasks::make_memory_task_service(io.get_executor(), {});
  svc->start();
  EXPECT_EQ(svc->instance_id().size(), 32u);
  bool done = false;
  const scenario s{svc};  // outlives its coroutine
  asio::co_spawn(io, s(), [&](std::exception_ptr e) {
    done = true;
    if (e) std::rethrow_exception(e);
  });
  io.run_for(10s);
  EXPECT_TRUE(done);
  svc->stop();
}

TEST(TaskServiceMemory, StopCancelsEveryLocalTask) {
  asio::io_context io;
  auto svc = tasks::make_memory_task_service(io.get_executor(), {});
  svc->start();
  asio::co_spawn(io, svc->create("x", sleeper), [](std::exception_ptr, auto) {});
  io.run_for(100ms);
  EXPECT_EQ(svc->local_count(), 1u);
  svc->stop();
  io.run_for(1s);
  EXPECT_EQ(svc->local_count(), 0u);
}

}  // namespace task_service_test
