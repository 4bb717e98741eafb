// Shared dicts and locks (docs/wire.md) on every backend: the same behavioural tests run against
// the memory backend, a standalone Redis and a Redis Cluster; then Redis-only checks of the stored
// text, and interop with Python Open WebUI's exact RedisDict/RedisLock operations
// (tests/integration/python/shared_interop.py, run with Debian's python3 and python3-redis).
#include "owcore/coord/shared/keys.hpp"
#include "owcore/coord/shared/lock.hpp"
#include "owcore/coord/shared/shared_dict.hpp"
#include "owcore/redis/client.hpp"
#include "support/io_runner.hpp"
#include "support/process.hpp"
#include "support/redis_client.hpp"
#include "support/redis_topology.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <future>
#include <map>
#include <set>
#include <thread>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace shared_test {

namespace shared = owcore::coord::shared;
namespace coord = owcore::coord;
namespace redis = owcore::redis;
namespace net = owcore::net;
namespace test = owcore::test;
namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

// The shared two-thread runner (tests/support/io_runner.hpp) with this file's deadline.
struct io_runner : owcore::test::io_runner {
  io_runner() : owcore::test::io_runner(std::chrono::seconds(30)) {}
};

template <class Pred>
bool eventually(Pred p, std::chrono::milliseconds limit = 10s) {
  const auto end = clock_type::now() + limit;
  while (clock_type::now() < end) {
    if (p()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return p();
}

// One backend the behavioural tests run against. Two "clients" (0 and 1) stand for two
// instances: on Redis they are separate client objects with their own connections; in memory
// they share the process-local state, as two components of one instance would.
class backend_env {
 public:
  virtual ~backend_env() = default;
  virtual io_runner& io() = 0;
  virtual std::shared_ptr<shared::shared_dict> dict(const std::string& prefix, std::string_view name, int client = 0,
                                                    shared::shared_dict_options o = {}) = 0;
  virtual std::shared_ptr<shared::owner_lock> lock(const std::string& prefix, std::string_view name,
                                                   std::chrono::milliseconds ttl, int client = 0) = 0;
  /// The lock's current holder token (GET), nullopt when free.
  virtual std::optional<std::string> holder(const std::string& key) = 0;
  /// Deletes a key whoever owns it (an operator's DEL).
  virtual void force_delete(const std::string& key) = 0;
  /// Redis only: one raw command on the node serving `key`.
  virtual test::reply raw(const std::string& key, const std::vector<std::string>& args) = 0;
  virtual bool is_redis() const = 0;
};

class memory_env final : public backend_env {
 public:
  io_runner& io() override { return io_; }
  std::shared_ptr<shared::shared_dict> dict(const std::string& prefix, std::string_view name, int,
                                            shared::shared_dict_options) override {
    const auto key = shared::keys::key(prefix, name);
    std::lock_guard lock(mutex_);
    auto& d = dicts_[key];
    if (!d) d = shared::make_memory_shared_dict(key);
    return d;
  }
  std::shared_ptr<shared::owner_lock> lock(const std::string& prefix, std::string_view name,
                                           std::chrono::milliseconds ttl, int) override {
    return shared::make_memory_lock(table_, shared::keys::key(prefix, name), ttl);
  }
  std::optional<std::string> holder(const std::string& key) override { return table_->holder(key); }
  void force_delete(const std::string& key) override { table_->erase(key); }
  test::reply raw(const std::string&, const std::vector<std::string>&) override {
    throw std::logic_error("no raw access to the memory backend");
  }
  bool is_redis() const override { return false; }

 private:
  io_runner io_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<shared::shared_dict>> dicts_;
  std::shared_ptr<shared::memory_lock_table> table_ = std::make_shared<shared::memory_lock_table>();
};

redis::client_options client_options(const std::string& url, redis::topology topo) {
  redis::client_options o;
  o.node = std::get<redis::url_config>(redis::parse_url(url));
  o.topo = topo;
  o.connect_timeout = 2s;
  o.reply_timeout = 5s;
  o.queue_timeout = 20s;
  o.backoff_cap = 500ms;
  return o;
}

class redis_env final : public backend_env {
 public:
  explicit redis_env(bool cluster) {
    std::string url;
    if (cluster) {
      cluster_.emplace();
      url = cluster_->seed_url();
    } else {
      standalone_.emplace();
      url = standalone_->url();
    }
    for (auto& c : clients_) {
      c = redis::make_client(io_.io.get_executor(),
                             client_options(url, cluster ? redis::topology::cluster : redis::topology::standalone));
      c->start();
    }
  }
  ~redis_env() override {
    for (auto& c : clients_) c->stop();
  }
  io_runner& io() override { return io_; }
  int port() { return standalone_ ? standalone_->port() : 0; }

  std::shared_ptr<shared::shared_dict> dict(const std::string& prefix, std::string_view name, int client,
                                            shared::shared_dict_options o) override {
    return shared::make_redis_shared_dict(coord::redis_backend{clients_[client], prefix}, name, o);
  }
  std::shared_ptr<shared::owner_lock> lock(const std::string& prefix, std::string_view name,
                                           std::chrono::milliseconds ttl, int client) override {
    return shared::make_redis_lock(coord::redis_backend{clients_[client], prefix}, name, ttl);
  }
  std::optional<std::string> holder(const std::string& key) override {
    auto r = raw(key, {"GET", key});
    if (r.is_nil()) return std::nullopt;
    return r.str;
  }
  void force_delete(const std::string& key) override { raw(key, {"DEL", key}); }
  test::reply raw(const std::string& key, const std::vector<std::string>& args) override {
    const int p = standalone_ ? standalone_->port() : cluster_->node_for_key(key).port();
    return test::redis_command(p, args);
  }
  bool is_redis() const override { return true; }

 private:
  // Destroyed in reverse: clients (stopped above), then servers, then the io threads.
  io_runner io_;
  std::optional<test::standalone_topology> standalone_;
  std::optional<test::cluster_topology> cluster_;
  std::shared_ptr<redis::client> clients_[2];
};

template <class T>
T ok(io_runner& io, net::awaitable<shared::result<T>> a) {
  auto r = io.run(std::move(a));
  if (!r) throw std::runtime_error("operation failed: " + r.error().message());
  return std::move(*r);
}

void ok(io_runner& io, net::awaitable<shared::result<void>> a) {
  auto r = io.run(std::move(a));
  if (!r) throw std::runtime_error("operation failed: " + r.error().message());
}

json::object sid_map(std::initializer_list<std::pair<const char*, std::int64_t>> sids) {
  json::object o;
  for (auto& [sid, t] : sids) o[sid] = json::object{{"updated_at", t}};
  return o;
}

json::object as_object(const std::vector<shared::entry>& items) {
  json::object o;
  for (const auto& [k, v] : items) o[k] = v;
  return o;
}

std::string unique_prefix() {
  static std::atomic<int> n{0};
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string p = std::string("owc-shared-") + info->name() + "-" + std::to_string(n++);
  std::replace(p.begin(), p.end(), '/', '-');
  return p;
}

// --- The behavioural suite, once per backend --------------------------------------------------

class SharedBackends : public ::testing::TestWithParam<std::string> {
 public:
  static void TearDownTestSuite() { envs().clear(); }

 protected:
  static std::map<std::string, std::unique_ptr<backend_env>>& envs() {
    static std::map<std::string, std::unique_ptr<backend_env>> e;
    return e;
  }
  // Started on first use, so a filter that selects one backend starts only that one.
  backend_env& env() {
    auto& e = envs()[GetParam()];
    if (!e) {
      if (GetParam() == "memory") e = std::make_unique<memory_env>();
      else e = std::make_unique<redis_env>(GetParam() == "cluster");
    }
    return *e;
  }
  io_runner& io() { return env().io(); }
  const std::string prefix = unique_prefix();
};

TEST_P(SharedBackends, RedisDictOperations) {
  auto d = env().dict(prefix, shared::keys::models);
  EXPECT_EQ(d->name(), prefix + ":models");
  EXPECT_FALSE(ok(io(), d->get("a")).has_value());
  EXPECT_FALSE(ok(io(), d->contains("a")));
  EXPECT_EQ(ok(io(), d->size()), 0u);
  ok(io(), d->set("a", json::object{{"id", "a"}, {"n", 1}, {"tags", json::array{}}}));
  ok(io(), d->set("b", json::array{1, "two", nullptr}));
  EXPECT_TRUE(ok(io(), d->contains("a")));
  EXPECT_EQ(ok(io(), d->size()), 2u);
  EXPECT_EQ(*ok(io(), d->get("a")), (json::object{{"id", "a"}, {"n", 1}, {"tags", json::array{}}}));
  auto keys = ok(io(), d->keys());
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(ok(io(), d->values()).size(), 2u);
  EXPECT_EQ(as_object(ok(io(), d->items())).at("b"), (json::array{1, "two", nullptr}));
  EXPECT_TRUE(ok(io(), d->erase("a")));
  EXPECT_FALSE(ok(io(), d->erase("a")));
  ok(io(), d->clear());
  EXPECT_EQ(ok(io(), d->size()), 0u);
}

// scan(): HSCAN steps (the session reaper's listing) visit every field present throughout.
TEST_P(SharedBackends, ScanVisitsEveryFieldInBatches) {
  auto d = env().dict(prefix, shared::keys::session_pool);
  // More fields than hash-max-listpack-entries (128 upstream, 512 in Debian), so Redis really pages.
  for (int i = 0; i < 1200; ++i) ok(io(), d->set("sid" + std::to_string(i), json::object{{"last_seen_at", i}}));
  std::set<std::string> seen;
  std::string cursor = "0";
  int steps = 0;
  do {
    auto page = ok(io(), d->scan(cursor, 50));
    for (const auto& e : page.entries) {
      EXPECT_EQ(e.second.at("last_seen_at").to_number<int>(), std::stoi(e.first.substr(3)));
      seen.insert(e.first);
    }
    cursor = page.cursor;
  } while (cursor != "0" && ++steps < 10000);
  EXPECT_EQ(seen.size(), 1200u);
  EXPECT_GT(steps, 1);
  ok(io(), d->clear());
  auto empty = ok(io(), d->scan("0", 50));
  EXPECT_TRUE(empty.entries.empty());
  EXPECT_EQ(empty.cursor, "0");
}

TEST_P(SharedBackends, ReplaceAllNeverEmptiesAndComparesWithWhatIsStored) {
  auto d = env().dict(prefix, shared::keys::models);
  auto other = env().dict(prefix, shared::keys::models, 1);
  ok(io(), d->replace_all(json::object{{"a", json::object{{"v", 1}}}, {"b", json::object{{"v", 1}}}}));
  json::object next{{"b", json::object{{"v", 2}}}, {"c", json::object{{"v", 3}}}};
  auto st = ok(io(), d->replace_all(next));
  EXPECT_EQ(st.written, 2u);
  EXPECT_EQ(st.deleted, 1u);
  EXPECT_EQ(as_object(ok(io(), other->items())), next);
  // Another instance with a partial view overwrites the dict...
  ok(io(), other->replace_all(json::object{{"b", json::object{{"v", 2}}}}));
  // ...and the same full mapping from the first instance restores it (no "my last digest" skip,
  // docs/wire.md, "Models overwritten from a partial view"): only the missing field is written.
  st = ok(io(), d->replace_all(next));
  EXPECT_EQ(st.written, 1u);
  EXPECT_EQ(st.deleted, 0u);
  EXPECT_EQ(as_object(ok(io(), other->items())), next);
  // Readers polling during a stream of replacements never see the dict empty.
  std::atomic<bool> stop{false};
  std::atomic<int> empty_reads{0}, reads{0};
  std::thread reader([&] {
    while (!stop) {
      if (ok(io(), other->size()) == 0) ++empty_reads;
      ++reads;
    }
  });
  eventually([&] { return reads > 0; });
  for (int i = 0; i < 100; ++i) {
    json::object m;
    for (int k = 0; k < 5; ++k) m["m" + std::to_string((i + k) % 8)] = json::object{{"round", i}};
    ok(io(), d->replace_all(m));
  }
  stop = true;
  reader.join();
  EXPECT_EQ(empty_reads, 0);
  st = ok(io(), d->replace_all(json::object{}));
  EXPECT_EQ(st.deleted, 5u);
  EXPECT_EQ(ok(io(), other->size()), 0u);
}

TEST_P(SharedBackends, UsagePoolTouchRemovePrune) {
  auto d = env().dict(prefix, shared::keys::usage_pool);
  ok(io(), d->touch("m1", "s1", 1700000000));
  ok(io(), d->touch("m1", "s2", 1700000200));
  ok(io(), d->touch("m1", "s1", 1700000150));
  EXPECT_EQ(*ok(io(), d->get("m1")), sid_map({{"s1", 1700000150}, {"s2", 1700000200}}));
  auto st = ok(io(), d->prune("m1", 1700000160));
  EXPECT_EQ(st.removed, std::vector<std::string>{"s1"});
  EXPECT_EQ(st.remaining, 1u);
  EXPECT_EQ(*ok(io(), d->get("m1")), sid_map({{"s2", 1700000200}}));
  EXPECT_FALSE(ok(io(), d->remove_sid("m1", "nope")));
  EXPECT_TRUE(ok(io(), d->remove_sid("m1", "s2")));
  EXPECT_FALSE(ok(io(), d->contains("m1")));  // "models in use" drops the model
  EXPECT_FALSE(ok(io(), d->remove_sid("m1", "s2")));
  st = ok(io(), d->prune("missing", 1));
  EXPECT_TRUE(st.removed.empty());
  EXPECT_EQ(st.remaining, 0u);
  ok(io(), d->touch("m2", "a", 10));
  ok(io(), d->touch("m2", "b", 20));
  st = ok(io(), d->prune("m2", 100));
  EXPECT_EQ(st.removed.size(), 2u);
  EXPECT_FALSE(ok(io(), d->contains("m2")));
  // A stored value no reader can use: the operations that must read it refuse, touch replaces.
  ok(io(), d->set("m3", "garbage"));
  EXPECT_EQ(io().run(d->remove_sid("m3", "a")).error(), shared::error::bad_value);
  EXPECT_EQ(io().run(d->prune("m3", 1)).error(), shared::error::bad_value);
  ok(io(), d->touch("m3", "a", 5));
  EXPECT_EQ(*ok(io(), d->get("m3")), sid_map({{"a", 5}}));
}

// The race Python loses (docs/wire.md, "Lost pool updates"): HGET + HSET of the whole map from many
// writers.
TEST_P(SharedBackends, TwentyConcurrentTouchesFromTwoInstancesKeepEverySid) {
  auto a = env().dict(prefix, shared::keys::usage_pool, 0);
  auto b = env().dict(prefix, shared::keys::usage_pool, 1);
  std::vector<std::future<shared::result<void>>> done;
  for (int i = 0; i < 20; ++i) {
    auto& d = (i % 2 == 0) ? a : b;
    done.push_back(asio::co_spawn(io().io, d->touch("gpt", "sid" + std::to_string(i), 1700000000 + i), asio::use_future));
  }
  for (auto& f : done) {
    ASSERT_EQ(f.wait_for(30s), std::future_status::ready);
    EXPECT_TRUE(f.get());
  }
  auto map = ok(io(), a->get("gpt"));
  ASSERT_TRUE(map && map->is_object());
  EXPECT_EQ(map->as_object().size(), 20u);
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(map->as_object().at("sid" + std::to_string(i)).at("updated_at").as_int64(), 1700000000 + i);
}

TEST_P(SharedBackends, HeartbeatNeverRecreatesADeletedSid) {
  auto d = env().dict(prefix, shared::keys::session_pool);
  auto other = env().dict(prefix, shared::keys::session_pool, 1);
  json::object user{{"id", "u1"}, {"name", "Ann"}, {"role", "user"},
                    {"settings", json::object{{"pins", json::array{}}, {"last_seen_at", 3}}}, {"last_seen_at", 100}};
  ok(io(), d->set("sid1", user));
  EXPECT_TRUE(ok(io(), d->heartbeat("sid1", 500)));
  auto v = *ok(io(), other->get("sid1"));
  EXPECT_EQ(v.at("last_seen_at").as_int64(), 500);
  EXPECT_EQ(v.at("settings"), user["settings"]);  // the nested last_seen_at is not the member
  // The reaper decides on the value at that instant.
  EXPECT_FALSE(ok(io(), other->erase_stale("sid1", 400)));
  EXPECT_TRUE(ok(io(), other->contains("sid1")));
  EXPECT_TRUE(ok(io(), other->erase_stale("sid1", 600)));
  // Disconnect (or the reaper) deleted it; a late heartbeat must not bring it back.
  EXPECT_FALSE(ok(io(), d->heartbeat("sid1", 700)));
  EXPECT_FALSE(ok(io(), other->contains("sid1")));
  ok(io(), d->set("sid2", json::object{{"id", "u2"}, {"name", "B"}, {"role", "admin"}}));
  EXPECT_TRUE(ok(io(), d->erase("sid2")));
  EXPECT_FALSE(ok(io(), other->heartbeat("sid2", 1)));
  EXPECT_EQ(ok(io(), d->size()), 0u);
  // A record without last_seen_at gets one; one with a non-object value is left alone.
  ok(io(), d->set("sid3", json::object{{"id", "u3"}}));
  EXPECT_TRUE(ok(io(), d->heartbeat("sid3", 9)));
  EXPECT_EQ(ok(io(), d->get("sid3"))->at("last_seen_at").as_int64(), 9);
  ok(io(), d->set("sid4", json::object{}));
  EXPECT_TRUE(ok(io(), d->heartbeat("sid4", 10)));
  EXPECT_EQ(*ok(io(), d->get("sid4")), (json::object{{"last_seen_at", 10}}));
  ok(io(), d->set("sid5", json::array{1}));
  EXPECT_EQ(io().run(d->heartbeat("sid5", 1)).error(), shared::error::bad_value);
  EXPECT_EQ(io().run(d->erase_stale("sid5", 1)).error(), shared::error::bad_value);
}

TEST_P(SharedBackends, LockOwnerChecksAcrossInstances) {
  auto a = env().lock(prefix, shared::keys::usage_cleanup_lock, 60s, 0);
  auto b = env().lock(prefix, shared::keys::usage_cleanup_lock, 60s, 1);
  EXPECT_EQ(a->name(), prefix + ":usage_cleanup_lock");
  EXPECT_TRUE(*io().run(a->acquire()));
  EXPECT_EQ(env().holder(a->name()), a->owner());
  EXPECT_FALSE(*io().run(b->acquire()));
  EXPECT_FALSE(*io().run(b->renew()));    // renew by a non-owner fails...
  EXPECT_FALSE(*io().run(b->release()));  // ...and release by a non-owner leaves the lock
  EXPECT_EQ(env().holder(a->name()), a->owner());
  EXPECT_TRUE(*io().run(a->renew()));
  if (env().is_redis()) {
    const auto pttl = env().raw(a->name(), {"PTTL", a->name()}).integer;
    EXPECT_GT(pttl, 50000);
    EXPECT_LE(pttl, 60000);
  }
  EXPECT_TRUE(*io().run(a->release()));
  EXPECT_FALSE(env().holder(a->name()));
  EXPECT_TRUE(*io().run(b->acquire()));
  EXPECT_TRUE(*io().run(b->release()));
}

TEST_P(SharedBackends, ExpiredLockGoesToTheNextContenderAndTheOldOwnerCannotTouchIt) {
  auto a = env().lock(prefix, shared::keys::session_cleanup_lock, 200ms, 0);
  auto b = env().lock(prefix, shared::keys::session_cleanup_lock, 60s, 1);
  ASSERT_TRUE(*io().run(a->acquire()));
  ASSERT_TRUE(eventually([&] { return *io().run(b->acquire()); }));
  EXPECT_FALSE(*io().run(a->renew()));
  EXPECT_FALSE(*io().run(a->release()));
  EXPECT_EQ(env().holder(b->name()), b->owner());
}

TEST_P(SharedBackends, LockKeepersHandOverAndSurviveLosingTheLock) {
  const auto ttl = 1500ms;
  std::atomic<int> inside{0}, overlaps{0}, runs_a{0}, runs_b{0};
  auto job = [&inside, &overlaps](std::atomic<int>& counter) {
    return [&inside, &overlaps, runs = &counter]() -> net::awaitable<void> {
      if (inside.fetch_add(1) != 0) ++overlaps;
      ++*runs;
      inside.fetch_sub(1);
      co_return;
    };
  };
  shared::lock_keeper_options o;
  o.period = 10ms;
  o.retry_min = 20ms;
  o.retry_max = 50ms;
  auto a = shared::lock_keeper::start(io().io.get_executor(), env().lock(prefix, shared::keys::usage_cleanup_lock, ttl, 0),
                                      job(runs_a), o);
  ASSERT_TRUE(eventually([&] { return a->holding() && runs_a > 0; }));
  auto b = shared::lock_keeper::start(io().io.get_executor(), env().lock(prefix, shared::keys::usage_cleanup_lock, ttl, 1),
                                      job(runs_b), o);
  // b contends and keeps contending; a keeps the lock well past its TTL by renewing.
  const auto b_attempts = b->stats().attempts;
  ASSERT_TRUE(eventually([&] { return b->stats().attempts > b_attempts + 5; }));
  std::this_thread::sleep_for(ttl);
  EXPECT_TRUE(a->holding());
  EXPECT_FALSE(b->holding());
  EXPECT_EQ(runs_b, 0);
  EXPECT_GT(a->stats().renewals, 0u);
  // Until now the lock kept b out: no two runs at once.
  EXPECT_EQ(overlaps, 0);
  // The lock vanishes (an operator's DEL, a restart of Redis without persistence): b takes it,
  // a notices at its next renewal and goes back to contending without touching b's lock.
  const auto key = prefix + ":usage_cleanup_lock";
  env().force_delete(key);
  // Between b's acquisition and a's next renewal both run (a cannot know the key went away; the
  // lease documents this window, src/owcore/coord/shared/lock.hpp). The two runners' threads may
  // then overlap two runs, so overlaps are counted again only once a has let go.
  ASSERT_TRUE(eventually([&] { return b->holding() && !a->holding(); }));
  EXPECT_GE(a->stats().losses, 1u);
  const int overlaps_in_window = overlaps;
  const int runs_a_after_loss = runs_a;
  const int runs_b_after_loss = runs_b;
  EXPECT_TRUE(eventually([&] { return runs_b > runs_b_after_loss + 3; }));
  EXPECT_EQ(runs_a, runs_a_after_loss);  // a's job stopped with its loss
  // a stops while b holds: b's lock stays b's.
  a->stop();
  io().run(a->wait_stopped());
  EXPECT_TRUE(env().holder(key).has_value());
  EXPECT_TRUE(b->holding());
  b->stop();
  io().run(b->wait_stopped());
  EXPECT_FALSE(env().holder(key));  // b released its own lock on stop
  EXPECT_EQ(overlaps, overlaps_in_window);
}

INSTANTIATE_TEST_SUITE_P(Backends, SharedBackends, ::testing::Values("memory", "standalone", "cluster"),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

// --- Redis only: the stored text -------------------------------------------------------------

class SharedRedisText : public SharedBackends {};

TEST_P(SharedRedisText, ReadsStdlibAndOrjsonTextAndHeartbeatSplicesOnlyLastSeenAt) {
  auto d = env().dict(prefix, shared::keys::session_pool);
  const auto key = d->name();
  // json.dumps(...) of a user record: ", " separators, ASCII escapes, NaN, a 70-bit integer, a
  // nested "last_seen_at" and an empty list.
  const std::string stdlib =
      R"({"id": "u1", "name": "Zo\u00eb \ud83d\ude00", "role": "user", "info": {"score": NaN, "big": )"
      R"(1180591620717411303424, "last_seen_at": 5}, "settings": {"ui": {"pinnedModels": []}}, "last_seen_at": 1700000000})";
  env().raw(key, {"HSET", key, "sid-std", stdlib});
  auto v = *ok(io(), d->get("sid-std"));
  EXPECT_EQ(v.at("name").as_string(), "Zo\xc3\xab \xf0\x9f\x98\x80");
  EXPECT_TRUE(v.at("info").at("score").is_null());
  EXPECT_TRUE(v.at("settings").at("ui").at("pinnedModels").as_array().empty());
  EXPECT_EQ(v.at("last_seen_at").as_int64(), 1700000000);
  ASSERT_TRUE(ok(io(), d->heartbeat("sid-std", 1700000999)));
  std::string expected = stdlib;
  expected.replace(expected.rfind("1700000000"), 10, "1700000999");
  EXPECT_EQ(env().raw(key, {"HGET", key, "sid-std"}).str, expected);  // byte for byte
  // orjson output: compact UTF-8, member missing: appended.
  const std::string orjson = "{\"id\":\"u2\",\"name\":\"Zo\xc3\xab\",\"role\":\"admin\",\"tags\":[\"a}\\\"b\"]}";
  env().raw(key, {"HSET", key, "sid-orjson", orjson});
  EXPECT_EQ(ok(io(), d->get("sid-orjson"))->at("role").as_string(), "admin");
  ASSERT_TRUE(ok(io(), d->heartbeat("sid-orjson", 42)));
  EXPECT_EQ(env().raw(key, {"HGET", key, "sid-orjson"}).str,
            "{\"id\":\"u2\",\"name\":\"Zo\xc3\xab\",\"role\":\"admin\",\"tags\":[\"a}\\\"b\"],\"last_seen_at\":42}");
  // Whitespace around the members, and a last_seen_at that is not the last member.
  env().raw(key, {"HSET", key, "sid-ws", " { \"last_seen_at\" : 1 , \"id\" : \"x\" } "});
  ASSERT_TRUE(ok(io(), d->heartbeat("sid-ws", 77)));
  EXPECT_EQ(env().raw(key, {"HGET", key, "sid-ws"}).str, " { \"last_seen_at\" : 77 , \"id\" : \"x\" } ");
  EXPECT_FALSE(ok(io(), d->erase_stale("sid-ws", 77)));
  EXPECT_TRUE(ok(io(), d->erase_stale("sid-ws", 78)));
  // Not JSON at all: refused, left in place.
  env().raw(key, {"HSET", key, "sid-bad", "{\"id\": "});
  EXPECT_EQ(io().run(d->heartbeat("sid-bad", 1)).error(), shared::error::bad_value);
  EXPECT_EQ(io().run(d->get("sid-bad")).error(), shared::error::bad_value);
  EXPECT_EQ(env().raw(key, {"HGET", key, "sid-bad"}).str, "{\"id\": ");
  // items()/values() leave the unreadable entry out instead of failing.
  EXPECT_EQ(ok(io(), d->items()).size(), 2u);
  EXPECT_EQ(ok(io(), d->values()).size(), 2u);
}

TEST_P(SharedRedisText, UsageScriptsMergeStdlibMapsAndWriteIntegers) {
  auto d = env().dict(prefix, shared::keys::usage_pool);
  const auto key = d->name();
  env().raw(key, {"HSET", key, "m", R"({"sid-py": {"updated_at": 1700000000}})"});
  ok(io(), d->touch("m", "sid-cpp", 1700000123));
  const auto text = env().raw(key, {"HGET", key, "m"}).str;
  auto parsed = json::parse(text);  // strict JSON, integers as integers (cjson %.14g)
  EXPECT_EQ(parsed, sid_map({{"sid-py", 1700000000}, {"sid-cpp", 1700000123}}));
  EXPECT_TRUE(parsed.at("sid-cpp").at("updated_at").is_int64());
  EXPECT_EQ(text.find(' '), std::string::npos);
  // Milliseconds fit too (13 digits < 14).
  ok(io(), d->touch("m", "sid-ms", 1700000000123));
  EXPECT_EQ(json::parse(env().raw(key, {"HGET", key, "m"}).str).at("sid-ms").at("updated_at").as_int64(), 1700000000123);
}

TEST_P(SharedRedisText, LargeReplaceFallsBackToChunksAndStillNeverEmpties) {
  shared::shared_dict_options small;
  small.atomic_replace_max_fields = 10;
  small.chunk_fields = 7;
  auto d = env().dict(prefix, shared::keys::models, 0, small);
  json::object big;
  for (int i = 0; i < 40; ++i) big["m" + std::to_string(i)] = json::object{{"i", i}};
  auto st = ok(io(), d->replace_all(big));
  EXPECT_FALSE(st.atomic);
  EXPECT_EQ(st.written, 40u);
  json::object smaller;
  for (int i = 20; i < 45; ++i) smaller["m" + std::to_string(i)] = json::object{{"i", -i}};
  st = ok(io(), d->replace_all(smaller));
  EXPECT_FALSE(st.atomic);
  EXPECT_EQ(st.deleted, 20u);
  EXPECT_EQ(as_object(ok(io(), d->items())), smaller);
  // Within the limits the script is used.
  st = ok(io(), d->replace_all(json::object{{"m1", 1}}));
  EXPECT_TRUE(st.atomic);
  EXPECT_EQ(st.deleted, 25u);
}

// Open WebUI 0.11.1+ caches P:models on "<P>:models:signature" (docs/wire.md): every write of a
// field deletes it, a replacement sets "<sha256 of the stored mapping>:<uuid4 hex>" (kept when
// nothing changed), and other dicts never have one.
TEST_P(SharedRedisText, ModelsWritesMaintainTheSignature) {
  auto d = env().dict(prefix, shared::keys::models);
  const auto key = d->name();
  const auto sig = key + ":signature";
  auto plant = [&] { env().raw(sig, {"SET", sig, "stale:0123"}); };
  auto signature = [&]() -> std::optional<std::string> {
    auto r = env().raw(sig, {"GET", sig});
    if (r.is_nil()) return std::nullopt;
    return r.str;
  };

  plant();
  ok(io(), d->set("m1", json::object{{"id", "m1"}}));
  EXPECT_EQ(signature(), std::nullopt) << "set";
  plant();
  EXPECT_TRUE(ok(io(), d->erase("m1")));
  EXPECT_EQ(signature(), std::nullopt) << "erase";
  plant();
  ok(io(), d->clear());
  EXPECT_EQ(signature(), std::nullopt) << "clear";

  const json::object first{{"m1", json::object{{"id", "m1"}}}, {"m2", json::object{{"id", "m2"}, {"n", 2}}}};
  ok(io(), d->replace_all(first));
  const auto s1 = signature();
  ASSERT_TRUE(s1);
  ASSERT_EQ(s1->size(), 64u + 1 + 32) << *s1;
  std::vector<std::pair<std::string, std::string>> stored;
  const auto all = env().raw(key, {"HGETALL", key});
  for (std::size_t i = 0; i + 1 < all.elements.size(); i += 2) stored.emplace_back(all.elements[i].str, all.elements[i + 1].str);
  EXPECT_EQ(s1->substr(0, 65), shared::signature_digest(stored) + ":");
  EXPECT_EQ(s1->find_first_not_of("0123456789abcdef", 65), std::string::npos) << *s1;

  // The same mapping again: nothing to write, the signature is kept (Python's readers keep
  // their cache).
  auto st = ok(io(), d->replace_all(first));
  EXPECT_EQ(st.written + st.deleted, 0u);
  EXPECT_EQ(signature(), s1);

  // A writer that ignored the signature diverged the hash: repaired, with a new signature.
  env().raw(key, {"HSET", key, "m1", "{\"id\":\"tampered\"}"});
  st = ok(io(), d->replace_all(first));
  EXPECT_EQ(st.written, 1u);
  const auto s2 = signature();
  ASSERT_TRUE(s2);
  EXPECT_NE(s2, s1);
  EXPECT_EQ(s2->substr(0, 64), s1->substr(0, 64)) << "same content, same digest";

  // A different mapping: a different digest.
  ok(io(), d->replace_all(json::object{{"m3", json::object{{"id", "m3"}}}}));
  const auto s3 = signature();
  ASSERT_TRUE(s3);
  EXPECT_NE(s3->substr(0, 64), s1->substr(0, 64));

  // An empty mapping is Python's clear(): hash and signature gone.
  ok(io(), d->replace_all(json::object{}));
  EXPECT_EQ(signature(), std::nullopt);
  EXPECT_EQ(env().raw(key, {"EXISTS", key}).integer, 0);

  // Other dicts keep no signature.
  auto pool = env().dict(prefix, shared::keys::usage_pool);
  ok(io(), pool->replace_all(json::object{{"m", sid_map({{"s", 1}})}}));
  const auto pool_sig = pool->name() + ":signature";
  EXPECT_EQ(env().raw(pool_sig, {"EXISTS", pool_sig}).integer, 0);
}

INSTANTIATE_TEST_SUITE_P(Redis, SharedRedisText, ::testing::Values("standalone", "cluster"),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

// --- Interop with Python Open WebUI ---------------------------------------------------------

// The constants of shared_interop.py.
constexpr std::int64_t T0 = 1700000000, T1 = 1700000100, T2 = 1700000200, T3 = 1700000300;
const std::string name_utf8 = "Zo\xc3\xab \xf0\x9f\x98\x80";

std::filesystem::path interop_script() {
#ifdef OWCORE_SOURCE_DIR
  return std::filesystem::path(OWCORE_SOURCE_DIR) / "tests/integration/python/shared_interop.py";
#else
  return std::filesystem::path(OWCORE_SOURCE_DIR) / "tests/integration/python/shared_interop.py";
#endif
}

class SharedPythonInterop : public ::testing::Test {
 public:
  static void SetUpTestSuite() { env_ = std::make_unique<redis_env>(false); }
  static void TearDownTestSuite() { env_.reset(); }

 protected:
  // Runs the script with Debian's interpreter (the one python3-redis is installed for) and
  // returns its exit code; a crash or timeout fails the test.
  int python(const std::vector<std::string>& args) {
    const std::string interpreter = std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
    std::vector<std::string> argv{interpreter, interop_script().string(), "--port", std::to_string(env_->port()),
                                  "--prefix", prefix};
    argv.insert(argv.end(), args.begin(), args.end());
    test::process p(argv, dir_.path() / ("py-" + std::to_string(runs_++) + ".log"));
    auto status = p.wait_for_exit(60s);
    if (!status || !WIFEXITED(*status)) {
      ADD_FAILURE() << "python did not finish: " << p.log_tail();
      return -1;
    }
    const int code = WEXITSTATUS(*status);
    if (code == 77) ADD_FAILURE() << "Debian's python3-redis is required: " << p.log_tail();
    if (code != 0 && code != 3) ADD_FAILURE() << "python failed (exit " << code << "):\n" << p.log_tail();
    return code;
  }
  io_runner& io() { return env_->io(); }

  static inline std::unique_ptr<redis_env> env_;
  const std::string prefix = unique_prefix();
  test::temp_dir dir_{"owcore-shared-py-"};
  int runs_ = 0;
};

json::value user_record(const std::string& id, std::int64_t last_seen_at) {
  return json::object{{"id", id},
                      {"email", id + "@example.com"},
                      {"username", nullptr},
                      {"role", "user"},
                      {"name", name_utf8},
                      {"timezone", nullptr},
                      {"info", nullptr},
                      {"settings", json::object{{"ui", json::object{{"pinnedModels", json::array{}}}}}},
                      {"oauth", nullptr},
                      {"last_active_at", T1},
                      {"updated_at", T1},
                      {"created_at", T1},
                      {"last_seen_at", last_seen_at}};
}

TEST_F(SharedPythonInterop, EachSideReadsTheOthersPoolEntriesAndModels) {
  auto sessions = env_->dict(prefix, shared::keys::session_pool, 0, {});
  auto usage = env_->dict(prefix, shared::keys::usage_pool, 1, {});
  auto models = env_->dict(prefix, shared::keys::models, 0, {});

  // 1. Python writes; owcore reads stdlib and orjson-style JSON.
  ASSERT_EQ(python({"--phase", "write"}), 0);
  for (const char* sid : {"sid-py", "sid-py-orjson"}) {
    auto e = ok(io(), sessions->get(sid));
    ASSERT_TRUE(e) << sid;
    EXPECT_EQ(e->at("name").as_string(), name_utf8);
    EXPECT_EQ(e->at("role").as_string(), "user");
    EXPECT_EQ(e->at("last_seen_at").as_int64(), T0);
    EXPECT_TRUE(e->at("info").at("score").is_null());  // NaN
    EXPECT_TRUE(e->at("settings").at("ui").at("pinnedModels").as_array().empty());
  }
  EXPECT_EQ(*ok(io(), usage->get("model-a")), sid_map({{"sid-py", T0}}));
  const json::object models_py = json::parse(R"({
      "m1": {"id": "m1", "name": "Model One", "owned_by": "ollama", "info": {"meta": {"tags": []}}, "created": 1700000000},
      "m2": {"id": "m2", "name": "Model Two", "owned_by": "openai", "pipe": null, "created": 1700000000}})").as_object();
  EXPECT_EQ(as_object(ok(io(), models->items())), models_py);

  // 2. owcore writes into the same structures.
  ok(io(), usage->touch("model-a", "sid-cpp", T1));
  EXPECT_TRUE(ok(io(), sessions->heartbeat("sid-py", T2)));
  ok(io(), sessions->set("sid-cpp", user_record("u-cpp", T1)));
  const json::object models_cpp = json::parse(R"({
      "m2": {"id": "m2", "name": "Model Two", "owned_by": "openai", "pipe": null, "created": 1700000100},
      "m3": {"id": "m3", "name": "Mod\u00e8le 3", "owned_by": "ollama", "tags": [], "created": 1700000100}})").as_object();
  auto st = ok(io(), models->replace_all(models_cpp));
  EXPECT_EQ(st.deleted, 1u);

  // 3. Python reads all of it with json.loads, then mutates owcore's entries its own way.
  ASSERT_EQ(python({"--phase", "check"}), 0);

  // 4. owcore reads Python's rewrites of its entries.
  EXPECT_EQ(ok(io(), sessions->get("sid-cpp"))->at("last_seen_at").as_int64(), T3);
  EXPECT_EQ(*ok(io(), usage->get("model-a")), sid_map({{"sid-cpp", T1}, {"sid-py2", T3}}));
  auto pruned = ok(io(), usage->prune("model-a", T3));
  EXPECT_EQ(pruned.removed, std::vector<std::string>{"sid-cpp"});
  EXPECT_EQ(*ok(io(), usage->get("model-a")), sid_map({{"sid-py2", T3}}));
}

// Python computes the same digest over what owcore stored, and sees Python's replace order
// (DEL signature, HSET, HDEL, SET signature) in MONITOR.
TEST_F(SharedPythonInterop, ModelsSignatureMatchesPythonsDigestAndOrder) {
  auto models = env_->dict(prefix, shared::keys::models, 0, {});
  ok(io(), models->replace_all(json::parse(R"({"m1": {"id": "m1", "name": "Mod\u00e8le"}, "m2": {"id": "m2"}})").as_object()));
  EXPECT_EQ(python({"--phase", "signature-check"}), 0);

  const auto ready = dir_.path() / "monitor-ready";
  const std::string interpreter = std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
  test::process monitor({interpreter, interop_script().string(), "--port", std::to_string(env_->port()), "--prefix", prefix,
                         "--phase", "signature-monitor", "--ready-file", ready.string()},
                        dir_.path() / "py-monitor.log");
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(ready); })) << monitor.log_tail();
  ok(io(), models->replace_all(json::parse(R"({"m2": {"id": "m2", "n": 2}, "m3": {"id": "m3"}})").as_object()));
  const auto status = monitor.wait_for_exit(30s);
  ASSERT_TRUE(status) << monitor.log_tail();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << monitor.log_tail();
  EXPECT_EQ(python({"--phase", "signature-check"}), 0);
}

TEST_F(SharedPythonInterop, PythonHoldsTheCleanupLock) {
  const std::string py_owner = shared::make_owner_token();
  auto lock = env_->lock(prefix, shared::keys::usage_cleanup_lock, 60s, 0);
  ASSERT_EQ(python({"--phase", "lock-acquire", "--owner", py_owner}), 0);
  EXPECT_FALSE(*io().run(lock->acquire()));
  EXPECT_FALSE(*io().run(lock->renew()));
  EXPECT_FALSE(*io().run(lock->release()));
  EXPECT_EQ(python({"--phase", "lock-holder", "--owner", py_owner}), 0);  // untouched
  EXPECT_EQ(python({"--phase", "lock-renew", "--owner", py_owner}), 0);
  // A keeper contends without ever touching Python's lock.
  shared::lock_keeper_options o;
  o.retry_min = 10ms;
  o.retry_max = 20ms;
  std::atomic<int> runs{0};
  auto keeper = shared::lock_keeper::start(io().io.get_executor(), env_->lock(prefix, shared::keys::usage_cleanup_lock, 60s, 0),
                                           [&]() -> net::awaitable<void> {
                                             ++runs;
                                             co_return;
                                           },
                                           o);
  ASSERT_TRUE(eventually([&] { return keeper->stats().attempts > 5; }));
  EXPECT_FALSE(keeper->holding());
  EXPECT_EQ(python({"--phase", "lock-holder", "--owner", py_owner}), 0);
  // Python releases (owner-checked); the keeper takes over.
  EXPECT_EQ(python({"--phase", "lock-release", "--owner", py_owner}), 0);
  ASSERT_TRUE(eventually([&] { return keeper->holding() && runs > 0; }));
  keeper->stop();
  io().run(keeper->wait_stopped());
  EXPECT_EQ(env_->raw(prefix + ":usage_cleanup_lock", {"EXISTS", prefix + ":usage_cleanup_lock"}).integer, 0);
}

TEST_F(SharedPythonInterop, OwcoreHoldsTheCleanupLock) {
  const std::string py_owner = shared::make_owner_token();
  auto lock = env_->lock(prefix, shared::keys::session_cleanup_lock, 60s, 0);
  ASSERT_TRUE(*io().run(lock->acquire()));
  const std::vector<std::string> py{"--lock", "session_cleanup_lock", "--owner", py_owner};
  auto with = [&](const char* phase) {
    std::vector<std::string> a{"--phase", phase};
    a.insert(a.end(), py.begin(), py.end());
    return a;
  };
  EXPECT_EQ(python(with("lock-acquire")), 3);
  EXPECT_EQ(python(with("lock-renew")), 3);
  EXPECT_EQ(python(with("lock-release")), 3);
  const std::vector<std::string> mine{"--phase", "lock-holder", "--lock", "session_cleanup_lock", "--owner", lock->owner()};
  EXPECT_EQ(python(mine), 0);
  EXPECT_TRUE(*io().run(lock->renew()));
  EXPECT_TRUE(*io().run(lock->release()));
  EXPECT_EQ(python(with("lock-acquire")), 0);
  EXPECT_EQ(python(with("lock-holder")), 0);
  EXPECT_FALSE(*io().run(lock->acquire()));
  EXPECT_EQ(python(with("lock-release")), 0);
}

}  // namespace

}  // namespace shared_test
