// The test-support topologies come up healthy, can be disturbed, and leave nothing behind.
#include <gtest/gtest.h>
#include <signal.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/redis_topology.hpp"

namespace owcore::test {
namespace {

using namespace std::chrono_literals;

// Everything a topology started, captured before it is destroyed.
struct footprint {
  std::vector<pid_t> pids;
  std::vector<int> ports;
  std::filesystem::path dir;
};

void expect_gone(const footprint& f) {
  for (pid_t pid : f.pids) {
    errno = 0;
    EXPECT_EQ(::kill(pid, 0), -1) << "pid " << pid << " still exists";
    EXPECT_EQ(errno, ESRCH) << "pid " << pid;
  }
  for (int port : f.ports) {
    EXPECT_FALSE(port_accepts_connections(port)) << "port " << port << " still accepts";
  }
  EXPECT_FALSE(std::filesystem::exists(f.dir)) << f.dir;
}

std::string role(redis_server& node) {
  const reply r = node.command({"ROLE"});
  return r.is_array() && !r.elements.empty() ? r.elements[0].str : r.to_string();
}

TEST(StandaloneTopology, ServesCommandsAndTearsDownCleanly) {
  std::optional<standalone_topology> topo;
  topo.emplace();
  redis_server& server = topo->server();
  const std::string key = "{topology_test.standalone}:greeting";

  EXPECT_TRUE(server.command({"SET", key, "hello"}).is_ok());
  EXPECT_EQ(server.command({"GET", key}).str, "hello");
  EXPECT_EQ(topo->url(), "redis://127.0.0.1:" + std::to_string(topo->port()) + "/0");

  const footprint f{topo->pids(), {topo->port()}, topo->dir()};
  EXPECT_TRUE(std::filesystem::exists(f.dir));
  topo.reset();
  expect_gone(f);
}

TEST(StandaloneTopology, PasswordIsRequired) {
  standalone_topology topo({.password = "s3cret", .extra_config = {}});
  const reply anonymous = redis_command(topo.port(), {"PING"});
  ASSERT_TRUE(anonymous.is_error()) << anonymous.to_string();
  EXPECT_TRUE(anonymous.str.starts_with("NOAUTH")) << anonymous.str;
  EXPECT_EQ(topo.server().command({"PING"}).str, "PONG");
  EXPECT_EQ(topo.url(), "redis://:s3cret@127.0.0.1:" + std::to_string(topo.port()) + "/0");
}

TEST(StandaloneTopology, PauseResumeAndRestart) {
  standalone_topology topo;
  redis_server& server = topo.server();

  server.pause();
  EXPECT_TRUE(server.paused());
  EXPECT_FALSE(server.try_command({"PING"}, 200ms).has_value()) << "a paused server answered";
  server.resume();
  const auto pong = server.try_command({"PING"}, 2s);
  ASSERT_TRUE(pong.has_value());
  EXPECT_EQ(pong->str, "PONG");

  const int port = server.port();
  const pid_t old_pid = server.pid();
  server.restart();
  EXPECT_EQ(server.port(), port);
  EXPECT_NE(server.pid(), old_pid);
  EXPECT_EQ(::kill(old_pid, 0), -1);
  EXPECT_EQ(server.command({"PING"}).str, "PONG");

  server.kill();
  EXPECT_FALSE(server.alive());
  EXPECT_FALSE(port_accepts_connections(port));
  server.restart();
  EXPECT_EQ(server.command({"PING"}).str, "PONG");
}

TEST(RedisServer, FailedStartThrowsWithTheLogTail) {
  temp_dir dir("owcore-topo-");
  redis_server_options options;
  options.extra_config = {"no-such-directive yes"};
  options.start_attempts = 2;
  try {
    redis_server server(dir.path(), "node-0", options);
    FAIL() << "a server with a bad config started";
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("cannot start redis-server"), std::string::npos) << message;
    EXPECT_NE(message.find("no-such-directive"), std::string::npos) << message;
  }
}

TEST(SentinelTopology, FailsOverAndTearsDownCleanly) {
  std::optional<sentinel_topology> topo;
  topo.emplace();
  redis_server& first_master = topo->master();
  redis_server& first_replica = topo->replica();
  ASSERT_NE(&first_master, &first_replica);
  EXPECT_EQ(role(first_master), "master");
  EXPECT_EQ(role(first_replica), "slave");

  ASSERT_EQ(topo->sentinels().size(), 3U);
  for (redis_server* s : topo->sentinel_servers()) {
    const reply r = s->command({"SENTINEL", "GET-MASTER-ADDR-BY-NAME", topo->service_name()});
    ASSERT_EQ(r.elements.size(), 2U) << s->name() << ": " << r.to_string();
    EXPECT_EQ(r.elements[0].str + ":" + r.elements[1].str, first_master.address()) << s->name();
  }

  redis_server& new_master = topo->failover();
  EXPECT_EQ(&new_master, &first_replica);
  EXPECT_EQ(topo->master_address(), first_replica.address());
  EXPECT_EQ(role(new_master), "master");
  EXPECT_TRUE(new_master.command({"SET", "{topology_test.sentinel}:after-failover", "1"}).is_ok());

  footprint f{topo->pids(), {}, topo->dir()};
  for (redis_server* n : topo->nodes()) f.ports.push_back(n->port());
  for (int p : topo->sentinel_ports()) f.ports.push_back(p);
  ASSERT_EQ(f.pids.size(), 5U);
  topo.reset();
  expect_gone(f);
}

TEST(SentinelTopology, KillMasterElectsTheReplica) {
  sentinel_topology topo;
  redis_server& replica = topo.replica();
  const std::string old_address = topo.kill_master();
  redis_server& promoted = topo.wait_for_new_master(old_address, 30s);
  EXPECT_EQ(&promoted, &replica);
  EXPECT_TRUE(promoted.command({"SET", "{topology_test.sentinel}:after-kill", "1"}).is_ok());
}

TEST(ClusterTopology, PromotesAReplicaWhenAMasterDiesAndTearsDownCleanly) {
  std::optional<cluster_topology> topo;
  topo.emplace();
  for (redis_server* n : topo->nodes()) {
    const reply info = n->command({"CLUSTER", "INFO"});
    EXPECT_EQ(info_field(info.str, "cluster_state"), "ok") << n->name();
  }
  ASSERT_EQ(topo->masters().size(), 3U);
  ASSERT_EQ(topo->replicas().size(), 3U);

  // Write through the seed and follow the redirect, as a cluster client would.
  const std::string key = "{topology_test.cluster}:k";
  int port = topo->nodes().front()->port();
  redis_connection conn("127.0.0.1", port);
  reply set = conn.command({"SET", key, "v"});
  if (set.is_error() && set.str.starts_with("MOVED ")) {
    port = split_address(set.str.substr(set.str.rfind(' ') + 1)).second;
    conn = redis_connection("127.0.0.1", port);
    set = conn.command({"SET", key, "v"});
  }
  ASSERT_TRUE(set.is_ok()) << set.to_string();
  // WAIT (on the writing connection: it waits for that client's last write) makes the replica
  // hold the key before its master dies.
  EXPECT_EQ(conn.command({"WAIT", "1", "5000"}).integer, 1);
  redis_server& owner = topo->node_for_key(key);
  EXPECT_EQ(owner.port(), port);

  redis_server* heir = nullptr;
  for (redis_server* r : topo->replicas()) {
    if (topo->master_of(*r) == &owner) heir = r;
  }
  ASSERT_NE(heir, nullptr);

  topo->kill(owner);
  topo->wait_until_ok(30s);
  EXPECT_EQ(role(*heir), "master");
  EXPECT_EQ(&topo->node_for_key(key), heir);
  EXPECT_EQ(heir->command({"GET", key}).str, "v");
  EXPECT_EQ(topo->masters().size(), 3U);

  // The dead master comes back with its nodes.conf identity as the heir's replica, then takes
  // its slots back with a manual failover.
  topo->restart(owner);
  topo->wait_until_ok(30s);
  EXPECT_EQ(topo->master_of(owner), heir);
  topo->failover(owner);
  EXPECT_EQ(role(owner), "master");
  EXPECT_EQ(&topo->node_for_key(key), &owner);
  EXPECT_EQ(owner.command({"GET", key}).str, "v");

  footprint f{topo->pids(), {}, topo->dir()};
  for (redis_server* n : topo->nodes()) {
    f.ports.push_back(n->port());
    f.ports.push_back(n->cluster_bus_port());
  }
  ASSERT_EQ(f.pids.size(), 6U);
  topo.reset();
  expect_gone(f);
}

}  // namespace
}  // namespace owcore::test
