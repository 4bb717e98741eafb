// The Redis client against real topologies: data types, scripts, 100 concurrent callers,
// pub/sub, and recovery from restarts, failovers and resharding.
#include "owcore/net/error.hpp"
#include "owcore/redis/client.hpp"
#include "owcore/redis/error.hpp"
#include "support/test_log.hpp"
#include "support/io_runner.hpp"
#include "support/process.hpp"
#include "support/redis_client.hpp"
#include "support/redis_topology.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace redis_client_test {

namespace redis = owcore::redis;
namespace net = owcore::net;
namespace test = owcore::test;
namespace asio = boost::asio;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

using owcore::test::test_log;

using owcore::test::io_runner;

redis::client_options base_options(const std::string& url, redis::topology topo) {
  auto parsed = redis::parse_url(url);
  redis::client_options o;
  o.node = std::get<redis::url_config>(parsed);
  o.topo = topo;
  o.log = test_log();
  o.connect_timeout = 2s;
  o.reply_timeout = 5s;
  o.queue_timeout = 20s;
  o.backoff_cap = 500ms;
  return o;
}

redis::reply one(io_runner& r, redis::client& c, redis::request req) {
  auto [ec, rep] = r.run(c.exec_one(std::move(req)));
  if (ec) throw std::runtime_error("exec failed: " + ec.message());
  return rep;
}

// Strings, hashes, sets, lists and a script, all under one hash tag so Cluster can run them.
void exercise_types(io_runner& r, redis::client& c, const std::string& tag) {
  const std::string k = "{" + tag + "}:";
  EXPECT_TRUE(one(r, c, redis::request().push("SET", redis::key(k + "s"), "v1")).is_status("OK"));
  EXPECT_EQ(one(r, c, redis::request().push("GET", redis::key(k + "s"))).str, "v1");
  EXPECT_TRUE(one(r, c, redis::request().push("GET", redis::key(k + "missing"))).is_nil());

  redis::request h;
  h.push("HSET", redis::key(k + "h"), "f1", "a", "f2", "b").push("HGETALL", redis::key(k + "h"));
  auto [hec, hres] = r.run(c.exec(std::move(h)));
  ASSERT_FALSE(hec) << hec.message();
  ASSERT_EQ(hres.size(), 2u);
  EXPECT_EQ(hres[0].integer, 2);
  EXPECT_EQ(hres[1].elements.size(), 4u);

  EXPECT_EQ(one(r, c, redis::request().push("SADD", redis::key(k + "set"), "x", "y", "x")).integer, 2);
  EXPECT_EQ(one(r, c, redis::request().push("SCARD", redis::key(k + "set"))).integer, 2);
  EXPECT_EQ(one(r, c, redis::request().push("RPUSH", redis::key(k + "l"), "1", "2", "3")).integer, 3);
  auto lr = one(r, c, redis::request().push("LRANGE", redis::key(k + "l"), 0, -1));
  ASSERT_EQ(lr.elements.size(), 3u);
  EXPECT_EQ(lr.elements[2].str, "3");

  redis::request script;
  script.eval("return redis.call('INCRBY', KEYS[1], ARGV[1]) + redis.call('SCARD', KEYS[2])",
              {k + "n", k + "set"}, {"40"});
  EXPECT_EQ(one(r, c, std::move(script)).integer, 42);

  // A server error is a value, not a transport error.
  auto bad = one(r, c, redis::request().push("INCR", redis::key(k + "s")));
  EXPECT_TRUE(bad.is_error());
}

// 100 coroutines × 50 INCRs each on their own keys, all at once through one client.
void exercise_concurrency(io_runner& r, redis::client& c, const std::string& tag) {
  constexpr int callers = 100, per_caller = 50;
  std::vector<std::future<int>> done;
  for (int i = 0; i < callers; ++i) {
    auto key = "{" + tag + "}:c" + std::to_string(i);
    done.push_back(asio::co_spawn(
        r.io,
        [&c, key]() -> net::awaitable<int> {
          int last = 0;
          for (int j = 0; j < per_caller; ++j) {
            auto [ec, rep] = co_await c.exec_one(redis::request().push("INCR", redis::key(key)));
            if (ec) throw std::runtime_error(ec.message());
            last = static_cast<int>(rep.integer);
          }
          co_return last;
        },
        asio::use_future));
  }
  for (auto& f : done) {
    ASSERT_EQ(f.wait_for(60s), std::future_status::ready);
    EXPECT_EQ(f.get(), per_caller);
  }
}

// A subscriber receives what the client publishes.
struct inbox {
  std::mutex m;
  std::vector<std::string> got;
  bool wait_for(const std::string& payload, std::chrono::milliseconds limit) {
    const auto end = clock_type::now() + limit;
    while (clock_type::now() < end) {
      {
        std::lock_guard lock(m);
        for (auto& g : got)
          if (g == payload) return true;
      }
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }
  redis::message_handler handler() {
    return [this](const redis::message& msg) {
      std::lock_guard lock(m);
      got.push_back(msg.payload);
    };
  }
};

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds limit) {
  const auto end = clock_type::now() + limit;
  while (clock_type::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

void exercise_pubsub(io_runner& r, redis::client& c, const std::string& channel) {
  inbox box;
  auto sub = c.make_subscriber(box.handler(), "test subscriber", "");
  sub->subscribe(channel);
  sub->start();
  ASSERT_TRUE(wait_until([&] { return sub->subscribed(); }, 10s));
  one(r, c, redis::request().push("PUBLISH", channel, "hello"));
  EXPECT_TRUE(box.wait_for("hello", 5s));
  sub->stop();
}

}  // namespace

TEST(RedisStandalone, DataTypesScriptsConcurrencyAndPubSub) {
  test::standalone_topology topo;
  io_runner r;
  auto c = redis::make_client(r.io.get_executor(), base_options(topo.url(), redis::topology::standalone));
  c->start();
  exercise_types(r, *c, "std");
  exercise_concurrency(r, *c, "std");
  exercise_pubsub(r, *c, "std-chan");
  c->stop();
}

TEST(RedisStandalone, RestartResumesCommandsAndSubscriptions) {
  test::standalone_topology topo;
  io_runner r;
  auto c = redis::make_client(r.io.get_executor(), base_options(topo.url(), redis::topology::standalone));
  c->start();
  inbox box;
  auto sub = c->make_subscriber(box.handler(), "restart subscriber", "");
  sub->subscribe("restart-chan");
  sub->start();
  ASSERT_TRUE(wait_until([&] { return sub->subscribed(); }, 10s));
  EXPECT_TRUE(one(r, *c, redis::request().push("SET", redis::key("a"), "1")).is_status("OK"));

  topo.server().restart();

  // The next command waits for the reconnect instead of failing.
  EXPECT_TRUE(one(r, *c, redis::request().push("SET", redis::key("a"), "2")).is_status("OK"));
  ASSERT_TRUE(wait_until([&] { return sub->drops() >= 1 && sub->subscribed(); }, 15s));
  one(r, *c, redis::request().push("PUBLISH", "restart-chan", "after"));
  EXPECT_TRUE(box.wait_for("after", 5s));
  sub->stop();
  c->stop();
}

TEST(RedisStandalone, PausedServerTimesOutThenRecovers) {
  test::standalone_topology topo;
  io_runner r;
  auto opts = base_options(topo.url(), redis::topology::standalone);
  opts.reply_timeout = 1s;
  auto c = redis::make_client(r.io.get_executor(), opts);
  c->start();
  EXPECT_TRUE(one(r, *c, redis::request().push("SET", redis::key("p"), "1")).is_status("OK"));
  topo.server().pause();
  auto [ec, rep] = r.run(c->exec_one(redis::request().push("INCR", redis::key("p"))));
  // Written to a hung server and never answered: the outcome is unknown, and it is not resent.
  EXPECT_EQ(ec, redis::error::unknown_outcome) << ec.message();
  topo.server().resume();
  // The server may still run the INCR it had buffered ("2"); owcore never sends it again ("3").
  const auto v = one(r, *c, redis::request().push("GET", redis::key("p"))).str;
  EXPECT_TRUE(v == "1" || v == "2") << v;
  c->stop();
}

TEST(RedisSentinel, DataTypesScriptsConcurrencyAndPubSub) {
  test::sentinel_topology topo;
  io_runner r;
  auto opts = base_options("redis://" + topo.service_name() + "/0", redis::topology::sentinel);
  for (int p : topo.sentinel_ports()) opts.sentinels.push_back({"127.0.0.1", static_cast<std::uint16_t>(p)});
  opts.service_name = topo.service_name();
  auto c = redis::make_client(r.io.get_executor(), opts);
  c->start();
  exercise_types(r, *c, "sen");
  exercise_concurrency(r, *c, "sen");
  exercise_pubsub(r, *c, "sen-chan");
  c->stop();
}

TEST(RedisSentinel, KillingTheMasterFailsOverWithoutHelp) {
  test::sentinel_topology topo;
  io_runner r;
  auto opts = base_options("redis://" + topo.service_name() + "/0", redis::topology::sentinel);
  for (int p : topo.sentinel_ports()) opts.sentinels.push_back({"127.0.0.1", static_cast<std::uint16_t>(p)});
  opts.service_name = topo.service_name();
  opts.queue_timeout = 30s;
  opts.reply_timeout = 2s;
  auto c = redis::make_client(r.io.get_executor(), opts);
  c->start();
  inbox box;
  auto sub = c->make_subscriber(box.handler(), "failover subscriber", "");
  sub->subscribe("failover-chan");
  sub->start();
  ASSERT_TRUE(wait_until([&] { return sub->subscribed(); }, 10s));

  // A writer runs continuously; we count its failures and time the outage it sees.
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::atomic<long long> killed_at_ns{0};  // 0 until the old master is dead and reaped
  std::atomic<long long> first_ok_after_kill_ns{0};
  auto writer = asio::co_spawn(
      r.io,
      [&]() -> net::awaitable<void> {
        for (int i = 0; !stop; ++i) {
          const auto started = clock_type::now().time_since_epoch().count();
          auto [ec, rep] = co_await c->exec_one(redis::request().push("SET", redis::key("w"), i));
          if (!ec && rep.is_status("OK")) {
            ++ok;
            long long none = 0;
            const auto k = killed_at_ns.load();
            if (k != 0 && started >= k)
              first_ok_after_kill_ns.compare_exchange_strong(none, clock_type::now().time_since_epoch().count());
          } else {
            ++failed;
          }
        }
      },
      asio::use_future);
  ASSERT_TRUE(wait_until([&] { return ok > 100; }, 10s));
  const auto old_master = topo.kill_master();
  const auto killed_at = clock_type::now();
  killed_at_ns = killed_at.time_since_epoch().count();
  topo.wait_for_new_master(old_master, 30s);
  // The writer resumes on the promoted replica by itself.
  const int ok_at_promotion = ok;
  ASSERT_TRUE(wait_until([&] { return ok > ok_at_promotion + 100; }, 30s))
      << "writer did not resume; failures: " << failed;
  stop = true;
  ASSERT_EQ(writer.wait_for(30s), std::future_status::ready);
  const auto recovered = clock_type::time_point(clock_type::duration(first_ok_after_kill_ns.load()));
  std::cout << "[ sentinel failover ] failed operations: " << failed
            << ", time from kill -9 to the first successful write: "
            << std::chrono::duration_cast<std::chrono::milliseconds>(recovered - killed_at).count()
            << " ms (down-after-milliseconds 1000)\n";
  // Only the requests in flight at the moment of the kill may fail (they are not resent).
  EXPECT_LE(failed.load(), 5);

  ASSERT_TRUE(wait_until([&] { return sub->subscribed() && sub->drops() >= 1; }, 30s));
  // Published after the failover, received by the re-subscribed subscriber.
  ASSERT_TRUE(wait_until(
      [&] {
        one(r, *c, redis::request().push("PUBLISH", "failover-chan", "after-failover"));
        return box.wait_for("after-failover", 200ms);
      },
      15s));
  sub->stop();
  c->stop();
}

TEST(RedisSentinel, ReadonlyAfterDemotionIsRetriedOnTheNewMaster) {
  test::sentinel_topology topo;
  io_runner r;
  auto opts = base_options("redis://" + topo.service_name() + "/0", redis::topology::sentinel);
  for (int p : topo.sentinel_ports()) opts.sentinels.push_back({"127.0.0.1", static_cast<std::uint16_t>(p)});
  opts.service_name = topo.service_name();
  opts.max_attempts = 5;
  opts.retry_delay = 200ms;
  auto c = redis::make_client(r.io.get_executor(), opts);
  c->start();
  EXPECT_TRUE(one(r, *c, redis::request().push("SET", redis::key("r"), "1")).is_status("OK"));
  topo.failover();
  // Whether the switch-master event or a READONLY reply moves the client, no error surfaces.
  for (int i = 0; i < 20; ++i)
    EXPECT_TRUE(one(r, *c, redis::request().push("SET", redis::key("r"), i)).is_status("OK"));
  c->stop();
}

TEST(RedisCluster, DataTypesScriptsConcurrencyPubSubAndCrossSlot) {
  test::cluster_topology topo;
  io_runner r;
  auto c = redis::make_client(r.io.get_executor(), base_options(topo.seed_url(), redis::topology::cluster));
  c->start();
  for (const char* tag : {"a", "b", "c", "user:1", "chat:9"}) exercise_types(r, *c, tag);
  exercise_concurrency(r, *c, "clu");
  exercise_pubsub(r, *c, "clu-chan");

  // Keys in different slots are refused before anything is sent, naming the keys.
  redis::request cross;
  cross.push("MSET", redis::key("alpha"), "1", redis::key("beta"), "2");
  auto [ec, res] = r.run(c->exec(std::move(cross)));
  EXPECT_EQ(ec, redis::error::cross_slot);
  ASSERT_EQ(res.size(), 1u);
  EXPECT_NE(res[0].str.find("alpha"), std::string::npos);
  EXPECT_NE(res[0].str.find("beta"), std::string::npos);
  auto nodes = c->nodes();
  int masters = 0;
  for (auto& n : nodes) masters += n.role == "master";
  EXPECT_EQ(masters, 3);
  c->stop();
}

TEST(RedisCluster, ShardedPubSubFollowsTheChannelsSlot) {
  test::cluster_topology topo;
  io_runner r;
  auto c = redis::make_client(r.io.get_executor(), base_options(topo.seed_url(), redis::topology::cluster));
  c->start();
  for (const std::string channel : {"{owcore}:events", "shard-b", "another-channel"}) {
    inbox box;
    auto sub = c->make_subscriber(box.handler(), "shard subscriber", channel);
    sub->ssubscribe(channel);
    sub->start();
    ASSERT_TRUE(wait_until([&] { return sub->subscribed(); }, 10s)) << channel;
    // SPUBLISH routes by the channel's slot, so the channel is marked as the key.
    auto rep = one(r, *c, redis::request().push("SPUBLISH", redis::key(channel), "sharded"));
    EXPECT_FALSE(rep.is_error()) << rep.str;
    EXPECT_TRUE(box.wait_for("sharded", 5s)) << channel;
    sub->stop();
  }
  c->stop();
}

TEST(RedisCluster, ReshardingUnderLoadSurfacesNoError) {
  test::cluster_topology topo;
  io_runner r;
  auto c = redis::make_client(r.io.get_executor(), base_options(topo.seed_url(), redis::topology::cluster));
  c->start();
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0};
  std::vector<std::string> errors;
  std::mutex errors_mutex;
  auto writer = asio::co_spawn(
      r.io,
      [&]() -> net::awaitable<void> {
        for (int i = 0; !stop; ++i) {
          const auto k = "k" + std::to_string(i % 2000);
          auto [ec, rep] = co_await c->exec_one(redis::request().push("SET", redis::key(k), i));
          if (ec || !rep.is_status("OK")) {
            std::lock_guard lock(errors_mutex);
            errors.push_back(k + ": " + (ec ? ec.message() : rep.str));
          } else {
            ++ok;
          }
        }
      },
      asio::use_future);
  ASSERT_TRUE(wait_until([&] { return ok > 500; }, 20s));

  auto masters = topo.masters();
  const auto from = test::redis_command(masters[0]->port(), {"CLUSTER", "MYID"}).str;
  const auto to = test::redis_command(masters[1]->port(), {"CLUSTER", "MYID"}).str;
  test::temp_dir dir("owcore-reshard-");
  test::process reshard({"redis-cli", "--cluster", "reshard", masters[0]->address(), "--cluster-from", from,
                         "--cluster-to", to, "--cluster-slots", "1500", "--cluster-yes"},
                        dir.path() / "reshard.log");
  auto status = reshard.wait_for_exit(120s);
  ASSERT_TRUE(status) << reshard.log_tail();
  ASSERT_EQ(WEXITSTATUS(*status), 0) << reshard.log_tail();
  const int ok_after = ok;
  ASSERT_TRUE(wait_until([&] { return ok > ok_after + 500; }, 20s));
  stop = true;
  ASSERT_EQ(writer.wait_for(30s), std::future_status::ready);
  std::lock_guard lock(errors_mutex);
  EXPECT_TRUE(errors.empty()) << errors.size() << " errors, first: " << errors.front();
  c->stop();
}

TEST(RedisCluster, KilledMasterIsReplacedByItsReplica) {
  test::cluster_topology topo;
  io_runner r;
  auto opts = base_options(topo.seed_url(), redis::topology::cluster);
  opts.queue_timeout = 30s;
  opts.reply_timeout = 2s;
  auto c = redis::make_client(r.io.get_executor(), opts);
  c->start();
  const std::string key = "victim";
  EXPECT_TRUE(one(r, *c, redis::request().push("SET", redis::key(key), "1")).is_status("OK"));
  auto& owner = topo.node_for_key(key);
  topo.kill(owner);
  // An idempotent request may be re-sent, so it waits through the failover and lands on the
  // promoted replica in one call.
  EXPECT_TRUE(one(r, *c, redis::request().push("SET", redis::key(key), "2").idempotent()).is_status("OK"));
  EXPECT_EQ(one(r, *c, redis::request().push("GET", redis::key(key))).str, "2");
  EXPECT_EQ(one(r, *c, redis::request().push("INCR", redis::key(key))).integer, 3);
  c->stop();
}

}  // namespace redis_client_test
