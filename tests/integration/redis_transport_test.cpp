// The client over TLS (rediss:// with the URL options redis-py reads), Unix sockets and ACL users.
#include "owcore/redis/client.hpp"
#include "owcore/redis/error.hpp"
#include "support/ports.hpp"
#include "support/process.hpp"
#include "support/redis_client.hpp"
#include "support/redis_topology.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include <sys/wait.h>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace redis_transport_test {

namespace redis = owcore::redis;
namespace test = owcore::test;
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// Runs one request through a fresh client built from `url`; returns the first reply or the error.
std::pair<boost::system::error_code, redis::reply> run_once(const std::string& url, redis::request req,
                                                            std::chrono::seconds queue_timeout = 10s) {
  auto parsed = redis::parse_url(url);
  if (auto* e = std::get_if<redis::url_error>(&parsed)) throw std::runtime_error(e->reason);
  redis::client_options o;
  o.node = std::get<redis::url_config>(parsed);
  o.queue_timeout = queue_timeout;
  o.connect_timeout = 2s;
  asio::io_context io;
  auto c = redis::make_client(io.get_executor(), o);
  c->start();
  auto fut = asio::co_spawn(io, c->exec_one(std::move(req)), asio::use_future);
  std::thread t([&] { io.run_for(30s); });
  auto result = fut.get();
  c->stop();
  io.stop();
  t.join();
  return result;
}

void run_checked(const std::vector<std::string>& argv, const std::filesystem::path& log) {
  test::process p(argv, log);
  auto status = p.wait_for_exit(30s);
  if (!status || !WIFEXITED(*status) || WEXITSTATUS(*status) != 0)
    throw std::runtime_error("command failed: " + argv[0] + "\n" + p.log_tail());
}

}  // namespace

TEST(RedisTransport, TlsWithCaVerificationAndWithout) {
  test::temp_dir dir("owcore-tls-");
  const auto d = dir.path();
  const auto log = d / "openssl.log";
  // A CA and a server certificate for 127.0.0.1, made here with the openssl CLI.
  run_checked({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
               "/CN=owcore test CA", "-keyout", (d / "ca.key").string(), "-out", (d / "ca.pem").string()},
              log);
  run_checked({"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout",
               (d / "server.key").string(), "-out", (d / "server.csr").string()},
              log);
  {
    std::ofstream ext(d / "ext.cnf");
    ext << "subjectAltName=IP:127.0.0.1\n";
  }
  run_checked({"openssl", "x509", "-req", "-in", (d / "server.csr").string(), "-CA", (d / "ca.pem").string(),
               "-CAkey", (d / "ca.key").string(), "-CAcreateserial", "-days", "1", "-extfile",
               (d / "ext.cnf").string(), "-out", (d / "server.pem").string()},
              log);

  const int port = test::free_port();
  test::process server({"redis-server", "--port", "0", "--tls-port", std::to_string(port), "--bind",
                        "127.0.0.1", "--save", "", "--appendonly", "no", "--tls-cert-file",
                        (d / "server.pem").string(), "--tls-key-file", (d / "server.key").string(),
                        "--tls-ca-cert-file", (d / "ca.pem").string(), "--tls-auth-clients", "no"},
                       d / "redis.log");
  ASSERT_TRUE([&] {
    for (int i = 0; i < 200; ++i) {
      if (test::port_accepts_connections(port, 100ms)) return true;
      std::this_thread::sleep_for(25ms);
    }
    return false;
  }()) << server.log_tail();

  const std::string base = "rediss://127.0.0.1:" + std::to_string(port) + "/0";
  auto [ec, pong] = run_once(base + "?ssl_ca_certs=" + (d / "ca.pem").string() + "&ssl_check_hostname=true",
                             redis::request().push("PING"));
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_TRUE(pong.is_status("PONG"));

  auto [ec2, pong2] = run_once(base + "?ssl_cert_reqs=none", redis::request().push("PING"));
  ASSERT_FALSE(ec2) << ec2.message();
  EXPECT_TRUE(pong2.is_status("PONG"));

  // Verification against the system CAs fails: the request never finds a usable connection.
  auto [ec3, r3] = run_once(base, redis::request().push("PING"), 2s);
  EXPECT_TRUE(ec3) << "a certificate from an unknown CA was accepted";
  server.stop();
}

TEST(RedisTransport, UnixSocketAndAclUser) {
  test::temp_dir dir("owcore-unix-");
  const auto sock = (dir.path() / "redis.sock").string();
  test::standalone_options opts;
  opts.extra_config = {"unixsocket " + sock, "unixsocketperm 700",
                       "user owcore on >p@ss:w/rd ~* &* +@all"};
  test::standalone_topology topo(opts);

  auto [ec, pong] = run_once("unix://" + sock + "?db=2", redis::request().push("SET", redis::key("u"), "1"));
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_TRUE(pong.is_status("OK"));
  EXPECT_EQ(test::redis_command(topo.port(), {"SELECT", "2"}).str, "OK");

  // An ACL user whose password needs percent-encoding in the URL.
  const std::string url = "redis://owcore:p%40ss%3Aw%2Frd@127.0.0.1:" + std::to_string(topo.port()) + "/0";
  auto [ec2, who] = run_once(url, redis::request().push("ACL", "WHOAMI"));
  ASSERT_FALSE(ec2) << ec2.message();
  EXPECT_EQ(who.str, "owcore");
}

}  // namespace redis_transport_test
