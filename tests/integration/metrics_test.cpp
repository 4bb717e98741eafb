// GET /metrics of a real `owcore serve` (docs/metrics.md): after HTTP, Engine.IO, Socket.IO and
// Redis traffic, the whole body is parsed by an independent Prometheus text-format parser
// (Python's prometheus_client, tests/integration/python/check_metrics.py) that also checks the
// naming conventions, and the counters of that traffic have moved. OWCORE_METRICS=false: 404.
#include "support/http_client.hpp"
#include "support/ports.hpp"
#include "support/process.hpp"
#include "support/redis_topology.hpp"
#include "support/wait.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <fstream>
#include <sstream>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace metrics_test {

using namespace owcore::test;
using namespace std::chrono_literals;

namespace {

const std::string eio_path = "/ws/socket.io/?EIO=4&transport=polling";

struct owcore_server {
  temp_dir dir{"owcore-metrics-"};
  int port = free_port();
  std::optional<process> proc;

  explicit owcore_server(std::vector<std::string> env, const char* binary = OWCORE_BINARY) {
    std::vector<std::string> argv{"env", "-i", "PATH=/usr/bin:/bin"};
    for (auto& e : env) argv.push_back(std::move(e));
    argv.push_back("PORT=" + std::to_string(port));
    argv.push_back("DATA_DIR=" + (dir.path() / "data").string());
    argv.push_back(binary);
    argv.push_back("serve");
    proc.emplace(std::move(argv), dir.path() / "owcore.log");
    if (!wait_for_http(port, "/health", 15s))
      throw std::runtime_error("owcore did not serve /health:\n" + proc->log_tail());
  }
};

http_response request(int port, const std::string& head_and_body) {
  http_connection c(port);
  c.send(head_and_body);
  return c.read_response();
}

http_response post(int port, const std::string& target, const std::string& body) {
  return request(port, "POST " + target +
                           " HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain;charset=UTF-8\r\n" +
                           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
}

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs the independent parser on `text`; fails the test with its complaints, else returns every
// sample as {"name{label=value,...}": value}.
boost::json::object parse_with_prometheus_client(const std::string& text, const temp_dir& dir) {
  const auto in = dir.path() / "metrics.txt";
  const auto out = dir.path() / "samples.json";
  std::ofstream(in) << text;
  process py({"/usr/bin/python3",
              OWCORE_SOURCE_DIR "/tests/integration/python/check_metrics.py",
              in.string(), out.string()},
             dir.path() / "check_metrics.log");
  const auto status = py.wait_for_exit(60s);
  if (!status || !WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    ADD_FAILURE() << "prometheus_client rejected /metrics:\n"
                  << py.log_tail() << "\n--- body:\n"
                  << text;
    return {};
  }
  return boost::json::parse(read_all(out)).as_object();
}

double sample(const boost::json::object& s, const std::string& key) {
  auto it = s.find(key);
  if (it == s.end()) return -1;
  return it->value().to_number<double>();
}

}  // namespace

TEST(Metrics, ServedTextParsesAndCountsTheTraffic) {
  standalone_topology redis;
  // The testbed binary (owcore plus the `testing` Socket.IO profile: join, broadcast) in Open
  // WebUI's polling-only mode (ENABLE_WEBSOCKET_SUPPORT=false), driven here with raw HTTP.
  owcore_server s({"REDIS_URL=" + redis.url(), "WEBSOCKET_MANAGER=redis",
                   "OWCORE_SOCKETIO_PROFILE=testing", "ENABLE_WEBSOCKET_SUPPORT=false"},
                  OWCORE_TESTBED_BINARY);

  auto status_of = [&](const std::string& path) {
    auto r = http_get(s.port, path);
    return r ? r->status : -1;
  };
  for (int i = 0; i < 3; ++i) ASSERT_EQ(status_of("/health"), 200);
  ASSERT_EQ(status_of("/ready"), 200);  // a PING on the App Redis
  ASSERT_EQ(status_of("/no-such-path"), 404);

  // Engine.IO polling handshake, a Socket.IO connect and three events: a join, an Open WebUI
  // event name without a handler in this profile, and a broadcast to the joined room.
  auto open = http_get(s.port, eio_path);
  ASSERT_TRUE(open);
  ASSERT_EQ(open->status, 200) << open->body;
  const auto at = open->body.find("\"sid\":\"");
  ASSERT_NE(at, std::string::npos) << open->body;
  const auto sid = open->body.substr(at + 7, open->body.find('"', at + 7) - at - 7);
  const auto session = eio_path + "&sid=" + sid;
  ASSERT_EQ(post(s.port, session, "40").status, 200);
  auto connected = request(s.port, "GET " + session + " HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_NE(connected.body.find("40{\"sid\":"), std::string::npos) << connected.body;
  ASSERT_EQ(post(s.port, session,
                 "42[\"join\",{\"room\":\"r\"}]\x1e"
                 "42[\"heartbeat\",{}]\x1e"
                 "42[\"broadcast\",{\"room\":\"r\",\"payload\":1}]")
                .status,
            200);

  const std::string redis_node = "127.0.0.1:" + std::to_string(redis.port());
  boost::json::object samples;
  std::string text;
  // The events are handled asynchronously: scrape until the broadcast has been published.
  const bool settled = poll_until(
      deadline_after(20s),
      [&] {
        auto r = http_get(s.port, "/metrics");
        if (!r || r->status != 200) return false;
        text = r->body;
        return text.find("\nowcore_pubsub_messages_published_total 0\n") == std::string::npos &&
               text.find("\nowcore_socketio_deliveries_total 0\n") == std::string::npos;
      },
      100ms);
  ASSERT_TRUE(settled) << text << "\n" << s.proc->log_tail();
  auto res = http_get(s.port, "/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  samples = parse_with_prometheus_client(res->body, s.dir);
  ASSERT_FALSE(samples.empty());

  EXPECT_GE(sample(samples, "owcore_http_requests_total{code=200,route=/health}"), 3);
  EXPECT_GE(sample(samples, "owcore_http_requests_total{code=200,route=/ready}"), 1);
  EXPECT_GE(sample(samples, "owcore_http_requests_total{code=404,route=unmatched}"), 1);
  EXPECT_GE(sample(samples, "owcore_http_requests_total{code=200,route=/ws/socket.io/}"), 4);
  EXPECT_GE(sample(samples, "owcore_engineio_sessions_opened_total{transport=polling}"), 1);
  EXPECT_GE(sample(samples, "owcore_engineio_sessions{transport=polling}"), 1);
  EXPECT_GE(sample(samples, "owcore_socketio_connects_total{}"), 1);
  EXPECT_GE(sample(samples, "owcore_socketio_events_received_total{event=heartbeat}"), 1);
  EXPECT_GE(sample(samples, "owcore_socketio_events_received_total{event=other}"),
            2);  // join, broadcast
  EXPECT_GE(sample(samples, "owcore_socketio_events_sent_total{event=other}"), 1);  // deliver
  EXPECT_GE(sample(samples, "owcore_socketio_broadcasts_total{}"), 1);
  EXPECT_GE(sample(samples, "owcore_socketio_deliveries_total{}"), 1);
  EXPECT_GE(sample(samples, "owcore_pubsub_messages_published_total{}"), 1);
  EXPECT_GE(sample(samples, "owcore_redis_commands_total{client=app,node=" + redis_node + "}"), 1);
  EXPECT_GE(sample(samples, "owcore_redis_request_duration_seconds_count{client=app,node=" +
                                redis_node + "}"),
            1);
  EXPECT_EQ(
      sample(samples, "owcore_redis_request_failures_total{client=app,node=" + redis_node + "}"),
      0);
  EXPECT_GE(sample(samples, "owcore_db_queries_total{dialect=sqlite}"), 1);
  int build_info = 0;
  for (const auto& [k, v] : samples)
    if (k.starts_with("owcore_build_info{version="))
      build_info += v.to_number<double>() == 1 ? 1 : 100;
  EXPECT_EQ(build_info, 1);
  EXPECT_EQ(sample(samples, "owcore_tasks_running{}"), 0);
}

TEST(Metrics, DisabledByTheSettingAnswers404) {
  owcore_server s({"OWCORE_METRICS=false"});
  auto r = http_get(s.port, "/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404) << r->body;
  owcore_server on({});
  auto served = http_get(on.port, "/metrics");
  ASSERT_TRUE(served);
  EXPECT_EQ(served->status, 200);
}

}  // namespace metrics_test
