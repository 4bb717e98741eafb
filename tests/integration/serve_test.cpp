// `owcore serve` as a user runs it: the real binary, real sockets, real signals.
#include "support/http_client.hpp"
#include "support/ports.hpp"
#include "support/process.hpp"
#include "support/redis_client.hpp"
#include "support/redis_topology.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace serve_test {

using namespace owcore::test;
using namespace std::chrono_literals;

namespace {

// Runs the owcore binary with exactly `env` (plus PATH), via env(1) so no shell is involved.
process spawn_owcore(const temp_dir& dir, std::vector<std::string> env,
                     const std::string& log_name = "owcore.log") {
  std::vector<std::string> argv{"env", "-i", "PATH=/usr/bin:/bin"};
  for (auto& e : env) argv.push_back(std::move(e));
  argv.push_back(OWCORE_BINARY);
  argv.push_back("serve");
  return process(std::move(argv), dir.path() / log_name);
}

struct server_under_test {
  temp_dir dir{"owcore-serve-"};
  int port = free_port();
  std::optional<process> proc;

  void start(std::vector<std::string> env = {}) {
    env.push_back("PORT=" + std::to_string(port));
    env.push_back("DATA_DIR=" + (dir.path() / "data").string());
    proc.emplace(spawn_owcore(dir, std::move(env)));
    auto r = wait_for_http(port, "/health", 10s);
    ASSERT_TRUE(r) << "owcore did not serve /health:\n" << proc->log_tail();
  }
};

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Starts owcore with `env`, expects it to exit by itself with status 2 and to log `variable`.
void expect_config_failure(std::vector<std::string> env, const std::string& variable) {
  temp_dir dir("owcore-fail-");
  env.push_back("PORT=" + std::to_string(free_port()));
  env.push_back("DATA_DIR=" + (dir.path() / "data").string());
  auto p = spawn_owcore(dir, env);
  auto status = p.wait_for_exit(15s);
  ASSERT_TRUE(status) << "owcore kept running:\n" << p.log_tail();
  ASSERT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 2) << p.log_tail();
  const auto log = p.log_tail();
  EXPECT_NE(log.find(variable + ":"), std::string::npos) << log;
}

}  // namespace

TEST(Serve, HealthAndReadyWithoutRedis) {
  server_under_test s;
  s.start();
  auto health = http_get(s.port, "/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, R"({"status":true})");
  EXPECT_EQ(health->headers["content-type"], "application/json");
  auto ready = http_get(s.port, "/ready");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(ready->body, R"({"status":true})");
  auto missing = http_get(s.port, "/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST(Serve, GeneratesTheSecretKeyOnceAndReusesIt) {
  server_under_test s;
  s.start();
  const auto key_file = s.dir.path() / "data" / ".webui_secret_key";
  const auto first = read_file(key_file);
  EXPECT_GE(first.size(), 17u);
  struct stat st {};
  ASSERT_EQ(::stat(key_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_NE(s.proc->log_tail().find("must share one key"), std::string::npos);
  s.proc->stop();
  s.start();
  EXPECT_EQ(read_file(key_file), first);
}

TEST(Serve, KeepAliveServesSeveralRequestsOnOneConnection) {
  server_under_test s;
  s.start();
  http_connection c(s.port);
  for (int i = 0; i < 3; ++i) {
    c.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = c.read_response();
    EXPECT_EQ(r.status, 200);
  }
  // Two pipelined requests in one write are answered in order.
  c.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(c.read_response().status, 200);
  EXPECT_EQ(c.read_response().status, 404);
}

TEST(Serve, LimitsAnswerWithClearStatusesAndCloseOnlyThatConnection) {
  server_under_test s;
  s.start({"OWCORE_HTTP_BODY_LIMIT=100"});
  {
    http_connection c(s.port);
    c.send("POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + std::string(1000, 'a'));
    EXPECT_EQ(c.read_response().status, 413);
    EXPECT_TRUE(c.closed_by_peer());
  }
  {
    http_connection c(s.port);
    c.send("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(64 * 1024, 'b') + "\r\n\r\n");
    EXPECT_EQ(c.read_response().status, 431);
  }
  {
    http_connection c(s.port);
    c.send("NOT HTTP AT ALL\r\n\r\n");
    EXPECT_EQ(c.read_response().status, 400);
  }
  auto health = http_get(s.port, "/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

TEST(Serve, MethodNotAllowedListsAllowedMethods) {
  server_under_test s;
  s.start();
  http_connection c(s.port);
  c.send("DELETE /health HTTP/1.1\r\nHost: x\r\n\r\n");
  auto r = c.read_response();
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers["allow"], "GET");
  c.send("HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n");
  auto head = c.read_response(5s, true);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.headers["content-length"], "15");
  EXPECT_TRUE(head.body.empty());
  c.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");  // the connection is still in sync
  EXPECT_EQ(c.read_response().body, R"({"status":true})");
}

TEST(Serve, SigtermLetsASlowRequestFinishThenExitsZero) {
  server_under_test s;
  s.start();
  http_connection idle(s.port);         // a keep-alive connection with no request in flight
  http_connection slow(s.port);
  slow.send("GET /health HTTP/1.1\r\nHost: x\r\n");  // request started, not finished
  std::this_thread::sleep_for(100ms);
  s.proc->signal(SIGTERM);

  // The idle connection is closed promptly, the listener stops accepting...
  EXPECT_TRUE(idle.closed_by_peer(3s));
  // ...but the process waits for the slow request.
  std::this_thread::sleep_for(300ms);
  ASSERT_TRUE(s.proc->alive()) << s.proc->log_tail();
  EXPECT_FALSE(http_get(s.port, "/health", 500ms));

  slow.send("Accept: */*\r\n\r\n");
  auto r = slow.read_response();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"status":true})");
  EXPECT_EQ(r.headers["connection"], "close");

  auto status = s.proc->wait_for_exit(5s);
  ASSERT_TRUE(status) << s.proc->log_tail();
  ASSERT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 0);
}

TEST(Serve, SigtermClosesStuckRequestsAfterTheShutdownDeadline) {
  server_under_test s;
  s.start({"OWCORE_SHUTDOWN_TIMEOUT=0.5"});
  http_connection slow(s.port);
  slow.send("GET /health HTTP/1.1\r\n");
  std::this_thread::sleep_for(100ms);
  s.proc->signal(SIGTERM);
  auto status = s.proc->wait_for_exit(5s);
  ASSERT_TRUE(status) << s.proc->log_tail();
  EXPECT_EQ(WEXITSTATUS(*status), 0);
  EXPECT_TRUE(slow.closed_by_peer(1s));
}

TEST(Serve, UnparsableRedisUrlExitsTwoNamingTheVariable) {
  expect_config_failure({"REDIS_URL=notaurl"}, "REDIS_URL");
  expect_config_failure({"WEBSOCKET_MANAGER=redis", "WEBSOCKET_REDIS_URL=notaurl"},
                        "WEBSOCKET_REDIS_URL");
}

TEST(Serve, UnreachableRedisExitsTwoNamingTheVariable) {
  expect_config_failure({"REDIS_URL=redis://127.0.0.1:1"}, "REDIS_URL");
  expect_config_failure({"WEBSOCKET_MANAGER=redis", "WEBSOCKET_REDIS_URL=redis://127.0.0.1:1"},
                        "WEBSOCKET_REDIS_URL");
}

TEST(Serve, OtherConfigurationErrorsExitTwo) {
  expect_config_failure({"LOG_FORMAT=xml"}, "LOG_FORMAT");
  expect_config_failure({"REDIS_CLUSTER=true"}, "REDIS_CLUSTER");
  expect_config_failure({"REDIS_URL=redis://h:6379/3", "REDIS_CLUSTER=true"}, "REDIS_URL");
}

TEST(Serve, ReadyFollowsTheAppRedis) {
  owcore::test::standalone_topology redis_topo;
  server_under_test s;
  s.start({"REDIS_URL=" + redis_topo.url(), "WEBSOCKET_MANAGER=redis"});
  auto ready = http_get(s.port, "/ready");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200) << ready->body;
  EXPECT_NE(s.proc->log_tail().find("app redis: standalone"), std::string::npos) << s.proc->log_tail();

  redis_topo.server().kill();
  auto down = http_get(s.port, "/ready", 10s);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->status, 503);
  EXPECT_NE(down->body.find("\"status\":false"), std::string::npos) << down->body;
  EXPECT_NE(down->body.find("app redis"), std::string::npos) << down->body;
  // Liveness never depends on Redis.
  auto health = http_get(s.port, "/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);

  redis_topo.server().restart();
  bool back = false;
  for (int i = 0; i < 100 && !back; ++i) {
    auto r = http_get(s.port, "/ready", 5s);
    back = r && r->status == 200;
    if (!back) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(back) << s.proc->log_tail();
}

TEST(Serve, StartsOnSentinelAndClusterTopologies) {
  {
    owcore::test::sentinel_topology topo;
    server_under_test s;
    // Open WebUI applies one REDIS_SENTINEL_PORT to every host: point it at one sentinel.
    s.start({"REDIS_URL=redis://" + topo.service_name() + "/0", "REDIS_SENTINEL_HOSTS=127.0.0.1",
             "REDIS_SENTINEL_PORT=" + std::to_string(topo.sentinel_ports()[0])});
    auto ready = http_get(s.port, "/ready");
    ASSERT_TRUE(ready);
    EXPECT_EQ(ready->status, 200) << ready->body;
  }
  {
    owcore::test::cluster_topology topo;
    server_under_test s;
    s.start({"REDIS_URL=" + topo.seed_url(), "REDIS_CLUSTER=true"});
    auto ready = http_get(s.port, "/ready");
    ASSERT_TRUE(ready);
    EXPECT_EQ(ready->status, 200) << ready->body;
  }
}

TEST(Serve, UnknownSentinelServiceExitsTwo) {
  owcore::test::sentinel_topology topo;
  expect_config_failure({"REDIS_URL=redis://nosuchmaster/0", "REDIS_SENTINEL_HOSTS=127.0.0.1",
                         "REDIS_SENTINEL_PORT=" + std::to_string(topo.sentinel_ports()[0])},
                        "REDIS_SENTINEL_HOSTS");
}

namespace {

std::string session_cookie(const http_response& r) {
  auto it = r.headers.find("set-cookie");
  if (it == r.headers.end()) return {};
  auto v = it->second;
  auto start = v.find("owui-session=");
  if (start == std::string::npos) return {};
  start += 13;
  return v.substr(start, v.find(';', start) - start);
}

http_response session_call(int port, const std::string& method, const std::string& cookie,
                           const std::string& body = "") {
  http_connection c(port);
  std::string req = method + " /api/owcore/session HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
  if (!cookie.empty()) req += "Cookie: owui-session=" + cookie + "\r\n";
  if (!body.empty()) req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  c.send(req + "\r\n" + body);
  return c.read_response();
}

}  // namespace

TEST(Serve, SessionsThroughTheBinaryInBothModes) {
  // Signed-cookie mode (no Redis): data round-trips in the cookie; a tampered cookie is ignored.
  {
    server_under_test s;
    s.start({"WEBUI_SECRET_KEY=session-secret"});
    auto set = session_call(s.port, "PATCH", "", R"({"a":1})");
    ASSERT_EQ(set.status, 200) << set.body;
    const auto cookie = session_cookie(set);
    ASSERT_FALSE(cookie.empty());
    EXPECT_EQ(session_call(s.port, "GET", cookie).body, R"({"a":1})");
    auto tampered = session_call(s.port, "GET", cookie + "x");
    EXPECT_EQ(tampered.body, "{}");
  }
  // starsessions mode on Redis: the id is server-issued and the JSON lives in P:session:<id>.
  {
    owcore::test::standalone_topology topo;
    server_under_test s;
    s.start({"WEBUI_SECRET_KEY=session-secret", "REDIS_URL=" + topo.url(), "ENABLE_STAR_SESSIONS_MIDDLEWARE=true"});
    auto forged = session_call(s.port, "PATCH", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", R"({"b":2})");
    ASSERT_EQ(forged.status, 200) << forged.body;
    const auto id = session_cookie(forged);
    EXPECT_EQ(id.size(), 32u);
    EXPECT_NE(id, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");  // never adopted
    auto stored = owcore::test::redis_command(topo.port(), {"GET", "open-webui:session:" + id});
    EXPECT_TRUE(stored.str.find("\"b\": 2") != std::string::npos || stored.str.find("\"b\":2") != std::string::npos)
        << stored.str;
    EXPECT_NE(stored.str.find("__metadata__"), std::string::npos) << stored.str;
    EXPECT_EQ(session_call(s.port, "GET", id).body, R"({"b":2})");
    EXPECT_EQ(session_call(s.port, "DELETE", id).status, 200);
    EXPECT_EQ(owcore::test::redis_command(topo.port(), {"EXISTS", "open-webui:session:" + id}).integer, 0);
  }
}

}  // namespace serve_test
