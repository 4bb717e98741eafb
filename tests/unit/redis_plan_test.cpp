// Settings → Redis client options: topology precedence, socket options, retry contract, cache key.
#include "owcore/app/startup.hpp"
#include "owcore/redis/client.hpp"
#include "owcore/redis/io/connection.hpp"

#include <gtest/gtest.h>

#include <map>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace redis_plan_test {

using namespace owcore;
using namespace std::chrono_literals;

namespace {

app::settings from(std::map<std::string, std::string> env) {
  return app::load_settings([env](std::string_view k) -> std::optional<std::string> {
    auto it = env.find(std::string(k));
    if (it == env.end()) return std::nullopt;
    return it->second;
  });
}

app::redis_plan plan(std::map<std::string, std::string> env) {
  auto r = app::plan_redis(from(std::move(env)));
  if (auto* e = std::get_if<app::startup_error>(&r)) throw std::runtime_error(e->line());
  return std::get<app::redis_plan>(r);
}

std::string plan_error(std::map<std::string, std::string> env) {
  auto r = app::plan_redis(from(std::move(env)));
  if (auto* e = std::get_if<app::startup_error>(&r)) return e->line();
  return {};
}

}  // namespace

TEST(RedisPlan, NoRedisMeansNoClients) {
  auto p = plan({});
  EXPECT_FALSE(p.app);
  EXPECT_FALSE(p.ws);
}

TEST(RedisPlan, TopologyPrecedenceSentinelThenClusterThenStandalone) {
  auto s = plan({{"REDIS_URL", "redis://:pw@mysvc:6379/2"}, {"REDIS_SENTINEL_HOSTS", "a, b"},
                 {"REDIS_SENTINEL_PORT", "26380"}, {"REDIS_CLUSTER", "true"}});
  ASSERT_TRUE(s.app);
  EXPECT_EQ(s.app->options.topo, redis::topology::sentinel);
  EXPECT_EQ(s.app->options.service_name, "mysvc");
  ASSERT_EQ(s.app->options.sentinels.size(), 2u);
  EXPECT_EQ(s.app->options.sentinels[1].host, "b");
  EXPECT_EQ(s.app->options.sentinels[1].port, 26380);
  EXPECT_EQ(s.app->options.node.db, 2);
  EXPECT_EQ(s.app->options.node.auth.password, "pw");
  EXPECT_EQ(s.app->variable, "REDIS_SENTINEL_HOSTS");

  auto c = plan({{"REDIS_URL", "redis://h:7000"}, {"REDIS_CLUSTER", "true"}});
  EXPECT_EQ(c.app->options.topo, redis::topology::cluster);
  EXPECT_TRUE(c.app->key.cluster);

  auto st = plan({{"REDIS_URL", "redis://h:7000"}});
  EXPECT_EQ(st.app->options.topo, redis::topology::standalone);
  EXPECT_EQ(st.app->variable, "REDIS_URL");
}

TEST(RedisPlan, SentinelServiceDefaultsToMymaster) {
  auto s = plan({{"REDIS_URL", "redis://"}, {"REDIS_SENTINEL_HOSTS", "a"}});
  EXPECT_EQ(s.app->options.service_name, "mymaster");
}

TEST(RedisPlan, SocketOptionsAndRetryContract) {
  auto p = plan({{"REDIS_URL", "redis://h"}, {"REDIS_SOCKET_CONNECT_TIMEOUT", "1.5"},
                 {"REDIS_SOCKET_TIMEOUT", "3"}, {"REDIS_SOCKET_KEEPALIVE", "true"},
                 {"REDIS_HEALTH_CHECK_INTERVAL", "7"}, {"REDIS_SENTINEL_MAX_RETRY_COUNT", "4"},
                 {"REDIS_RECONNECT_DELAY", "250"}});
  const auto& o = p.app->options;
  EXPECT_EQ(o.connect_timeout, 1500ms);
  EXPECT_EQ(o.reply_timeout, 3s);
  EXPECT_TRUE(o.node.connect.keepalive);
  EXPECT_EQ(o.health_check_interval, 7s);
  EXPECT_EQ(o.max_attempts, 4);
  EXPECT_EQ(o.retry_delay, 250ms);
}

TEST(RedisPlan, DefaultsNeverWaitForever) {
  const auto p = plan({{"REDIS_URL", "redis://h"}});
  const auto& o = p.app->options;
  EXPECT_EQ(o.connect_timeout, 5s);
  EXPECT_GT(o.reply_timeout, 0s);
  EXPECT_EQ(o.max_attempts, 2);
  EXPECT_EQ(o.retry_delay, 0ms);
}

TEST(RedisPlan, WsClientOnlyWithTheRedisManagerAndInheritsTheUrl) {
  EXPECT_FALSE(plan({{"REDIS_URL", "redis://h/1"}}).ws);
  auto p = plan({{"REDIS_URL", "redis://h/1"}, {"WEBSOCKET_MANAGER", "redis"}});
  ASSERT_TRUE(p.ws);
  EXPECT_EQ(p.ws->options.node.db, 1);
  EXPECT_EQ(p.ws->key, p.app->key);  // same key → one cached client, as in Python
  auto other = plan({{"REDIS_URL", "redis://h/1"}, {"WEBSOCKET_MANAGER", "redis"},
                     {"WEBSOCKET_REDIS_URL", "redis://h/2"}});
  EXPECT_NE(other.ws->key, other.app->key);
}

TEST(RedisPlan, ErrorsNameTheVariable) {
  EXPECT_EQ(plan_error({{"REDIS_URL", "notaurl"}}).rfind("REDIS_URL:", 0), 0u);
  EXPECT_EQ(plan_error({{"WEBSOCKET_MANAGER", "redis"}, {"WEBSOCKET_REDIS_URL", "x://y"}}).rfind("WEBSOCKET_REDIS_URL:", 0), 0u);
  EXPECT_EQ(plan_error({{"REDIS_URL", "redis://h/3"}, {"REDIS_CLUSTER", "true"}}).rfind("REDIS_URL:", 0), 0u);
  EXPECT_NE(plan_error({{"WEBSOCKET_MANAGER", "redis"}}), "");
}

// Issue 13's recovery goal (within 2 s of the topology settling) needs every reconnect loop of a
// default client to retry at least once a second once Redis is back (bench/run_chaos,
// standalone-restart-aof).
TEST(Backoff, DefaultClientRetriesAtLeastOnceASecond) {
  const redis::client_options o;
  EXPECT_LE(o.backoff_cap, 1000ms);
  redis::backoff b(o.backoff_initial, o.backoff_cap);
  for (int i = 0; i < 50; ++i) EXPECT_LE(b.next(), 1000ms) << i;
}

TEST(Backoff, DoublesWithJitterUpToTheCap) {
  redis::backoff b(100ms, 1000ms);
  for (int i = 0; i < 50; ++i) {
    const auto d = b.next();
    const auto ceiling = std::min<std::chrono::milliseconds>(1000ms, 100ms * (1 << std::min(i, 20)));
    EXPECT_GE(d, ceiling / 2) << i;
    EXPECT_LE(d, ceiling) << i;
  }
  b.reset();
  EXPECT_LE(b.next(), 100ms);
}

}  // namespace redis_plan_test
