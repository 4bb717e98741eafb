// The Socket.IO Redis adapter across two real owcore processes (SPEC §5.3): a broadcast from a
// client of instance A reaches the clients of the same room on A and on B, through the
// `socketio` pub/sub channel of a real Redis. The clients are npm socket.io-client, driven by
// tests/js/redis_adapter_check.mjs.
#include "support/http_client.hpp"
#include "support/ports.hpp"
#include "support/process.hpp"
#include "support/redis_topology.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <filesystem>
#include <optional>

using namespace owcore::test;
using namespace std::chrono_literals;

namespace {

struct instance {
  int port = free_port();
  std::optional<process> proc;
  instance(const temp_dir& dir, const std::string& name, const std::vector<std::string>& redis_env) {
    std::vector<std::string> argv{"env",
                                  "-i",
                                  "PATH=/usr/bin:/bin",
                                  "WEBUI_SECRET_KEY=redis-adapter-test-secret",
                                  "PORT=" + std::to_string(port),
                                  "DATA_DIR=" + (dir.path() / name).string(),
                                  "WEBSOCKET_MANAGER=redis",
                                  "OWCORE_SOCKETIO_PROFILE=bench"};
    argv.insert(argv.end(), redis_env.begin(), redis_env.end());
    argv.push_back(OWCORE_BINARY);
    argv.push_back("serve");
    proc.emplace(std::move(argv), dir.path() / (name + ".log"));
    if (!wait_for_http(port, "/health", 15s)) throw std::runtime_error("owcore did not start:\n" + proc->log_tail());
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
};

}  // namespace

// Two owcore instances on one Redis deployment; a room broadcast from a client of A reaches the
// room's members on both instances.
void broadcast_across(const std::vector<std::string>& redis_env) {
  const std::filesystem::path script = std::filesystem::path(OWCORE_SOURCE_DIR) / "tests/js/redis_adapter_check.mjs";
  if (!std::filesystem::exists("/usr/bin/node")) GTEST_SKIP() << "node is not installed";
  if (!std::filesystem::exists(std::filesystem::path(OWCORE_SOURCE_DIR) / "tests/js/node_modules/socket.io-client"))
    GTEST_SKIP() << "socket.io-client is not installed (npm ci in tests/js)";

  temp_dir dir("owcore-redis-adapter-");
  instance a(dir, "a", redis_env), b(dir, "b", redis_env);

  process client({"/usr/bin/node", script.string(), "--a", a.url(), "--b", b.url()}, dir.path() / "client.log");
  auto status = client.wait_for_exit(20s);
  ASSERT_TRUE(status.has_value()) << "the client script did not finish:\n" << client.log_tail();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
      << "client:\n" << client.log_tail() << "\ninstance a:\n" << a.proc->log_tail() << "\ninstance b:\n"
      << b.proc->log_tail();
  EXPECT_NE(a.proc->log_tail(64 * 1024).find("redis adapter"), std::string::npos) << a.proc->log_tail();
}

TEST(RedisAdapter, BroadcastReachesClientsOnBothInstancesStandalone) {
  standalone_topology topo;
  broadcast_across({"REDIS_URL=" + topo.url()});
}

TEST(RedisAdapter, BroadcastReachesClientsOnBothInstancesSentinel) {
  sentinel_topology topo;
  const auto port = std::to_string(topo.sentinel_ports()[0]);
  // WEBSOCKET_SENTINEL_HOSTS does not inherit REDIS_SENTINEL_HOSTS (SPEC §1): set both.
  broadcast_across({"REDIS_URL=redis://" + topo.service_name() + "/0", "REDIS_SENTINEL_HOSTS=127.0.0.1",
                    "REDIS_SENTINEL_PORT=" + port, "WEBSOCKET_SENTINEL_HOSTS=127.0.0.1",
                    "WEBSOCKET_SENTINEL_PORT=" + port});
}

TEST(RedisAdapter, BroadcastReachesClientsOnBothInstancesCluster) {
  cluster_topology topo;
  broadcast_across({"REDIS_URL=" + topo.seed_url(), "REDIS_CLUSTER=true"});
}
