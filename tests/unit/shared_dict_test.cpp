// The memory backend of the shared dicts: Python RedisDict semantics, bulk replace, and the
// usage-pool and session-pool atomic operations. The integration suite (shared_test.cpp) runs
// the same behaviours against Redis.
#include "owcore/coord/shared/keys.hpp"
#include "owcore/coord/shared/shared_dict.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace shared_dict_test {

namespace shared = owcore::coord::shared;
namespace net = owcore::net;
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

template <class T>
T run(net::awaitable<T> a) {
  asio::io_context io;
  auto f = asio::co_spawn(io, std::move(a), asio::use_future);
  io.run();
  return f.get();
}

template <class T>
T ok(net::awaitable<shared::result<T>> a) {
  auto r = run(std::move(a));
  if (!r) throw std::runtime_error("operation failed: " + r.error().message());
  return std::move(*r);
}

void ok(net::awaitable<shared::result<void>> a) {
  auto r = run(std::move(a));
  if (!r) throw std::runtime_error("operation failed: " + r.error().message());
}

json::value usage_entry(std::initializer_list<std::pair<const char*, std::int64_t>> sids) {
  json::object o;
  for (auto& [sid, t] : sids) o[sid] = json::object{{"updated_at", t}};
  return o;
}

}  // namespace

TEST(SharedKeys, PythonKeyNames) {
  EXPECT_EQ(shared::keys::key("open-webui", shared::keys::session_pool), "open-webui:session_pool");
  EXPECT_EQ(shared::keys::key("open-webui", shared::keys::usage_pool), "open-webui:usage_pool");
  EXPECT_EQ(shared::keys::key("open-webui", shared::keys::models), "open-webui:models");
  EXPECT_EQ(shared::keys::key("p", shared::keys::usage_cleanup_lock), "p:usage_cleanup_lock");
  EXPECT_EQ(shared::keys::key("p", shared::keys::session_cleanup_lock), "p:session_cleanup_lock");
  EXPECT_EQ(shared::keys::key("", shared::keys::models), ":models");
}

// Open WebUI 0.11.1's RedisDict digest, checked against Python's hashlib over the same texts:
// fields sorted by name (UTF-8 byte order = Python's code point order), NUL-terminated pairs.
TEST(SharedSignature, DigestMatchesPythonsRedisDict) {
  EXPECT_EQ(shared::signature_digest({{"m2", R"({"id":"m2"})"},
                                      {"m1", "{\"id\":\"m1\",\"name\":\"Mod\xc3\xa8le\"}"},
                                      {"\xc3\xa9", "1"}}),
            "7a848f3985680549423140049bdb59a51fa821befb84215cd7a8c7e90ebc6f57");
  EXPECT_EQ(shared::signature_digest({}), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(std::string(shared::keys::signature_suffix), ":signature");
}

TEST(SharedMemoryDict, RedisDictOperations) {
  auto d = shared::make_memory_shared_dict("models");
  EXPECT_EQ(d->name(), "models");
  EXPECT_FALSE(ok(d->get("a")).has_value());
  EXPECT_FALSE(ok(d->contains("a")));
  EXPECT_EQ(ok(d->size()), 0u);
  ok(d->set("a", json::object{{"id", "a"}, {"n", 1}}));
  ok(d->set("b", json::array{1, 2}));
  EXPECT_TRUE(ok(d->contains("a")));
  EXPECT_EQ(ok(d->size()), 2u);
  EXPECT_EQ(*ok(d->get("a")), (json::object{{"id", "a"}, {"n", 1}}));
  auto keys = ok(d->keys());
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(ok(d->values()).size(), 2u);
  auto items = ok(d->items());
  ASSERT_EQ(items.size(), 2u);
  EXPECT_TRUE(ok(d->erase("a")));
  EXPECT_FALSE(ok(d->erase("a")));
  ok(d->clear());
  EXPECT_EQ(ok(d->size()), 0u);
}

TEST(SharedMemoryDict, ReplaceAllWritesDifferencesDeletesTheRestAndEmptyClears) {
  auto d = shared::make_memory_shared_dict("models");
  ok(d->set("a", json::object{{"v", 1}}));
  ok(d->set("b", json::object{{"v", 1}}));
  ok(d->set("c", json::object{{"v", 1}}));
  json::object next{{"b", json::object{{"v", 2}}}, {"c", json::object{{"v", 1}}}, {"d", json::object{{"v", 1}}}};
  auto st = ok(d->replace_all(next));
  EXPECT_EQ(st.written, 2u);  // b changed, d new; c unchanged
  EXPECT_EQ(st.deleted, 1u);  // a
  EXPECT_TRUE(st.atomic);
  auto items = ok(d->items());
  json::object got;
  for (auto& [k, v] : items) got[k] = v;
  EXPECT_EQ(got, next);
  // The same mapping again changes nothing.
  st = ok(d->replace_all(next));
  EXPECT_EQ(st.written, 0u);
  EXPECT_EQ(st.deleted, 0u);
  ok(d->replace_all(json::object{}));
  EXPECT_EQ(ok(d->size()), 0u);
}

TEST(SharedMemoryDict, UsagePoolTouchRemovePrune) {
  auto d = shared::make_memory_shared_dict(shared::keys::key("p", shared::keys::usage_pool));
  ok(d->touch("m1", "s1", 100));
  ok(d->touch("m1", "s2", 200));
  ok(d->touch("m1", "s1", 150));
  EXPECT_EQ(*ok(d->get("m1")), usage_entry({{"s1", 150}, {"s2", 200}}));
  auto st = ok(d->prune("m1", 160));
  EXPECT_EQ(st.removed, std::vector<std::string>{"s1"});
  EXPECT_EQ(st.remaining, 1u);
  EXPECT_EQ(*ok(d->get("m1")), usage_entry({{"s2", 200}}));
  EXPECT_FALSE(ok(d->remove_sid("m1", "nope")));
  EXPECT_TRUE(ok(d->remove_sid("m1", "s2")));
  EXPECT_FALSE(ok(d->contains("m1")));  // the last sid removed the field
  EXPECT_FALSE(ok(d->remove_sid("m1", "s2")));
  st = ok(d->prune("missing", 1));
  EXPECT_TRUE(st.removed.empty());
  EXPECT_EQ(st.remaining, 0u);
  // Pruning every sid deletes the field; entries without a numeric updated_at are stale.
  ok(d->set("m2", json::object{{"a", json::object{{"updated_at", "x"}}}, {"b", json::object{}}, {"c", 5}}));
  st = ok(d->prune("m2", 0));
  EXPECT_EQ(st.removed.size(), 3u);
  EXPECT_FALSE(ok(d->contains("m2")));
}

TEST(SharedMemoryDict, UsagePoolBadValues) {
  auto d = shared::make_memory_shared_dict("usage");
  ok(d->set("m", "not a map"));
  EXPECT_EQ(run(d->remove_sid("m", "s")).error(), shared::error::bad_value);
  EXPECT_EQ(run(d->prune("m", 1)).error(), shared::error::bad_value);
  EXPECT_EQ(*ok(d->get("m")), json::value("not a map"));
  ok(d->touch("m", "s", 7));  // a fresh map replaces what no reader can use
  EXPECT_EQ(*ok(d->get("m")), usage_entry({{"s", 7}}));
}

TEST(SharedMemoryDict, HeartbeatNeverRecreatesAndEraseStaleDecidesOnCurrentValue) {
  auto d = shared::make_memory_shared_dict("sessions");
  json::object user{{"id", "u1"}, {"name", "Ann"}, {"role", "user"}, {"settings", json::object{{"pins", json::array{}}}},
                    {"last_seen_at", 100}};
  ok(d->set("sid1", user));
  EXPECT_TRUE(ok(d->heartbeat("sid1", 500)));
  auto v = *ok(d->get("sid1"));
  EXPECT_EQ(v.at("last_seen_at").as_int64(), 500);
  EXPECT_EQ(v.at("settings"), user["settings"]);
  EXPECT_FALSE(ok(d->erase_stale("sid1", 400)));
  EXPECT_TRUE(ok(d->contains("sid1")));
  EXPECT_TRUE(ok(d->erase_stale("sid1", 600)));
  EXPECT_FALSE(ok(d->heartbeat("sid1", 700)));
  EXPECT_FALSE(ok(d->contains("sid1")));  // no ghost
  EXPECT_FALSE(ok(d->erase_stale("sid1", 800)));
  // An entry without last_seen_at gets one; an entry without one counts as stale.
  ok(d->set("sid2", json::object{{"id", "u2"}}));
  EXPECT_TRUE(ok(d->heartbeat("sid2", 9)));
  EXPECT_EQ(ok(d->get("sid2"))->at("last_seen_at").as_int64(), 9);
  ok(d->set("sid3", json::object{}));
  EXPECT_TRUE(ok(d->erase_stale("sid3", 1)));
  ok(d->set("sid4", json::array{}));
  EXPECT_EQ(run(d->heartbeat("sid4", 1)).error(), shared::error::bad_value);
  EXPECT_EQ(run(d->erase_stale("sid4", 1)).error(), shared::error::bad_value);
}

TEST(SharedMemoryDict, ConcurrentTouchesFromManyThreadsKeepEverySid) {
  auto d = shared::make_memory_shared_dict("usage");
  std::vector<std::thread> threads;
  for (int i = 0; i < 20; ++i)
    threads.emplace_back([d, i] { ok(d->touch("m", "s" + std::to_string(i), 1000 + i)); });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok(d->get("m"))->as_object().size(), 20u);
}

}  // namespace shared_dict_test
