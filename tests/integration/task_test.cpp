// Distributed tasks across real owcore processes on every topology, crash recovery through
// leases, auth failures, and interop with Python Open WebUI's exact registry operations.
#include "owcore/coord/auth/authenticator.hpp"
#include "owcore/coord/auth/jwt.hpp"
#include "support/http_client.hpp"
#include "support/ports.hpp"
#include "support/process.hpp"
#include "support/redis_client.hpp"
#include "support/redis_topology.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <thread>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace task_test {

using namespace owcore::test;
using namespace std::chrono_literals;
namespace auth = owcore::coord::auth;

namespace {

const std::string secret = "task-test-secret";

// Tokens carry only id/jti/iat/exp, as Open WebUI mints them; the roles live in the database.
std::string admin_token() {
  auth::authenticator a(secret, auth::make_memory_revocations());
  return a.mint("admin-1", std::chrono::hours(1));
}

std::string user_token() {
  auth::authenticator a(secret, auth::make_memory_revocations());
  return a.mint("user-1", std::chrono::hours(1));
}

// One owcore database shared by every instance of a test (as a fleet shares Open WebUI's), with
// admin-1 (admin) and user-1 (user), created once per temp dir by `owcore user add`.
std::string shared_database(const temp_dir& dir) {
  const auto data = dir.path() / "shared";
  const auto file = data / "owcore.db";
  if (!std::filesystem::exists(file)) {
    for (const auto& [id, role] : {std::pair{"admin-1", "admin"}, std::pair{"user-1", "user"}}) {
      const std::string cmd = "env -i PATH=/usr/bin:/bin WEBUI_SECRET_KEY=" + secret + " DATA_DIR=" + data.string() +
                              " " + OWCORE_BINARY + " user add --name " + id + " --email " + id +
                              "@example.org --role " + role + " --id " + id + " >/dev/null";
      if (std::system(cmd.c_str()) != 0) throw std::runtime_error("owcore user add failed: " + cmd);
    }
  }
  return "DATABASE_URL=sqlite:///" + file.string();
}

struct instance {
  int port = free_port();
  std::optional<process> proc;
  instance(const temp_dir& dir, const std::string& name, std::vector<std::string> env) {
    std::vector<std::string> argv{"env", "-i", "PATH=/usr/bin:/bin", "WEBUI_SECRET_KEY=" + secret,
                                  "PORT=" + std::to_string(port), "DATA_DIR=" + (dir.path() / name).string(),
                                  "OWCORE_TASK_LEASE_TTL=1.5", "OWCORE_TASK_REAPER_PERIOD=0.5",
                                  "REDIS_KEY_PREFIX=tt", shared_database(dir)};
    for (auto& e : env) argv.push_back(std::move(e));
    argv.push_back(OWCORE_BINARY);
    argv.push_back("serve");
    proc.emplace(std::move(argv), dir.path() / (name + ".log"));
    if (!wait_for_http(port, "/health", 15s)) throw std::runtime_error("owcore did not start:\n" + proc->log_tail());
  }
  http_response call(const std::string& method, const std::string& path, const std::string& token,
                     const std::string& body = "") {
    http_connection c(port);
    std::string req = method + " " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
    if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
    if (!body.empty()) req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    c.send(req + "\r\n" + body);
    return c.read_response(10s);
  }
};

std::vector<std::string> json_list(const std::string& body, const char* field) {
  auto v = boost::json::parse(body);
  std::vector<std::string> out;
  for (auto& e : v.as_object().at(field).as_array()) out.emplace_back(e.as_string());
  return out;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

// A task created on A is listed by B; B stops it; A cancels it and every entry is gone.
void create_on_a_stop_from_b(instance& a, instance& b, const std::function<reply(std::vector<std::string>)>& redis) {
  const auto token = admin_token();
  auto created = a.call("POST", "/api/owcore/tasks", token, R"({"kind":"sleep","seconds":60,"item_id":"chat-42"})");
  ASSERT_EQ(created.status, 200) << created.body;
  const std::string id(boost::json::parse(created.body).as_object().at("task_id").as_string());

  auto listed = b.call("GET", "/api/tasks", token);
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_TRUE(contains(json_list(listed.body, "tasks"), id)) << listed.body;
  auto by_chat = b.call("GET", "/api/tasks/chat/chat-42", user_token());
  ASSERT_EQ(by_chat.status, 200);
  EXPECT_TRUE(contains(json_list(by_chat.body, "task_ids"), id)) << by_chat.body;

  auto stopped = b.call("POST", "/api/tasks/stop/" + id, token);
  ASSERT_EQ(stopped.status, 200) << stopped.body;
  EXPECT_NE(stopped.body.find("stopped"), std::string::npos);

  EXPECT_TRUE(eventually([&] { return !contains(json_list(b.call("GET", "/api/tasks", token).body, "tasks"), id); }, 10s));
  EXPECT_TRUE(eventually([&] { return redis({"HEXISTS", "tt:tasks", id}).integer == 0; }, 5s));
  // Eventually, not at once: the owner's own cleanup on cancel may land after the stopper's.
  EXPECT_TRUE(eventually([&] { return redis({"EXISTS", "tt:tasks:item:chat-42"}).integer == 0; }, 5s));
  EXPECT_TRUE(eventually([&] { return redis({"EXISTS", "tt:tasks:lease:" + id}).integer == 0; }, 5s));
  EXPECT_EQ(redis({"HEXISTS", "tt:tasks:owcore", id}).integer, 0);
  EXPECT_TRUE(eventually([&] { return a.proc->log_tail(64 * 1024).find("task " + id + ": cancelling") != std::string::npos; }, 5s))
      << a.proc->log_tail();
}

}  // namespace

TEST(Tasks, StopAcrossInstancesStandalone) {
  standalone_topology topo;
  temp_dir dir("owcore-tasks-");
  instance a(dir, "a", {"REDIS_URL=" + topo.url()}), b(dir, "b", {"REDIS_URL=" + topo.url()});
  create_on_a_stop_from_b(a, b, [&](std::vector<std::string> args) { return redis_command(topo.port(), args); });
}

TEST(Tasks, StopAcrossInstancesSentinel) {
  sentinel_topology topo;
  temp_dir dir("owcore-tasks-");
  const std::vector<std::string> env{"REDIS_URL=redis://" + topo.service_name() + "/0", "REDIS_SENTINEL_HOSTS=127.0.0.1",
                                     "REDIS_SENTINEL_PORT=" + std::to_string(topo.sentinel_ports()[0])};
  instance a(dir, "a", env), b(dir, "b", env);
  create_on_a_stop_from_b(a, b, [&](std::vector<std::string> args) { return redis_command(topo.master().port(), args); });
}

TEST(Tasks, StopAcrossInstancesCluster) {
  cluster_topology topo;
  temp_dir dir("owcore-tasks-");
  const std::vector<std::string> env{"REDIS_URL=" + topo.seed_url(), "REDIS_CLUSTER=true"};
  instance a(dir, "a", env), b(dir, "b", env);
  create_on_a_stop_from_b(a, b, [&](std::vector<std::string> args) {
    // Ask the node that owns the key (the first key argument).
    return redis_command(topo.node_for_key(args.at(1)).port(), args);
  });
}

TEST(Tasks, KilledInstanceEntriesDisappearWithinLeaseTtlPlusReaperPeriod) {
  standalone_topology topo;
  temp_dir dir("owcore-tasks-");
  instance a(dir, "a", {"REDIS_URL=" + topo.url()}), b(dir, "b", {"REDIS_URL=" + topo.url()});
  const auto token = admin_token();
  auto created = a.call("POST", "/api/owcore/tasks", token, R"({"kind":"sleep","seconds":600,"item_id":"chat-k"})");
  ASSERT_EQ(created.status, 200) << created.body;
  const std::string id(boost::json::parse(created.body).as_object().at("task_id").as_string());
  ASSERT_EQ(redis_command(topo.port(), {"HEXISTS", "tt:tasks", id}).integer, 1);

  a.proc->kill();  // SIGKILL: no cleanup runs on A
  const auto killed = std::chrono::steady_clock::now();
  // Lease TTL 1.5 s + reaper period 0.5 s, plus slack for a loaded CI machine.
  ASSERT_TRUE(eventually([&] { return redis_command(topo.port(), {"HEXISTS", "tt:tasks", id}).integer == 0; }, 10s));
  std::cout << "[ tasks ] entries of the killed instance gone after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - killed).count()
            << " ms (lease TTL 1500 ms, reaper period 500 ms)\n";
  EXPECT_EQ(redis_command(topo.port(), {"EXISTS", "tt:tasks:item:chat-k"}).integer, 0);
  EXPECT_EQ(redis_command(topo.port(), {"HEXISTS", "tt:tasks:owcore", id}).integer, 0);
}

// A running task whose registry entries Redis lost (a failover to a replica that never got the
// HSET, here deleted by hand) is registered again by its owner's next lease tick, so another
// instance lists it and can stop it.
TEST(Tasks, ARunningTaskWhoseRegistrationWasLostIsRegisteredAgain) {
  standalone_topology topo;
  temp_dir dir("owcore-tasks-");
  instance a(dir, "a", {"REDIS_URL=" + topo.url()}), b(dir, "b", {"REDIS_URL=" + topo.url()});
  const auto token = admin_token();
  auto created = a.call("POST", "/api/owcore/tasks", token, R"({"kind":"sleep","seconds":600,"item_id":"chat-lost"})");
  ASSERT_EQ(created.status, 200) << created.body;
  const std::string id(boost::json::parse(created.body).as_object().at("task_id").as_string());
  redis_command(topo.port(), {"HDEL", "tt:tasks", id});
  redis_command(topo.port(), {"HDEL", "tt:tasks:owcore", id});
  redis_command(topo.port(), {"DEL", "tt:tasks:item:chat-lost"});

  ASSERT_TRUE(eventually([&] { return redis_command(topo.port(), {"HGET", "tt:tasks", id}).str == "chat-lost"; }, 10s))
      << a.proc->log_tail();
  EXPECT_TRUE(eventually([&] { return redis_command(topo.port(), {"SISMEMBER", "tt:tasks:item:chat-lost", id}).integer == 1; }, 5s));
  EXPECT_TRUE(eventually([&] { return redis_command(topo.port(), {"HEXISTS", "tt:tasks:owcore", id}).integer == 1; }, 5s));
  EXPECT_NE(a.proc->log_tail(64 * 1024).find("registering it again"), std::string::npos);
  auto stopped = b.call("POST", "/api/tasks/stop/" + id, token);
  ASSERT_EQ(stopped.status, 200) << stopped.body;
  EXPECT_TRUE(eventually([&] { return redis_command(topo.port(), {"HEXISTS", "tt:tasks", id}).integer == 0; }, 10s));
  EXPECT_TRUE(eventually([&] { return a.proc->log_tail(64 * 1024).find("task " + id + ": cancelling") != std::string::npos; }, 5s));
}

TEST(Tasks, StopMarkerIsHonouredWithoutPubSub) {
  standalone_topology topo;
  temp_dir dir("owcore-tasks-");
  instance a(dir, "a", {"REDIS_URL=" + topo.url()});
  const auto token = admin_token();
  auto created = a.call("POST", "/api/owcore/tasks", token, R"({"kind":"sleep","seconds":600})");
  ASSERT_EQ(created.status, 200);
  const std::string id(boost::json::parse(created.body).as_object().at("task_id").as_string());
  // Only the marker, as if the stop message had been lost.
  redis_command(topo.port(), {"SET", "tt:tasks:stop:" + id, "1", "PX", "60000"});
  EXPECT_TRUE(eventually([&] { return redis_command(topo.port(), {"HEXISTS", "tt:tasks", id}).integer == 0; }, 5s));
}

TEST(Tasks, PythonAndOwcoreStopEachOthersTasks) {
  standalone_topology topo;
  temp_dir dir("owcore-tasks-");
  instance a(dir, "a", {"REDIS_URL=" + topo.url()});
  const auto token = admin_token();
  const auto script = std::filesystem::path(OWCORE_SOURCE_DIR) / "tests/integration/python/task_interop.py";

  // owcore stops a Python task: Python receives its own exact stop JSON.
  const auto ready = dir.path() / "py-ready";
  process py({"/usr/bin/python3", script.string(), "--port", std::to_string(topo.port()), "--prefix", "tt", "--mode", "own",
              "--task-id", "py-task-1", "--item-id", "chat-py", "--ready-file", ready.string()},
             dir.path() / "py-own.log");
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(ready); }, 10s)) << py.log_tail();
  auto listed = a.call("GET", "/api/tasks", token);
  EXPECT_TRUE(contains(json_list(listed.body, "tasks"), "py-task-1")) << listed.body;
  auto stopped = a.call("POST", "/api/tasks/stop/py-task-1", token);
  EXPECT_EQ(stopped.status, 200) << stopped.body;
  auto status = py.wait_for_exit(20s);
  ASSERT_TRUE(status) << py.log_tail();
  EXPECT_EQ(WEXITSTATUS(*status), 0) << py.log_tail();
  EXPECT_EQ(redis_command(topo.port(), {"HEXISTS", "tt:tasks", "py-task-1"}).integer, 0);

  // Python stops an owcore task: owcore cancels it and its entries are gone.
  auto created = a.call("POST", "/api/owcore/tasks", token, R"({"kind":"sleep","seconds":600,"item_id":"chat-ow"})");
  ASSERT_EQ(created.status, 200);
  const std::string id(boost::json::parse(created.body).as_object().at("task_id").as_string());
  process stop({"/usr/bin/python3", script.string(), "--port", std::to_string(topo.port()), "--prefix", "tt", "--mode", "stop",
                "--task-id", id},
               dir.path() / "py-stop.log");
  auto st = stop.wait_for_exit(20s);
  ASSERT_TRUE(st) << stop.log_tail();
  EXPECT_EQ(WEXITSTATUS(*st), 0) << stop.log_tail();
  EXPECT_TRUE(eventually([&] { return a.proc->log_tail(64 * 1024).find("task " + id + ": cancelling") != std::string::npos; }, 5s));
  EXPECT_TRUE(eventually([&] { return redis_command(topo.port(), {"EXISTS", "tt:tasks:lease:" + id}).integer == 0; }, 5s));
}

TEST(Tasks, BadTokensAndHostilePathsAreRefusedCleanly) {
  standalone_topology topo;
  temp_dir dir("owcore-tasks-");
  instance a(dir, "a", {"REDIS_URL=" + topo.url()});
  auth::authenticator forger("not-the-secret", auth::make_memory_revocations());
  auth::authenticator real(secret, auth::make_memory_revocations());
  EXPECT_EQ(a.call("GET", "/api/tasks", "").status, 401);
  EXPECT_EQ(a.call("GET", "/api/tasks", "garbage").status, 401);
  EXPECT_EQ(a.call("GET", "/api/tasks", forger.mint("admin-1", std::chrono::hours(1))).status, 401);
  EXPECT_EQ(a.call("GET", "/api/tasks", real.mint("admin-1", std::chrono::seconds(-10))).status, 401);
  EXPECT_EQ(a.call("GET", "/api/tasks", user_token()).status, 403);
  // A revoked token (Python's sign-out key) and a user-wide revocation (back-channel logout).
  const auto token = admin_token();
  const auto claims = boost::json::parse(*auth::base64url_decode(token.substr(token.find('.') + 1, token.rfind('.') - token.find('.') - 1)));
  const std::string jti(claims.as_object().at("jti").as_string());
  EXPECT_EQ(a.call("GET", "/api/tasks", token).status, 200);
  redis_command(topo.port(), {"SET", "tt:auth:token:" + jti + ":revoked", "1", "EX", "60"});
  EXPECT_EQ(a.call("GET", "/api/tasks", token).status, 401);
  const auto other = admin_token();
  redis_command(topo.port(), {"SET", "tt:auth:user:admin-1:revoked_at", std::to_string(time(nullptr) + 5), "EX", "60"});
  EXPECT_EQ(a.call("GET", "/api/tasks", other).status, 401);
  redis_command(topo.port(), {"DEL", "tt:auth:user:admin-1:revoked_at"});

  const auto good = admin_token();
  for (const char* path : {"/api/tasks/stop/%2A", "/api/tasks/stop/a%20b", "/api/tasks/stop/%zz", "/api/tasks/stop/x%7Bt%7D"})
    EXPECT_EQ(a.call("POST", path, good).status, 404) << path;
  EXPECT_EQ(a.call("POST", "/api/owcore/tasks", good, "{not json").status, 400);
  EXPECT_EQ(a.call("POST", "/api/owcore/tasks", good, R"({"kind":"sleep","seconds":-1})").status, 400);
  EXPECT_EQ(a.call("POST", "/api/owcore/tasks", good, R"({"kind":"rm -rf","seconds":1})").status, 400);
  // Nothing reached Redis with an attacker-chosen key.
  auto keys = redis_command(topo.port(), {"KEYS", "*"});
  for (auto& k : keys.elements) {
    EXPECT_EQ(k.str.find('*'), std::string::npos) << k.str;
    EXPECT_EQ(k.str.find(' '), std::string::npos) << k.str;
  }
  auto health = a.call("GET", "/health", "");
  EXPECT_EQ(health.status, 200);
}

namespace {

// Open WebUI 0.11.1+ keeps a task's in-flight reply in P:tasks:response_streams (and unreleased
// branches in per-task keys); `redis` runs one command where its first key lives.
void put_response_stream(const std::function<reply(std::vector<std::string>)>& redis, const std::string& id) {
  redis({"HSET", "tt:tasks:response_streams", id, R"({"chat_id":"c","message_id":"m","content":"partial","output":[]})"});
  for (const char* variant : {"", "ledger:", "content:", "journal:"})
    redis({"SET", std::string("tt:tasks:response_stream:") + variant + id, "x"});
}

bool response_stream_gone(const std::function<reply(std::vector<std::string>)>& redis, const std::string& id) {
  if (redis({"HEXISTS", "tt:tasks:response_streams", id}).integer != 0) return false;
  for (const char* variant : {"", "ledger:", "content:", "journal:"})
    if (redis({"EXISTS", std::string("tt:tasks:response_stream:") + variant + id}).integer != 0) return false;
  return true;
}

// A stopped owcore task and a reaped Python orphan both take their response-stream entries
// with them; another task's entry stays.
void response_streams_follow_cleanup(const std::vector<std::string>& env,
                                     const std::function<reply(std::vector<std::string>)>& redis) {
  temp_dir dir("owcore-tasks-");
  std::vector<std::string> with_reaper = env;
  with_reaper.push_back("OWCORE_TASK_REAP_FOREIGN_AFTER=0.5");
  instance a(dir, "a", with_reaper);
  const auto token = admin_token();
  put_response_stream(redis, "someone-else");

  auto created = a.call("POST", "/api/owcore/tasks", token, R"({"kind":"sleep","seconds":600,"item_id":"chat-rs"})");
  ASSERT_EQ(created.status, 200) << created.body;
  const std::string id(boost::json::parse(created.body).as_object().at("task_id").as_string());
  put_response_stream(redis, id);
  ASSERT_EQ(a.call("POST", "/api/tasks/stop/" + id, token).status, 200);
  EXPECT_TRUE(eventually([&] { return redis({"HEXISTS", "tt:tasks", id}).integer == 0; }, 10s));
  EXPECT_TRUE(eventually([&] { return response_stream_gone(redis, id); }, 5s));

  // A Python task whose instance died: registered, never stopped, reaped by age.
  redis({"HSET", "tt:tasks", "py-orphan-1", "chat-orphan"});
  redis({"SADD", "tt:tasks:item:chat-orphan", "py-orphan-1"});
  put_response_stream(redis, "py-orphan-1");
  EXPECT_TRUE(eventually([&] { return redis({"HEXISTS", "tt:tasks", "py-orphan-1"}).integer == 0; }, 15s));
  EXPECT_TRUE(eventually([&] { return response_stream_gone(redis, "py-orphan-1"); }, 5s));

  EXPECT_EQ(redis({"HEXISTS", "tt:tasks:response_streams", "someone-else"}).integer, 1);
  EXPECT_EQ(redis({"EXISTS", "tt:tasks:response_stream:someone-else"}).integer, 1);
}

}  // namespace

TEST(Tasks, CleanupRemovesResponseStreamEntriesStandalone) {
  standalone_topology topo;
  response_streams_follow_cleanup({"REDIS_URL=" + topo.url()},
                                  [&](std::vector<std::string> args) { return redis_command(topo.port(), args); });
}

TEST(Tasks, CleanupRemovesResponseStreamEntriesCluster) {
  cluster_topology topo;
  response_streams_follow_cleanup({"REDIS_URL=" + topo.seed_url(), "REDIS_CLUSTER=true"},
                                  [&](std::vector<std::string> args) {
                                    return redis_command(topo.node_for_key(args.at(1)).port(), args);
                                  });
}

}  // namespace task_test
