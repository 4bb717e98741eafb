// The Socket.IO Redis adapter across real owcore processes (docs/wire.md, "Pub/sub"), through the
// `socketio` pub/sub channel of a real Redis. The clients are npm socket.io-client (tests/js):
//
// - redis_adapter_check.mjs: a room broadcast from a client of instance A reaches the room's
//   members on A and on B (standalone, Sentinel, Cluster);
// - redis_adapter_paths.mjs: the adapter's other cross-instance paths, driven through the
//   testing profile's by-sid events: remote enter_room / leave_room / disconnect, close_room on
//   both instances, a call answered by a client of the other instance and one left unanswered,
//   and broadcasts with exclusions (standalone, and Cluster for the pub/sub routing);
// - redis_adapter_python_peer.mjs with tests/integration/python/socketio_interop.py: a
//   python-socketio host on the same Redis and one owcore instance read each other's messages
//   (standalone).
#include "support/http_client.hpp"
#include "support/ports.hpp"
#include "support/process.hpp"
#include "support/redis_topology.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace redis_adapter_test {

using namespace owcore::test;

// Skips a test that needs node and socket.io-client when they are missing, or fails it when the
// build requires them (OWCORE_REQUIRE_JS, set by scripts/test).
#define OWCORE_NEED_NODE_CLIENT()                                     \
  do {                                                                \
    if (auto why = missing_node_client(); !why.empty()) {             \
      if (OWCORE_REQUIRE_JS) FAIL() << why;                           \
      GTEST_SKIP() << why;                                            \
    }                                                                 \
  } while (false)
using namespace std::chrono_literals;

namespace {

const std::filesystem::path js_dir = std::filesystem::path(OWCORE_SOURCE_DIR) / "tests/js";

// One `owcore serve` with WEBSOCKET_MANAGER=redis and the Socket.IO handler profile `profile`.
struct instance {
  int port = free_port();
  std::optional<process> proc;
  instance(const temp_dir& dir, const std::string& name, const std::vector<std::string>& redis_env,
           const std::string& profile = "bench") {
    std::vector<std::string> argv{"env",
                                  "-i",
                                  "PATH=/usr/bin:/bin",
                                  "WEBUI_SECRET_KEY=redis-adapter-test-secret",
                                  "PORT=" + std::to_string(port),
                                  "DATA_DIR=" + (dir.path() / name).string(),
                                  "WEBSOCKET_MANAGER=redis",
                                  "OWCORE_SOCKETIO_PROFILE=" + profile};
    argv.insert(argv.end(), redis_env.begin(), redis_env.end());
    argv.push_back(OWCORE_TESTBED_BINARY);
    argv.push_back("serve");
    proc.emplace(std::move(argv), dir.path() / (name + ".log"));
    if (!wait_for_http(port, "/health", 15s)) throw std::runtime_error("owcore did not start:\n" + proc->log_tail());
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
};

// Empty when node and socket.io-client are installed, else why the test is skipped.
std::string missing_node_client() {
  if (!std::filesystem::exists("/usr/bin/node")) return "node is not installed";
  if (!std::filesystem::exists(js_dir / "node_modules/socket.io-client"))
    return "socket.io-client is not installed (npm ci in tests/js)";
  return {};
}

bool exited_ok(const std::optional<int>& status) {
  return status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0;
}

// Runs `script` --a A --b B against two instances on one Redis deployment with `profile`; the
// script must exit 0 within 20 s.
void run_across(const std::string& script, const std::vector<std::string>& redis_env, const std::string& profile) {
  temp_dir dir("owcore-redis-adapter-");
  instance a(dir, "a", redis_env, profile), b(dir, "b", redis_env, profile);

  process client({"/usr/bin/node", (js_dir / script).string(), "--a", a.url(), "--b", b.url()},
                 dir.path() / "client.log");
  auto status = client.wait_for_exit(20s);
  ASSERT_TRUE(status.has_value()) << "the client script did not finish:\n" << client.log_tail();
  EXPECT_TRUE(exited_ok(status)) << "client:\n" << client.log_tail() << "\ninstance a:\n" << a.proc->log_tail()
                                 << "\ninstance b:\n" << b.proc->log_tail();
  EXPECT_NE(a.proc->log_tail(64 * 1024).find("redis adapter"), std::string::npos) << a.proc->log_tail();
}

// Two owcore instances on one Redis deployment; a room broadcast from a client of A reaches the
// room's members on both instances.
void broadcast_across(const std::vector<std::string>& redis_env) {
  OWCORE_NEED_NODE_CLIENT();
  run_across("redis_adapter_check.mjs", redis_env, "bench");
}

// The adapter's remote room operations, disconnect, calls and exclusions between two instances.
void paths_across(const std::vector<std::string>& redis_env) {
  OWCORE_NEED_NODE_CLIENT();
  run_across("redis_adapter_paths.mjs", redis_env, "testing");
}

}  // namespace

TEST(RedisAdapter, BroadcastReachesClientsOnBothInstancesStandalone) {
  standalone_topology topo;
  broadcast_across({"REDIS_URL=" + topo.url()});
}

TEST(RedisAdapter, BroadcastReachesClientsOnBothInstancesSentinel) {
  sentinel_topology topo;
  const auto port = std::to_string(topo.sentinel_ports()[0]);
  // WEBSOCKET_SENTINEL_HOSTS does not inherit REDIS_SENTINEL_HOSTS: set both.
  broadcast_across({"REDIS_URL=redis://" + topo.service_name() + "/0", "REDIS_SENTINEL_HOSTS=127.0.0.1",
                    "REDIS_SENTINEL_PORT=" + port, "WEBSOCKET_SENTINEL_HOSTS=127.0.0.1",
                    "WEBSOCKET_SENTINEL_PORT=" + port});
}

TEST(RedisAdapter, BroadcastReachesClientsOnBothInstancesCluster) {
  cluster_topology topo;
  broadcast_across({"REDIS_URL=" + topo.seed_url(), "REDIS_CLUSTER=true"});
}

TEST(RedisAdapter, CrossInstancePathsStandalone) {
  standalone_topology topo;
  paths_across({"REDIS_URL=" + topo.url()});
}

TEST(RedisAdapter, CrossInstancePathsCluster) {
  cluster_topology topo;
  paths_across({"REDIS_URL=" + topo.seed_url(), "REDIS_CLUSTER=true"});
}

// A python-socketio AsyncRedisManager host (socketio_interop.py --mode adapter-peer: the exact
// JSON messages python-socketio 5.16.2 publishes) and one owcore instance on the same Redis: the
// Python emits to a room and to a room entered through enter_room reach owcore's client, its
// call is answered with a `callback` message, and Python reads owcore's emits field by field.
// That host speaks the v0.11.0 protocol (everything on `socketio`), so owcore runs with room
// channels off, as a fleet must run one mode (room_channel_test.cpp covers the 0.11.5 peer).
TEST(RedisAdapter, PythonSocketioHostInteropStandalone) {
  OWCORE_NEED_NODE_CLIENT();
  standalone_topology topo;
  temp_dir dir("owcore-redis-adapter-");
  instance a(dir, "a", {"REDIS_URL=" + topo.url(), "WEBSOCKET_REDIS_ROOM_CHANNELS=false"}, "testing");
  const auto sid_file = dir.path() / "client-sid.json";

  process py({"/usr/bin/python3",
              (std::filesystem::path(OWCORE_SOURCE_DIR) / "tests/integration/python/socketio_interop.py").string(),
              "--mode", "adapter-peer", "--port", std::to_string(topo.port()), "--sid-file", sid_file.string(),
              "--timeout", "15"},
             dir.path() / "python.log");
  process client({"/usr/bin/node", (js_dir / "redis_adapter_python_peer.mjs").string(), "--url", a.url(),
                  "--sid-file", sid_file.string()},
                 dir.path() / "client.log");
  const auto client_status = client.wait_for_exit(20s);
  const auto py_status = py.wait_for_exit(client_status ? 5s : 1s);
  const auto logs = "client:\n" + client.log_tail() + "\npython:\n" + py.log_tail() + "\ninstance:\n" +
                    a.proc->log_tail();
  EXPECT_TRUE(exited_ok(client_status)) << logs;
  EXPECT_TRUE(exited_ok(py_status)) << logs;
}

}  // namespace redis_adapter_test
