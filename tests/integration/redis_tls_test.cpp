// TLS with client certificates on every topology (docs/redis.md, "TLS"): servers that require a
// client certificate (tls-auth-clients yes), sentinels on TLS, a Cluster whose bus and
// replication are TLS (tls-cluster, tls-replication). Certificates are made per test with
// openssl. The failures an operator meets (no client certificate, the wrong CA, a certificate
// from another CA, a wrong key pass phrase) must end quickly with words that name the fix.
#include "owcore/redis/client.hpp"
#include "owcore/redis/error.hpp"
#include "owcore/redis/probe.hpp"
#include "support/http_client.hpp"
#include "support/io_runner.hpp"
#include "support/ports.hpp"
#include "support/process.hpp"
#include "support/redis_topology.hpp"
#include "support/test_log.hpp"
#include "support/tls_certs.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <mutex>
#include <thread>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace redis_tls_test {

namespace redis = owcore::redis;
namespace test = owcore::test;
using namespace std::chrono_literals;
using test::io_runner;

namespace {

// One PKI for the servers and owcore, and an unrelated one for the wrong-CA cases.
struct pki {
  test::temp_dir dir{"owcore-tls-"};
  test::tls_files good = test::make_tls_files(dir.path() / "good");
  test::tls_files other = test::make_tls_files(dir.path() / "other");

  test::redis_tls_config server() const {
    return {good.server_cert, good.server_key, good.ca_cert, true};
  }
};

redis::url_config parse(const std::string& url) {
  auto parsed = redis::parse_url(url);
  if (auto* e = std::get_if<redis::url_error>(&parsed))
    throw std::runtime_error(url + ": " + e->reason);
  return std::get<redis::url_config>(parsed);
}

std::vector<redis::address> addresses(const std::vector<std::string>& list) {
  std::vector<redis::address> out;
  for (const auto& a : list) out.push_back(*redis::address::parse(a));
  return out;
}

redis::client_options client_options(const std::string& url, redis::topology topo) {
  redis::client_options o;
  o.node = parse(url);
  o.topo = topo;
  o.log = test::test_log();
  o.connect_timeout = 2s;
  o.reply_timeout = 5s;
  o.queue_timeout = 20s;
  o.backoff_cap = 500ms;
  return o;
}

redis::probe_report probe(io_runner& r, const std::string& url, redis::topology topo,
                          const std::vector<std::string>& sentinels = {}) {
  redis::probe_options p;
  p.topo = topo;
  p.node = parse(url);
  p.sentinels = addresses(sentinels);
  p.service_name = p.node.host;
  p.timeout = 3s;
  return r.run(redis::probe(std::move(p)), 30s);
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

redis::reply one(io_runner& r, redis::client& c, redis::request req) {
  auto [ec, rep] = r.run(c.exec_one(std::move(req)));
  if (ec) throw std::runtime_error("exec failed: " + ec.message());
  return rep;
}

// SET/GET on `keys` (spread over slots on a Cluster), then a PUBLISH seen by a subscriber.
void exercise(io_runner& r, redis::client& c, const std::string& tag) {
  for (int i = 0; i < 20; ++i) {
    const auto k = tag + ":" + std::to_string(i);
    EXPECT_TRUE(one(r, c, redis::request().push("SET", redis::key(k), i)).is_status("OK"));
    EXPECT_EQ(one(r, c, redis::request().push("GET", redis::key(k))).str, std::to_string(i));
  }
  std::mutex m;
  std::vector<std::string> got;
  auto sub = c.make_subscriber(
      [&](const redis::message& msg) {
        std::lock_guard lock(m);
        got.push_back(msg.payload);
      },
      "tls subscriber", "");
  sub->subscribe(tag + "-chan");
  sub->start();
  ASSERT_TRUE(test::poll_until(test::deadline_after(10s), [&] { return sub->subscribed(); }));
  one(r, c, redis::request().push("PUBLISH", tag + "-chan", "over tls"));
  EXPECT_TRUE(test::poll_until(test::deadline_after(5s), [&] {
    std::lock_guard lock(m);
    return std::find(got.begin(), got.end(), "over tls") != got.end();
  }));
  sub->stop();
}

// A request through a client that can never connect ends within its queue_timeout.
void expect_request_fails(io_runner& r, redis::client_options o) {
  o.queue_timeout = 2s;
  auto c = redis::make_client(r.io.get_executor(), o);
  c->start();
  auto [ec, rep] = r.run(c->exec_one(redis::request().push("PING")), 20s);
  EXPECT_TRUE(ec) << "a request succeeded on a connection that should be refused";
  c->stop();
}

// Runs `owcore <args>` with exactly `env` (plus PATH) via env(1); the log holds both streams.
test::process spawn_owcore(const std::filesystem::path& log, std::vector<std::string> env,
                           std::vector<std::string> args) {
  std::vector<std::string> argv{"env", "-i", "PATH=/usr/bin:/bin"};
  for (auto& e : env) argv.push_back(std::move(e));
  argv.push_back(OWCORE_BINARY);
  for (auto& a : args) argv.push_back(std::move(a));
  return test::process(std::move(argv), log);
}

// `owcore serve` with `env` answers /ready with 200 (its start-up probes of the App and WS Redis
// passed on TLS), and `owcore doctor` with the same settings exits 0.
void expect_serve_and_doctor(const std::vector<std::string>& env) {
  test::temp_dir dir("owcore-tls-serve-");
  const int port = test::free_port();
  auto serve_env = env;
  serve_env.push_back("PORT=" + std::to_string(port));
  serve_env.push_back("DATA_DIR=" + (dir.path() / "data").string());
  auto serve = spawn_owcore(dir.path() / "serve.log", serve_env, {"serve"});
  const auto ready = test::wait_for_http(port, "/ready", 20s);
  ASSERT_TRUE(ready) << serve.log_tail();
  EXPECT_EQ(ready->status, 200) << ready->body << "\n" << serve.log_tail();
  serve.stop();

  auto doctor_env = env;
  doctor_env.push_back("DATA_DIR=" + (dir.path() / "data").string());
  auto doctor = spawn_owcore(dir.path() / "doctor.log", doctor_env, {"doctor"});
  const auto status = doctor.wait_for_exit(30s);
  ASSERT_TRUE(status) << doctor.log_tail();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
      << test::describe_wait_status(*status) << "\n"
      << doctor.log_tail(16384);
}

}  // namespace

TEST(RedisTls, StandaloneRequiresAClientCertificate) {
  pki keys;
  test::standalone_options so;
  so.tls = keys.server();
  test::standalone_topology topo(so);
  io_runner r;
  const std::string base = "rediss://127.0.0.1:" + std::to_string(topo.tls_port()) + "/0?";
  const std::string url = base + test::rediss_query(keys.good);

  auto c =
      redis::make_client(r.io.get_executor(), client_options(url, redis::topology::standalone));
  c->start();
  exercise(r, *c, "std");
  c->stop();
  EXPECT_TRUE(probe(r, url, redis::topology::standalone).ok);

  // The key inside the certificate file (Python's load_cert_chain without a key file), and an
  // encrypted key with its pass phrase.
  const std::string ca = "ssl_ca_certs=" + keys.good.ca_cert.string();
  const auto combined = probe(r, base + ca + "&ssl_certfile=" + keys.good.client_combined.string(),
                              redis::topology::standalone);
  EXPECT_TRUE(combined.ok) << combined.error;
  const std::string encrypted = base + ca + "&ssl_certfile=" + keys.good.client_cert.string() +
                                "&ssl_keyfile=" + keys.good.client_key_encrypted.string();
  const auto unlocked = probe(r, encrypted + "&ssl_password=" + keys.good.client_key_password,
                              redis::topology::standalone);
  EXPECT_TRUE(unlocked.ok) << unlocked.error;
  const auto locked = probe(r, encrypted + "&ssl_password=Xyzzy-9", redis::topology::standalone);
  EXPECT_FALSE(locked.ok);
  EXPECT_TRUE(contains(locked.error, "ssl_keyfile")) << locked.error;
  EXPECT_FALSE(contains(locked.error, "Xyzzy")) << "the pass phrase leaked: " << locked.error;
  const auto no_phrase = probe(r, encrypted, redis::topology::standalone);
  EXPECT_FALSE(no_phrase.ok);
  EXPECT_TRUE(contains(no_phrase.error, "ssl_keyfile")) << no_phrase.error;

  // No client certificate: refused after the handshake, and said so.
  const std::string no_cert = base + test::rediss_query(keys.good, false);
  const auto refused = probe(r, no_cert, redis::topology::standalone);
  EXPECT_FALSE(refused.ok);
  EXPECT_TRUE(contains(refused.error, "127.0.0.1:" + std::to_string(topo.tls_port())))
      << refused.error;
  EXPECT_TRUE(contains(refused.error, "client certificate")) << refused.error;
  EXPECT_TRUE(contains(refused.error, "ssl_certfile")) << refused.error;
  expect_request_fails(r, client_options(no_cert, redis::topology::standalone));

  // The server's certificate checked against the wrong CA.
  const std::string wrong_ca = base + "ssl_ca_certs=" + keys.other.ca_cert.string() +
                               "&ssl_certfile=" + keys.good.client_cert.string() +
                               "&ssl_keyfile=" + keys.good.client_key.string();
  const auto unverified = probe(r, wrong_ca, redis::topology::standalone);
  EXPECT_FALSE(unverified.ok);
  EXPECT_TRUE(contains(unverified.error, "certificate verify failed")) << unverified.error;
  EXPECT_TRUE(contains(unverified.error, "ssl_ca_certs")) << unverified.error;
  expect_request_fails(r, client_options(wrong_ca, redis::topology::standalone));

  // A client certificate from a CA the server does not trust.
  const std::string foreign = base + ca + "&ssl_certfile=" + keys.other.client_cert.string() +
                              "&ssl_keyfile=" + keys.other.client_key.string();
  const auto untrusted = probe(r, foreign, redis::topology::standalone);
  EXPECT_FALSE(untrusted.ok);
  EXPECT_TRUE(contains(untrusted.error, "client certificate")) << untrusted.error;

  // A missing certificate file is named.
  const auto missing =
      probe(r, base + ca + "&ssl_certfile=/nonexistent/client.pem", redis::topology::standalone);
  EXPECT_FALSE(missing.ok);
  EXPECT_TRUE(contains(missing.error, "/nonexistent/client.pem")) << missing.error;

  // rediss:// to the plain port.
  const auto plain = probe(
      r,
      "rediss://127.0.0.1:" + std::to_string(topo.port()) + "/0?" + test::rediss_query(keys.good),
      redis::topology::standalone);
  EXPECT_FALSE(plain.ok);
  EXPECT_TRUE(contains(plain.error, "tls-port")) << plain.error;
}

TEST(RedisTls, SentinelGroupWithSentinelsOnTls) {
  pki keys;
  test::sentinel_options so;
  so.tls = keys.server();
  test::sentinel_topology topo(so);
  io_runner r;
  // As an operator writes it: rediss:// with the service name as host; the same TLS settings
  // reach the sentinels and the master.
  const std::string url = "rediss://" + topo.service_name() + "/0?" + test::rediss_query(keys.good);
  auto opts = client_options(url, redis::topology::sentinel);
  opts.sentinels = addresses(topo.tls_sentinels());
  opts.service_name = topo.service_name();
  opts.max_attempts = 5;
  opts.retry_delay = 200ms;
  auto c = redis::make_client(r.io.get_executor(), opts);
  c->start();
  exercise(r, *c, "sen");
  const auto report = probe(r, url, redis::topology::sentinel, topo.tls_sentinels());
  ASSERT_TRUE(report.ok) << report.error;
  EXPECT_EQ(report.address, topo.master().tls_address());

  // A failover announced by the sentinels over TLS moves the client to the new master's TLS port.
  topo.failover();
  for (int i = 0; i < 10; ++i)
    EXPECT_TRUE(one(r, *c, redis::request().push("SET", redis::key("after"), i)).is_status("OK"));
  EXPECT_EQ(one(r, *c, redis::request().push("ROLE")).elements.at(0).str, "master");
  c->stop();
  // The demoted master resyncs over TLS and the sentinels see its link up again.
  test::redis_server& demoted = topo.replica();
  EXPECT_TRUE(test::poll_until(test::deadline_after(30s), [&] {
    const auto info = demoted.try_command({"INFO", "replication"});
    if (!info || test::info_field(info->str, "master_link_status") != "up") return false;
    for (auto* s : topo.sentinel_servers()) {
      const auto replicas = s->try_command({"SENTINEL", "REPLICAS", topo.service_name()});
      if (!replicas || !replicas->is_array() || replicas->elements.size() != 1 ||
          test::map_field(replicas->elements[0], "master-link-status") != "ok")
        return false;
    }
    return true;
  })) << demoted.log_tail();

  // Without a client certificate no sentinel lets owcore in, and the reason names the fix.
  const std::string no_cert =
      "rediss://" + topo.service_name() + "/0?" + test::rediss_query(keys.good, false);
  const auto refused = probe(r, no_cert, redis::topology::sentinel, topo.tls_sentinels());
  EXPECT_FALSE(refused.ok);
  EXPECT_TRUE(contains(refused.error, "client certificate")) << refused.error;
  auto bad = opts;
  bad.node = parse(no_cert);
  expect_request_fails(r, bad);

  // Production wiring: `owcore serve` and `owcore doctor` on the TLS sentinels, configured as for
  // Open WebUI (one REDIS_SENTINEL_PORT for every host, so one sentinel here).
  const auto sentinel_port = std::to_string(topo.sentinel_servers()[0]->tls_port());
  expect_serve_and_doctor({"REDIS_URL=" + url, "REDIS_SENTINEL_HOSTS=127.0.0.1",
                           "REDIS_SENTINEL_PORT=" + sentinel_port, "WEBSOCKET_MANAGER=redis",
                           "WEBSOCKET_SENTINEL_HOSTS=127.0.0.1",
                           "WEBSOCKET_SENTINEL_PORT=" + sentinel_port});
}

TEST(RedisTls, ClusterWithTlsBusAndReplication) {
  pki keys;
  test::cluster_options co;
  co.tls = keys.server();
  test::cluster_topology topo(co);
  io_runner r;
  const std::string url =
      "rediss://" + topo.seed_tls_address() + "/0?" + test::rediss_query(keys.good);
  auto c = redis::make_client(r.io.get_executor(), client_options(url, redis::topology::cluster));
  c->start();
  exercise(r, *c, "clu");
  // Every node the client learnt from CLUSTER SLOTS is a TLS port.
  std::vector<std::string> tls_ports;
  for (auto* n : topo.nodes()) tls_ports.push_back(n->tls_address());
  const auto known = c->nodes();
  ASSERT_FALSE(known.empty());
  for (const auto& n : known)
    EXPECT_NE(std::find(tls_ports.begin(), tls_ports.end(), n.address), tls_ports.end())
        << n.address << " is not a TLS port";
  c->stop();
  const auto report = probe(r, url, redis::topology::cluster);
  EXPECT_TRUE(report.ok) << report.error;

  const std::string no_cert =
      "rediss://" + topo.seed_tls_address() + "/0?" + test::rediss_query(keys.good, false);
  const auto refused = probe(r, no_cert, redis::topology::cluster);
  EXPECT_FALSE(refused.ok);
  EXPECT_TRUE(contains(refused.error, "client certificate")) << refused.error;
  expect_request_fails(r, client_options(no_cert, redis::topology::cluster));

  // WEBSOCKET_REDIS_URL and WEBSOCKET_REDIS_CLUSTER default to the App's settings.
  expect_serve_and_doctor({"REDIS_URL=" + url, "REDIS_CLUSTER=true", "WEBSOCKET_MANAGER=redis"});
}

}  // namespace redis_tls_test
