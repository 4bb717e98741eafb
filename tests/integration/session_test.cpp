// HTTP sessions on real Redis (standalone and Cluster): the Redis store behaves like the memory
// store, writes starsessions' exact shape and TTL, never turns a client's string into a key,
// keeps deleted sessions deleted under racing writes, and interoperates with a Python process
// doing Open WebUI's operations (tests/integration/python/session_interop.py).
#include "owcore/coord/sessions/error.hpp"
#include "owcore/coord/sessions/keys.hpp"
#include "owcore/coord/sessions/session_data.hpp"
#include "owcore/coord/sessions/session_service.hpp"
#include "owcore/coord/sessions/session_store.hpp"
#include "owcore/coord/sessions/signed_cookie.hpp"
#include "owcore/redis/client.hpp"
#include "support/io_runner.hpp"
#include "support/process.hpp"
#include "support/redis_client.hpp"
#include "support/redis_topology.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace session_test {

namespace sessions = owcore::coord::sessions;
namespace coord = owcore::coord;
namespace redis = owcore::redis;
namespace net = owcore::net;
namespace test = owcore::test;
namespace json = boost::json;
namespace asio = boost::asio;
using namespace std::chrono_literals;
using sessions::cookie_action;
using sessions::session_id;

namespace {

using owcore::test::io_runner;

std::shared_ptr<spdlog::logger> test_log() {
  static auto log = [] {
    auto l = std::make_shared<spdlog::logger>("session-test", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    l->set_level(spdlog::level::warn);
    return l;
  }();
  return log;
}

json::object obj(std::string_view text) { return json::parse(text).as_object(); }
std::optional<std::string> opt(std::string s) { return std::optional<std::string>(std::move(s)); }

// One topology under test: a started client plus raw access to the node holding a key.
struct redis_env {
  io_runner& r;
  std::shared_ptr<redis::client> client;
  std::function<int(const std::string& key)> port_for;  // the node that serves `key`
  std::function<std::vector<int>()> master_ports;
  bool cluster = false;
  int seed_port = 0;

  test::reply raw(const std::string& key, std::vector<std::string> args) {
    return test::redis_command(port_for(key), args);
  }
  // Every key under `prefix` on every master (test code only: KEYS).
  std::vector<std::string> keys(const std::string& prefix) {
    std::vector<std::string> out;
    for (int port : master_ports()) {
      auto rep = test::redis_command(port, {"KEYS", prefix + "*"});
      for (auto& e : rep.elements) out.push_back(e.str);
    }
    return out;
  }
};

// A store decorator that runs a hook right after each read: another instance acting between
// our read and our write.
class hooked_store final : public sessions::session_store {
 public:
  using hook = std::function<net::awaitable<void>(sessions::session_store&, session_id)>;
  explicit hooked_store(std::shared_ptr<sessions::session_store> inner) : inner_(std::move(inner)) {}
  hook after_read;

  net::awaitable<boost::system::result<std::optional<std::string>>> read(session_id id) override {
    auto r = co_await inner_->read(id);
    if (after_read) co_await after_read(*inner_, id);
    co_return r;
  }
  net::awaitable<boost::system::result<bool>> create(session_id id, std::string v) override {
    co_return co_await inner_->create(std::move(id), std::move(v));
  }
  net::awaitable<boost::system::result<sessions::cas_result>> replace(session_id id, std::string e,
                                                                      std::string v) override {
    co_return co_await inner_->replace(std::move(id), std::move(e), std::move(v));
  }
  net::awaitable<boost::system::result<sessions::cas_result>> remove_if(session_id id,
                                                                        std::string e) override {
    co_return co_await inner_->remove_if(std::move(id), std::move(e));
  }
  net::awaitable<boost::system::result<void>> remove(session_id id) override {
    co_return co_await inner_->remove(std::move(id));
  }

 private:
  std::shared_ptr<sessions::session_store> inner_;
};

// ---------------------------------------------------------------------------------------------
// The same behaviour on every backend.

void exercise_store(io_runner& r, sessions::session_store& s) {
  auto id = session_id::generate();
  EXPECT_FALSE(*r.run(s.read(id)));
  EXPECT_TRUE(*r.run(s.create(id, "v1")));
  EXPECT_FALSE(*r.run(s.create(id, "v2")));
  EXPECT_EQ(**r.run(s.read(id)), "v1");
  EXPECT_EQ(*r.run(s.replace(id, "nope", "v2")), sessions::cas_result::changed);
  EXPECT_EQ(*r.run(s.replace(id, "v1", "v2")), sessions::cas_result::applied);
  EXPECT_EQ(**r.run(s.read(id)), "v2");
  EXPECT_EQ(*r.run(s.remove_if(id, "v1")), sessions::cas_result::changed);
  EXPECT_EQ(*r.run(s.remove_if(id, "v2")), sessions::cas_result::applied);
  EXPECT_EQ(*r.run(s.replace(id, "v2", "v3")), sessions::cas_result::gone);
  EXPECT_EQ(*r.run(s.remove_if(id, "v2")), sessions::cas_result::gone);
  EXPECT_FALSE(*r.run(s.read(id)));
  EXPECT_TRUE(r.run(s.remove(id)));
  // Binary-safe values.
  const std::string bin("\0\r\n\xff{}\"", 8);
  EXPECT_TRUE(*r.run(s.create(id, bin)));
  EXPECT_EQ(*r.run(s.replace(id, bin, bin + "x")), sessions::cas_result::applied);
  EXPECT_EQ(**r.run(s.read(id)), bin + "x");
  EXPECT_TRUE(r.run(s.remove(id)));
}

void exercise_service(io_runner& r, std::shared_ptr<sessions::session_store> store) {
  auto hooked = std::make_shared<hooked_store>(store);
  auto svc = sessions::make_server_session_service(hooked);

  // Create, read, merge.
  auto p = r.run(svc->patch(std::nullopt, obj(R"({"a":1,"b":{"c":2}})")));
  ASSERT_TRUE(p) << p.error().message();
  ASSERT_EQ(p->cookie.action, cookie_action::set);
  const auto id = p->cookie.value;
  EXPECT_TRUE(session_id::well_formed(id));
  EXPECT_EQ(r.run(svc->get(opt(id)))->data, obj(R"({"a":1,"b":{"c":2}})"));
  auto m = r.run(svc->patch(opt(id), obj(R"({"b":{"c":null,"d":[1]},"a":null})")));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->data, obj(R"({"b":{"d":[1]}})"));
  EXPECT_EQ(m->cookie.action, cookie_action::keep);

  // Unknown and garbage ids.
  for (std::string bad : {"ffffffffffffffffffffffffffffffff", "x", "../../x"}) {
    auto g = r.run(svc->get(opt(bad)));
    ASSERT_TRUE(g);
    EXPECT_TRUE(g->data.empty());
    EXPECT_EQ(g->cookie.action, cookie_action::clear);
  }

  // Rotation.
  auto rot = r.run(svc->rotate(opt(id)));
  ASSERT_TRUE(rot);
  ASSERT_EQ(rot->cookie.action, cookie_action::set);
  const auto id2 = rot->cookie.value;
  EXPECT_NE(id2, id);
  EXPECT_TRUE(r.run(svc->get(opt(id)))->data.empty());
  EXPECT_EQ(r.run(svc->get(opt(id2)))->data, obj(R"({"b":{"d":[1]}})"));

  // A delete landing between our read and our write: the write fails, the key stays deleted.
  hooked->after_read = [](sessions::session_store& s, session_id sid) -> net::awaitable<void> {
    co_await s.remove(std::move(sid));
  };
  auto late = r.run(svc->patch(opt(id2), obj(R"({"late":1})")));
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error(), sessions::error::deleted);
  hooked->after_read = nullptr;
  EXPECT_FALSE(*r.run(store->read(*session_id::parse(id2))));

  // Clear.
  auto id3 = r.run(svc->patch(std::nullopt, obj(R"({"z":1})")))->cookie.value;
  auto c = r.run(svc->clear(opt(id3)));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->cookie.action, cookie_action::clear);
  EXPECT_FALSE(*r.run(store->read(*session_id::parse(id3))));
}

// Many writers racing a delete on the same sessions: once the DEL has happened, no write may
// bring the key back (Python's blind SET would).
void exercise_delete_races(io_runner& r, std::shared_ptr<sessions::session_store> store,
                           const std::function<bool(const std::string& id)>& exists) {
  auto svc = sessions::make_server_session_service(store);
  constexpr int sessions_n = 20, writers = 8;
  std::vector<std::string> ids;
  for (int i = 0; i < sessions_n; ++i)
    ids.push_back(r.run(svc->patch(std::nullopt, obj(R"({"n":0})")))->cookie.value);

  std::vector<std::future<boost::system::result<sessions::session_state>>> writes;
  std::vector<std::future<boost::system::result<sessions::session_state>>> deletes;
  for (int w = 0; w < writers; ++w) {
    for (const auto& id : ids) {
      json::object patch;
      patch["w" + std::to_string(w)] = w;
      writes.push_back(asio::co_spawn(r.io, svc->patch(opt(id), std::move(patch)), asio::use_future));
    }
    if (w == writers / 2)
      for (const auto& id : ids) deletes.push_back(asio::co_spawn(r.io, svc->clear(opt(id)), asio::use_future));
  }
  int deleted = 0, applied = 0, fresh = 0;
  for (auto& f : writes) {
    ASSERT_EQ(f.wait_for(60s), std::future_status::ready);
    auto res = f.get();
    if (!res) {
      ASSERT_EQ(res.error(), sessions::error::deleted) << res.error().message();
      ++deleted;
    } else if (res->cookie.action == cookie_action::set) {
      ++fresh;  // started after the delete: an unknown id gets a fresh session of its own
      EXPECT_TRUE(std::find(ids.begin(), ids.end(), res->cookie.value) == ids.end());
      r.run(svc->clear(opt(res->cookie.value)));
    } else {
      ++applied;
    }
  }
  for (auto& f : deletes) {
    ASSERT_EQ(f.wait_for(60s), std::future_status::ready);
    ASSERT_TRUE(f.get());
  }
  for (const auto& id : ids) EXPECT_FALSE(exists(id)) << id << " came back after its delete";
  EXPECT_EQ(deleted + applied + fresh, sessions_n * writers);
  std::cerr << "delete races: " << applied << " writes applied before the delete, " << deleted
            << " refused after it, " << fresh << " started after it\n";
}

// ---------------------------------------------------------------------------------------------
// Redis-only checks: key, shape, TTL, and what reaches Redis.

void exercise_wire_format(redis_env& env, const std::string& prefix) {
  auto store = sessions::make_redis_session_store({env.client, prefix});
  auto svc = sessions::make_server_session_service(store);
  const double before = sessions::unix_time_now();
  auto p = env.r.run(svc->patch(std::nullopt, obj(R"({"_x":{"exp":1700003600,"s":"é"}})")));
  ASSERT_TRUE(p) << p.error().message();
  const auto id = *session_id::parse(p->cookie.value);
  const auto key = sessions::keys::session(prefix, id);
  EXPECT_EQ(key, (prefix.empty() ? "session:" : prefix + ":session:") + id.str());

  auto raw = env.raw(key, {"GET", key});
  ASSERT_TRUE(raw.is_string()) << raw.to_string();
  auto v = json::parse(raw.str).as_object();
  EXPECT_EQ(v.at("_x"), json::parse(R"({"exp":1700003600,"s":"é"})"));
  ASSERT_TRUE(v.contains("__metadata__"));
  const auto& meta = v.at("__metadata__").as_object();
  ASSERT_EQ(meta.size(), 3u);
  EXPECT_TRUE(meta.at("lifetime").is_int64());
  EXPECT_EQ(meta.at("lifetime").as_int64(), 0);
  EXPECT_TRUE(meta.at("created").is_double());
  EXPECT_TRUE(meta.at("last_access").is_double());
  EXPECT_GE(meta.at("created").as_double(), before - 1);
  EXPECT_LE(meta.at("created").as_double(), sessions::unix_time_now() + 1);

  auto ttl = env.raw(key, {"TTL", key});
  EXPECT_GE(ttl.integer, 2592000 - 60);
  EXPECT_LE(ttl.integer, 2592000);

  // A read refreshes the TTL, as Python's per-response SET does.
  env.raw(key, {"EXPIRE", key, "100"});
  ASSERT_TRUE(env.r.run(svc->get(opt(id.str()))));
  EXPECT_GE(env.raw(key, {"TTL", key}).integer, 2592000 - 60);
  env.raw(key, {"DEL", key});
}

void exercise_attacker_ids(redis_env& env, const std::string& prefix) {
  auto svc = sessions::make_server_session_service(sessions::make_redis_session_store({env.client, prefix}));
  const std::vector<std::string> attacker = {
      "attacker", "{slot}x", "../../../etc", "*", "0123456789ABCDEF0123456789ABCDEF",
      std::string(5000, 'k'), "ffffffffffffffffffffffffffffffff"};
  std::vector<std::string> issued;
  for (const auto& a : attacker) {
    ASSERT_TRUE(env.r.run(svc->get(opt(a))));
    auto p = env.r.run(svc->patch(opt(a), obj(R"({"k":1})")));
    ASSERT_TRUE(p);
    ASSERT_EQ(p->cookie.action, cookie_action::set);
    EXPECT_NE(p->cookie.value, a);
    issued.push_back(p->cookie.value);
    ASSERT_TRUE(env.r.run(svc->rotate(opt(a))));
    ASSERT_TRUE(env.r.run(svc->clear(opt(a))));
  }
  auto keys = env.keys(prefix);
  EXPECT_EQ(keys.size(), issued.size());
  for (const auto& k : keys) {
    const std::string head = prefix + ":session:";
    ASSERT_EQ(k.rfind(head, 0), 0u) << k;
    const auto id = k.substr(head.size());
    EXPECT_TRUE(session_id::well_formed(id)) << k;
    EXPECT_TRUE(std::find(issued.begin(), issued.end(), id) != issued.end()) << k;
  }
  for (const auto& id : issued) env.r.run(svc->clear(opt(id)));
}

// ---------------------------------------------------------------------------------------------
// Python interop.

std::filesystem::path interop_script() {
  return std::filesystem::path(OWCORE_SOURCE_DIR) / "tests/integration/python/session_interop.py";
}

std::string python() {
  // Debian's interpreter carries python3-redis; a pyenv shim earlier on PATH may not.
  if (std::filesystem::exists("/usr/bin/python3")) return "/usr/bin/python3";
  return test::find_executable("python3").string();
}

struct py_result {
  int status = -1;
  std::string output;
};

py_result run_python(const redis_env& env, const std::string& prefix, std::vector<std::string> args) {
  static int counter = 0;
  test::temp_dir dir("owcore-session-py-");
  auto log = dir.path() / ("py" + std::to_string(++counter) + ".log");
  std::vector<std::string> argv{python(), interop_script().string(), args.at(0),
                                "--port", std::to_string(env.seed_port), "--prefix", prefix};
  if (env.cluster) argv.push_back("--cluster");
  argv.insert(argv.end(), args.begin() + 1, args.end());
  test::process p(argv, log);
  auto st = p.wait_for_exit(60s);
  py_result out;
  std::ifstream in(log);
  std::stringstream ss;
  ss << in.rdbuf();
  out.output = ss.str();
  if (!st) {
    p.kill();
    return out;
  }
  out.status = WIFEXITED(*st) ? WEXITSTATUS(*st) : -1;
  return out;
}

void exercise_python_interop(redis_env& env, const std::string& prefix) {
  const std::string secret = "interop-secret-ключ";
  auto store = sessions::make_redis_session_store({env.client, prefix});
  auto svc = sessions::make_server_session_service(store);
  sessions::signed_cookie_options co;
  co.secret_key = secret;
  auto signed_svc = sessions::make_signed_cookie_session_service(co);

  // 1. Python (starsessions' operations) writes; owcore reads and updates it.
  const auto py_id = session_id::generate().str();
  const std::string py_data =
      R"({"_state_google_xyz": {"data": {"redirect_uri": "https://h/oauth/google/callback", )"
      R"("nonce": "n\u00e9", "code_verifier": "cv"}, "exp": 1700003600.25}, "k": [1, null, true]})";
  auto w = run_python(env, prefix, {"write", "--id", py_id, "--data", py_data, "--secret", secret});
  ASSERT_EQ(w.status, 0) << w.output;
  const auto key = sessions::keys::session(prefix, *session_id::parse(py_id));
  const auto py_created =
      json::parse(env.raw(key, {"GET", key}).str).at("__metadata__").at("created").as_double();

  auto g = env.r.run(svc->get(opt(py_id)));
  ASSERT_TRUE(g) << g.error().message();
  EXPECT_EQ(g->data, json::parse(py_data));
  EXPECT_EQ(g->cookie.action, cookie_action::keep);  // Python's id is a stored session: adopted
  auto u = env.r.run(svc->patch(opt(py_id), obj(R"({"owcore":true})")));
  ASSERT_TRUE(u) << u.error().message();
  auto after = json::parse(env.raw(key, {"GET", key}).str);
  EXPECT_EQ(after.at("__metadata__").at("created").as_double(), py_created);  // kept
  auto expected = json::parse(py_data).as_object();
  expected["owcore"] = true;
  auto c1 = run_python(env, prefix, {"check", "--id", py_id, "--data", json::serialize(expected)});
  EXPECT_EQ(c1.status, 0) << c1.output;

  // 2. Python's Starlette cookie is read by owcore.
  auto pos = w.output.find("cookie=");
  ASSERT_NE(pos, std::string::npos) << w.output;
  auto py_cookie = w.output.substr(pos + 7, w.output.find('\n', pos) - pos - 7);
  auto sg = env.r.run(signed_svc->get(opt(py_cookie)));
  ASSERT_TRUE(sg);
  EXPECT_EQ(sg->data, json::parse(py_data));
  EXPECT_EQ(sg->cookie.action, cookie_action::set);
  // ... and a tampered one is not.
  auto tampered = py_cookie;
  tampered[5] = tampered[5] == 'A' ? 'B' : 'A';
  EXPECT_TRUE(env.r.run(signed_svc->get(opt(tampered)))->data.empty());

  // 3. owcore writes a session and a signed cookie; Python reads and verifies both.
  const std::string ow_data = R"({"_state_github_s1":{"data":{"nonce":"ü"},"exp":1700000000},"x":1.5})";
  auto p = env.r.run(svc->patch(std::nullopt, obj(ow_data)));
  ASSERT_TRUE(p);
  const auto ow_id = p->cookie.value;
  auto sc = env.r.run(signed_svc->update(std::nullopt, [&](json::object& d) { d = obj(ow_data); }));
  ASSERT_TRUE(sc);
  auto c2 = run_python(env, prefix,
                       {"check", "--id", ow_id, "--data", ow_data, "--secret", secret, "--cookie",
                        sc->cookie.value});
  EXPECT_EQ(c2.status, 0) << c2.output;
  // The checks can fail: other data, or a cookie signed with another key.
  auto wrong = run_python(env, prefix, {"check", "--id", ow_id, "--data", R"({"x":2})"});
  EXPECT_EQ(wrong.status, 1) << wrong.output;
  sessions::signed_cookie_options other;
  other.secret_key = "another secret";
  auto forged = env.r.run(sessions::make_signed_cookie_session_service(other)->update(
      std::nullopt, [&](json::object& d) { d = obj(ow_data); }));
  auto bad_sig = run_python(env, prefix,
                            {"check", "--id", ow_id, "--data", ow_data, "--secret", secret,
                             "--cookie", forged->cookie.value});
  EXPECT_EQ(bad_sig.status, 1) << bad_sig.output;

  // 4. Deletes are seen by Python, and an owcore rotation too.
  auto rot = env.r.run(svc->rotate(opt(ow_id)));
  ASSERT_TRUE(rot);
  auto gone = run_python(env, prefix, {"absent", "--id", ow_id});
  EXPECT_EQ(gone.status, 0) << gone.output;
  auto moved = run_python(env, prefix, {"check", "--id", rot->cookie.value, "--data", ow_data});
  EXPECT_EQ(moved.status, 0) << moved.output;
  ASSERT_TRUE(env.r.run(svc->clear(opt(rot->cookie.value))));
  ASSERT_TRUE(env.r.run(svc->clear(opt(py_id))));
  for (const auto& id : {rot->cookie.value, py_id}) {
    auto a = run_python(env, prefix, {"absent", "--id", id});
    EXPECT_EQ(a.status, 0) << a.output;
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------

class SessionStandalone : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { topo_ = std::make_unique<test::standalone_topology>(); }
  static void TearDownTestSuite() { topo_.reset(); }

  void SetUp() override {
    opts_.node = std::get<redis::url_config>(redis::parse_url(topo_->url()));
    opts_.topo = redis::topology::standalone;
    opts_.log = test_log();
    opts_.reply_timeout = 5s;
    client_ = redis::make_client(r_.io.get_executor(), opts_);
    client_->start();
    const int port = topo_->port();
    env_ = std::make_unique<redis_env>(redis_env{r_, client_, [port](const std::string&) { return port; },
                                                 [port] { return std::vector<int>{port}; }, false, port});
  }
  void TearDown() override { client_->stop(); }

  static std::unique_ptr<test::standalone_topology> topo_;
  io_runner r_;
  redis::client_options opts_;
  std::shared_ptr<redis::client> client_;
  std::unique_ptr<redis_env> env_;
};
std::unique_ptr<test::standalone_topology> SessionStandalone::topo_;

class SessionCluster : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { topo_ = std::make_unique<test::cluster_topology>(); }
  static void TearDownTestSuite() { topo_.reset(); }

  void SetUp() override {
    opts_.node = std::get<redis::url_config>(redis::parse_url(topo_->seed_url()));
    opts_.topo = redis::topology::cluster;
    opts_.log = test_log();
    opts_.reply_timeout = 5s;
    client_ = redis::make_client(r_.io.get_executor(), opts_);
    client_->start();
    auto* topo = topo_.get();
    auto masters = [topo] {
      std::vector<int> ports;
      for (auto* m : topo->masters()) ports.push_back(m->port());
      return ports;
    };
    env_ = std::make_unique<redis_env>(redis_env{
        r_, client_, [topo](const std::string& k) { return topo->node_for_key(k).port(); }, masters,
        true, topo->nodes().front()->port()});
  }
  void TearDown() override { client_->stop(); }

  static std::unique_ptr<test::cluster_topology> topo_;
  io_runner r_;
  redis::client_options opts_;
  std::shared_ptr<redis::client> client_;
  std::unique_ptr<redis_env> env_;
};
std::unique_ptr<test::cluster_topology> SessionCluster::topo_;

namespace {

std::function<bool(const std::string&)> key_exists(redis_env& env, const std::string& prefix) {
  return [&env, prefix](const std::string& id) {
    auto k = sessions::keys::session(prefix, *session_id::parse(id));
    return env.raw(k, {"EXISTS", k}).integer == 1;
  };
}

}  // namespace

TEST(SessionMemory, StoreAndServiceConformance) {
  io_runner r;
  auto mem = sessions::make_memory_session_store();
  exercise_store(r, *mem);
  exercise_service(r, mem);
  exercise_delete_races(r, mem, [&](const std::string& id) {
    return r.run(mem->read(*session_id::parse(id)))->has_value();
  });
}

TEST_F(SessionStandalone, StoreAndServiceBehaveLikeMemory) {
  auto store = sessions::make_redis_session_store({client_, "t-conf"});
  exercise_store(r_, *store);
  exercise_service(r_, store);
}

TEST_F(SessionStandalone, WireFormatKeyAndTtl) {
  exercise_wire_format(*env_, "open-webui");
  exercise_wire_format(*env_, "");
}

TEST_F(SessionStandalone, AttackerChosenIdsNeverBecomeKeys) { exercise_attacker_ids(*env_, "t-attack"); }

TEST_F(SessionStandalone, DeleteRacingLateWritesStaysDeleted) {
  exercise_delete_races(r_, sessions::make_redis_session_store({client_, "t-race"}),
                        key_exists(*env_, "t-race"));
}

TEST_F(SessionStandalone, PythonInterop) {
  exercise_python_interop(*env_, "open-webui");
  exercise_python_interop(*env_, "");
}

TEST_F(SessionCluster, StoreAndServiceBehaveLikeMemory) {
  auto store = sessions::make_redis_session_store({client_, "t-conf"});
  exercise_store(r_, *store);
  exercise_service(r_, store);
}

TEST_F(SessionCluster, WireFormatKeyAndTtl) { exercise_wire_format(*env_, "open-webui"); }

TEST_F(SessionCluster, AttackerChosenIdsNeverBecomeKeys) { exercise_attacker_ids(*env_, "t-attack"); }

TEST_F(SessionCluster, DeleteRacingLateWritesStaysDeleted) {
  exercise_delete_races(r_, sessions::make_redis_session_store({client_, "t-race"}),
                        key_exists(*env_, "t-race"));
}

TEST_F(SessionCluster, PythonInterop) { exercise_python_interop(*env_, "open-webui"); }

}  // namespace session_test
