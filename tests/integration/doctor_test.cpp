// `owcore doctor` as an operator runs it: the real binary against real standalone, Sentinel and
// Cluster topologies, with a clean environment. stdout and stderr are captured separately so the
// JSON form is checked to be the only thing on stdout.
#include "support/ports.hpp"
#include "support/process.hpp"
#include "support/redis_topology.hpp"
#include "support/wait.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace doctor_test {

using namespace owcore::test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

struct doctor_result {
  int exit_code = -1;
  std::string out;   // stdout
  std::string err;   // stderr (logs)
  json::object doc;  // stdout parsed, for --json runs
};

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs `owcore doctor [--json]` with exactly `env` (plus PATH) through env(1), no shell. The
// doctor bounds every step itself; the 30 s limit here only turns a hang into a failure.
doctor_result run_doctor(std::vector<std::string> env, bool as_json = true,
                         std::vector<std::string> extra_args = {}) {
  temp_dir dir("owcore-doctor-");
  const auto out_file = (dir.path() / "stdout").string();
  const auto err_file = (dir.path() / "stderr").string();
  std::vector<std::string> args{"/usr/bin/env", "-i", "PATH=/usr/bin:/bin"};
  for (auto& e : env) args.push_back(std::move(e));
  args.push_back(OWCORE_BINARY);
  args.push_back("doctor");
  if (as_json) args.push_back("--json");
  for (auto& a : extra_args) args.push_back(std::move(a));
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  doctor_result r;
  if (rc != 0) {
    ADD_FAILURE() << "posix_spawn failed: " << rc;
    return r;
  }
  int status = 0;
  const bool exited =
      poll_until(deadline_after(30s), [&] { return ::waitpid(pid, &status, WNOHANG) == pid; });
  if (!exited) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    ADD_FAILURE() << "owcore doctor did not finish within 30 s";
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out_file);
  r.err = slurp(err_file);
  if (as_json) {
    boost::system::error_code ec;
    auto v = json::parse(r.out, ec);
    if (ec || !v.is_object())
      ADD_FAILURE() << "stdout is not one JSON object:\n" << r.out << "\nstderr:\n" << r.err;
    else
      r.doc = std::move(v.get_object());
  }
  return r;
}

std::string str(const json::value& v) {
  return v.is_string() ? std::string(v.get_string()) : json::serialize(v);
}

const json::object& obj(const json::object& o, std::string_view key) {
  static const json::object empty;
  const auto* v = o.if_contains(key);
  return v && v->is_object() ? v->get_object() : empty;
}

const json::array& arr(const json::object& o, std::string_view key) {
  static const json::array empty;
  const auto* v = o.if_contains(key);
  return v && v->is_array() ? v->get_array() : empty;
}

// True if any string of o[key] contains `needle`.
bool mentions(const json::object& o, std::string_view key, std::string_view needle) {
  for (const auto& p : arr(o, key))
    if (p.is_string() && std::string_view(p.get_string()).find(needle) != std::string_view::npos)
      return true;
  return false;
}

// The report in assertion messages.
std::string dump(const doctor_result& r) { return "stdout:\n" + r.out + "\nstderr:\n" + r.err; }

// Checks the keys every client object ("app", "ws") carries, configured or not.
void expect_client_shape(const json::object& c) {
  for (const auto* key : {"configured", "topology", "healthy", "latency_ms", "master", "replicas",
                          "nodes", "slots_covered", "problems", "notes", "version", "key_prefix",
                          "variable", "sentinels", "status"})
    EXPECT_TRUE(c.contains(key)) << key << " missing in " << json::serialize(c);
}

}  // namespace

TEST(Doctor, WithoutRedisReportsInMemoryBackendsAndExitsZero) {
  auto r = run_doctor({});
  EXPECT_EQ(r.exit_code, 0) << dump(r);
  EXPECT_EQ(str(r.doc["status"]), "healthy");
  EXPECT_EQ(r.doc["exit_code"], 0);
  const auto& app = obj(r.doc, "app");
  const auto& ws = obj(r.doc, "ws");
  expect_client_shape(app);
  EXPECT_EQ(app.at("configured"), false);
  EXPECT_EQ(ws.at("configured"), false);
  EXPECT_NE(str(ws.at("note")).find("WEBSOCKET_MANAGER"), std::string::npos);
  EXPECT_TRUE(mentions(r.doc, "notes", "in-memory")) << dump(r);

  auto text = run_doctor({}, false);
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("in-memory backends are in use"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("result: healthy (exit 0)"), std::string::npos) << text.out;
}

TEST(Doctor, RejectsUnknownArguments) {
  auto r = run_doctor({}, false, {"--frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("usage: owcore doctor"), std::string::npos) << r.err;
}

TEST(Doctor, UnreachableRedisExitsTwoNamingTheAddress) {
  const auto port = std::to_string(free_port());  // nothing listens there
  auto r = run_doctor({"REDIS_URL=redis://127.0.0.1:" + port + "/0"});
  EXPECT_EQ(r.exit_code, 2) << dump(r);
  EXPECT_EQ(str(r.doc["status"]), "unreachable");
  const auto& app = obj(r.doc, "app");
  EXPECT_EQ(app.at("healthy"), false);
  EXPECT_TRUE(app.at("latency_ms").is_null());
  EXPECT_TRUE(mentions(app, "problems", "127.0.0.1:" + port)) << dump(r);
  EXPECT_TRUE(mentions(app, "problems", "cannot connect")) << dump(r);
}

TEST(Doctor, WebsocketManagerRedisWithoutUrlIsMisconfigured) {
  auto r = run_doctor({"WEBSOCKET_MANAGER=redis"});
  EXPECT_EQ(r.exit_code, 2) << dump(r);
  const auto& ws = obj(r.doc, "ws");
  EXPECT_EQ(ws.at("configured"), true);
  EXPECT_EQ(str(ws.at("status")), "misconfigured");
  EXPECT_TRUE(mentions(ws, "problems", "WEBSOCKET_REDIS_URL")) << dump(r);
}

// One password-protected server shared by the standalone checks.
class DoctorStandalone : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    topo_ = std::make_unique<standalone_topology>(
        standalone_options{.password = "s3cret", .extra_config = {}});
  }
  static void TearDownTestSuite() { topo_.reset(); }
  static std::string addr() { return "127.0.0.1:" + std::to_string(topo_->port()); }
  static std::unique_ptr<standalone_topology> topo_;
};
std::unique_ptr<standalone_topology> DoctorStandalone::topo_;

TEST_F(DoctorStandalone, HealthyServerReportsVersionLatencyAndAddress) {
  auto r = run_doctor({"REDIS_URL=" + topo_->url(), "REDIS_KEY_PREFIX=dr-test"});
  EXPECT_EQ(r.exit_code, 0) << dump(r);
  EXPECT_EQ(str(r.doc["status"]), "healthy");
  const auto& app = obj(r.doc, "app");
  expect_client_shape(app);
  EXPECT_EQ(str(app.at("topology")), "standalone");
  EXPECT_EQ(app.at("healthy"), true);
  EXPECT_EQ(str(app.at("master")), addr());
  ASSERT_TRUE(app.at("latency_ms").is_number()) << dump(r);
  EXPECT_GT(app.at("latency_ms").to_number<double>(), 0.0);
  EXPECT_FALSE(str(app.at("version")).empty());
  EXPECT_EQ(str(app.at("key_prefix")), "dr-test");
  EXPECT_TRUE(arr(app, "replicas").empty());
  EXPECT_TRUE(arr(app, "problems").empty()) << dump(r);
  EXPECT_EQ(r.out.find("s3cret"), std::string::npos) << "password leaked: " << r.out;
  EXPECT_EQ(obj(r.doc, "ws").at("configured"), false);
}

TEST_F(DoctorStandalone, TextReportIsReadableAndMasksThePassword) {
  auto r = run_doctor({"REDIS_URL=" + topo_->url()}, false);
  EXPECT_EQ(r.exit_code, 0) << dump(r);
  EXPECT_NE(r.out.find("topology    standalone"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("master      " + addr() + "  redis "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("REDIS_URL=redis://:***@" + addr()), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("result: healthy (exit 0)"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("s3cret"), std::string::npos) << "password leaked: " << r.out;
  EXPECT_EQ(r.err.find("s3cret"), std::string::npos) << "password leaked: " << r.err;
}

TEST_F(DoctorStandalone, WsRedisIsReportedAndSharedPubSubIsNoted) {
  auto ws_url = topo_->url();
  ws_url.replace(ws_url.size() - 1, 1, "1");  // ".../0" -> ".../1": same server, other database
  auto r = run_doctor(
      {"REDIS_URL=" + topo_->url(), "WEBSOCKET_MANAGER=redis", "WEBSOCKET_REDIS_URL=" + ws_url});
  EXPECT_EQ(r.exit_code, 0) << dump(r);
  const auto& ws = obj(r.doc, "ws");
  expect_client_shape(ws);
  EXPECT_EQ(ws.at("configured"), true);
  EXPECT_EQ(str(ws.at("variable")), "WEBSOCKET_REDIS_URL");
  EXPECT_EQ(str(ws.at("topology")), "standalone");
  EXPECT_EQ(str(ws.at("master")), addr());
  EXPECT_EQ(ws.at("db"), 1);
  EXPECT_TRUE(ws.at("latency_ms").is_number());
  EXPECT_TRUE(mentions(r.doc, "notes", "pub/sub is server-wide")) << dump(r);
}

TEST_F(DoctorStandalone, ClusterFlagAgainstAPlainServerIsMisconfigured) {
  auto r = run_doctor({"REDIS_URL=" + topo_->url(), "REDIS_CLUSTER=true"});
  EXPECT_EQ(r.exit_code, 2) << dump(r);
  EXPECT_EQ(str(r.doc["status"]), "misconfigured");
  const auto& app = obj(r.doc, "app");
  EXPECT_EQ(str(app.at("topology")), "cluster");
  EXPECT_TRUE(mentions(app, "problems", "not a Redis Cluster node")) << dump(r);
  EXPECT_TRUE(mentions(app, "problems", "REDIS_CLUSTER")) << dump(r);
}

TEST_F(DoctorStandalone, MissingOrWrongPasswordIsMisconfigured) {
  auto none = run_doctor({"REDIS_URL=redis://" + addr() + "/0"});
  EXPECT_EQ(none.exit_code, 2) << dump(none);
  EXPECT_EQ(str(obj(none.doc, "app").at("status")), "misconfigured");
  EXPECT_TRUE(mentions(obj(none.doc, "app"), "problems", "requires a password")) << dump(none);

  auto wrong = run_doctor({"REDIS_URL=redis://:nope@" + addr() + "/0"});
  EXPECT_EQ(wrong.exit_code, 2) << dump(wrong);
  EXPECT_TRUE(mentions(obj(wrong.doc, "app"), "problems", "AUTH refused")) << dump(wrong);
}

// One Sentinel group for three checks; the last one kills the replica, so they share one TEST.
TEST(DoctorSentinel, HealthyThenUnknownServiceThenDeadReplica) {
  sentinel_topology topo;
  const auto sentinel_port = std::to_string(topo.sentinel_ports().at(0));
  const std::vector<std::string> env{"REDIS_SENTINEL_HOSTS=127.0.0.1",
                                     "REDIS_SENTINEL_PORT=" + sentinel_port,
                                     "REDIS_URL=redis://mymaster/0"};
  const auto master = topo.master_address();
  const auto replica = topo.replica().address();

  auto r = run_doctor(env);
  EXPECT_EQ(r.exit_code, 0) << dump(r);
  const auto& app = obj(r.doc, "app");
  expect_client_shape(app);
  EXPECT_EQ(str(app.at("topology")), "sentinel");
  EXPECT_EQ(str(app.at("variable")), "REDIS_SENTINEL_HOSTS");
  EXPECT_EQ(str(app.at("master")), master);
  ASSERT_EQ(arr(app, "replicas").size(), 1u) << dump(r);
  EXPECT_EQ(str(arr(app, "replicas")[0]), replica);
  ASSERT_EQ(arr(app, "sentinels").size(), 1u);
  EXPECT_EQ(str(arr(app, "sentinels")[0].at("addr")), "127.0.0.1:" + sentinel_port);
  EXPECT_EQ(arr(app, "sentinels")[0].at("reachable"), true);
  EXPECT_FALSE(str(app.at("version")).empty());
  EXPECT_TRUE(app.at("latency_ms").is_number());
  EXPECT_TRUE(str(app.at("quorum")).starts_with("OK")) << dump(r);
  EXPECT_TRUE(mentions(app, "notes", "only one sentinel")) << dump(r);

  auto text = run_doctor(env, false);
  EXPECT_EQ(text.exit_code, 0) << dump(text);
  EXPECT_NE(
      text.out.find("sentinels   127.0.0.1:" + sentinel_port + "  ok, names master " + master),
      std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("replicas    " + replica), std::string::npos) << text.out;

  auto unknown = run_doctor({env[0], env[1], "REDIS_URL=redis://nosuch/0"});
  EXPECT_EQ(unknown.exit_code, 2) << dump(unknown);
  EXPECT_EQ(str(unknown.doc["status"]), "misconfigured");
  EXPECT_TRUE(mentions(obj(unknown.doc, "app"), "problems", "'nosuch'")) << dump(unknown);
  EXPECT_TRUE(mentions(obj(unknown.doc, "app"), "problems", "mymaster")) << dump(unknown);

  topo.replica().kill();
  auto degraded = run_doctor(env);
  EXPECT_EQ(degraded.exit_code, 1) << dump(degraded);
  EXPECT_EQ(str(degraded.doc["status"]), "degraded");
  const auto& dapp = obj(degraded.doc, "app");
  EXPECT_EQ(dapp.at("healthy"), false);
  EXPECT_EQ(str(dapp.at("master")), master);
  EXPECT_TRUE(mentions(dapp, "problems", "replica " + replica)) << dump(degraded);
}

TEST(DoctorCluster, HealthyClusterThenDatabaseNotZero) {
  cluster_topology topo;
  auto r =
      run_doctor({"REDIS_CLUSTER=true", "REDIS_URL=" + topo.seed_url(), "WEBSOCKET_MANAGER=redis"});
  EXPECT_EQ(r.exit_code, 0) << dump(r);
  const auto& app = obj(r.doc, "app");
  expect_client_shape(app);
  EXPECT_EQ(str(app.at("topology")), "cluster");
  EXPECT_EQ(app.at("slots_covered"), 16384);
  EXPECT_EQ(str(app.at("cluster_state")), "ok");
  EXPECT_TRUE(app.at("latency_ms").is_number());
  EXPECT_FALSE(str(app.at("version")).empty());
  const auto& nodes = arr(app, "nodes");
  ASSERT_EQ(nodes.size(), 6u) << dump(r);
  std::size_t masters = 0, slots = 0;
  for (const auto& n : nodes) {
    EXPECT_EQ(n.at("reachable"), true) << json::serialize(n);
    if (str(n.at("role")) != "master") {
      EXPECT_EQ(str(n.at("role")), "replica");
      EXPECT_FALSE(n.at("master").is_null());
      continue;
    }
    ++masters;
    for (const auto& range : n.at("slots").as_array())
      slots +=
          static_cast<std::size_t>(range.at(1).to_number<int>() - range.at(0).to_number<int>() + 1);
  }
  EXPECT_EQ(masters, 3u);
  EXPECT_EQ(slots, 16384u);
  EXPECT_EQ(arr(app, "replicas").size(), 3u);
  // WS inherits REDIS_URL and REDIS_CLUSTER; python-socketio's lack of Cluster support is noted.
  const auto& ws = obj(r.doc, "ws");
  EXPECT_EQ(str(ws.at("topology")), "cluster");
  EXPECT_TRUE(mentions(ws, "notes", "python-socketio")) << dump(r);

  auto text = run_doctor({"REDIS_CLUSTER=true", "REDIS_URL=" + topo.seed_url()}, false);
  EXPECT_EQ(text.exit_code, 0) << dump(text);
  EXPECT_NE(text.out.find("slots       16384/16384 covered"), std::string::npos) << text.out;

  auto url = topo.seed_url();
  url.replace(url.size() - 1, 1, "3");
  auto bad = run_doctor({"REDIS_CLUSTER=true", "REDIS_URL=" + url});
  EXPECT_EQ(bad.exit_code, 2) << dump(bad);
  EXPECT_EQ(str(bad.doc["status"]), "misconfigured");
  EXPECT_TRUE(
      mentions(obj(bad.doc, "app"), "problems", "REDIS_URL: Redis Cluster has only database 0"))
      << dump(bad);

  // A dead replica leaves every slot served: degraded, not down.
  auto& victim = *topo.replicas().at(0);
  const auto victim_addr = victim.address();
  topo.kill(victim);
  auto degraded = run_doctor({"REDIS_CLUSTER=true", "REDIS_URL=" + topo.seed_url()});
  EXPECT_EQ(degraded.exit_code, 1) << dump(degraded);
  EXPECT_EQ(str(degraded.doc["status"]), "degraded");
  EXPECT_EQ(obj(degraded.doc, "app").at("slots_covered"), 16384);
  EXPECT_TRUE(mentions(obj(degraded.doc, "app"), "problems", "node " + victim_addr))
      << dump(degraded);
}

}  // namespace doctor_test
