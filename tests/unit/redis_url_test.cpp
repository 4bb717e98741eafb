#include "owcore/redis/url.hpp"

#include <gtest/gtest.h>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace redis_url_test {

using owcore::redis::parse_url;
using owcore::redis::url_config;
using owcore::redis::url_error;

namespace {

url_config ok(std::string_view s) {
  auto r = parse_url(s);
  if (auto* e = std::get_if<url_error>(&r)) ADD_FAILURE() << s << ": " << e->reason;
  return std::get_if<url_config>(&r) ? std::get<url_config>(r) : url_config{};
}

std::string err(std::string_view s) {
  auto r = parse_url(s);
  if (auto* e = std::get_if<url_error>(&r)) return e->reason;
  ADD_FAILURE() << s << " parsed but should not";
  return {};
}

}  // namespace

TEST(RedisUrl, DefaultsLikeRedisPy) {
  auto c = ok("redis://example.com");
  EXPECT_EQ(c.connect.host, "example.com");
  EXPECT_EQ(c.connect.port, 6379);
  EXPECT_EQ(c.db, 0);
  EXPECT_FALSE(c.connect.tls.enabled);
  EXPECT_TRUE(c.auth.password.empty());
}

TEST(RedisUrl, PortDbAndCredentialsArePercentDecoded) {
  auto c = ok("redis://us%40er:p%40ss%3Aw%2Fd@10.0.0.1:6380/3");
  EXPECT_EQ(c.connect.host, "10.0.0.1");
  EXPECT_EQ(c.connect.port, 6380);
  EXPECT_EQ(c.db, 3);
  EXPECT_EQ(c.auth.username, "us@er");
  EXPECT_EQ(c.auth.password, "p@ss:w/d");
}

TEST(RedisUrl, PasswordOnly) {
  auto c = ok("redis://:secret@localhost:6379/0");
  EXPECT_EQ(c.auth.username, "");
  EXPECT_EQ(c.auth.password, "secret");
}

TEST(RedisUrl, QueryDbWinsOverPath) {
  EXPECT_EQ(ok("redis://h/2?db=5").db, 5);
}

TEST(RedisUrl, TlsOptions) {
  auto c = ok("rediss://h:6390/0?ssl_cert_reqs=none&ssl_ca_certs=/ca.pem&ssl_certfile=/c.pem"
              "&ssl_keyfile=/k.pem&ssl_check_hostname=true");
  EXPECT_TRUE(c.connect.tls.enabled);
  EXPECT_FALSE(c.connect.tls.verify_peer);
  EXPECT_EQ(c.connect.tls.ca_file, "/ca.pem");
  EXPECT_EQ(c.connect.tls.cert_file, "/c.pem");
  EXPECT_EQ(c.connect.tls.key_file, "/k.pem");
  EXPECT_TRUE(c.connect.tls.check_hostname);
  EXPECT_TRUE(ok("rediss://h").connect.tls.verify_peer);
}

TEST(RedisUrl, ClientCertificateOptions) {
  // Percent-encoded paths and a pass phrase, as an operator writes them into REDIS_URL.
  auto c =
      ok("rediss://:pw@h:6390/0?ssl_certfile=%2Fetc%2Fowcore%2Fclient.pem"
         "&ssl_keyfile=/etc/owcore/client.key&ssl_password=s%26cret&ssl_ca_path=/etc/ssl/certs"
         "&ssl_ca_certs=/etc/owcore/ca.pem");
  EXPECT_EQ(c.connect.tls.cert_file, "/etc/owcore/client.pem");
  EXPECT_EQ(c.connect.tls.key_file, "/etc/owcore/client.key");
  EXPECT_EQ(c.connect.tls.key_password, "s&cret");
  EXPECT_EQ(c.connect.tls.ca_path, "/etc/ssl/certs");
  EXPECT_EQ(c.connect.tls.ca_file, "/etc/owcore/ca.pem");
  EXPECT_EQ(c.auth.password, "pw");
  EXPECT_TRUE(c.connect.tls.verify_peer);
  // The certificate file alone: Python's load_cert_chain then reads the key from it.
  auto combined = ok("rediss://h?ssl_certfile=/both.pem");
  EXPECT_EQ(combined.connect.tls.cert_file, "/both.pem");
  EXPECT_EQ(combined.connect.tls.key_file, "");
  // The Sentinel form: the host is the service name, the TLS options apply to every connection.
  auto s = ok("rediss://mymaster/0?ssl_certfile=/c.pem&ssl_keyfile=/k.pem&ssl_ca_certs=/ca.pem");
  EXPECT_EQ(s.host, "mymaster");
  EXPECT_EQ(s.connect.tls.key_file, "/k.pem");
  // redis-py's option spellings for ssl_cert_reqs.
  EXPECT_TRUE(ok("rediss://h?ssl_cert_reqs=required").connect.tls.verify_peer);
  EXPECT_TRUE(ok("rediss://h?ssl_cert_reqs=optional").connect.tls.verify_peer);
  EXPECT_FALSE(ok("rediss://h?ssl_cert_reqs=CERT_NONE").connect.tls.verify_peer);
}

TEST(RedisUrl, RejectsClientKeyWithoutCertificate) {
  EXPECT_NE(err("rediss://h?ssl_keyfile=/k.pem").find("ssl_certfile"), std::string::npos);
  EXPECT_NE(err("rediss://h?ssl_password=x").find("ssl_certfile"), std::string::npos);
  EXPECT_NE(err("redis://h?ssl_certfile=/c.pem").find("rediss"), std::string::npos);
  EXPECT_NE(err("redis://h?ssl_password=x").find("rediss"), std::string::npos);
  // OCSP validation is not implemented; a URL asking for it is refused, not silently weakened.
  EXPECT_NE(err("rediss://h?ssl_validate_ocsp=true").find("ssl_validate_ocsp"), std::string::npos);
}

TEST(RedisUrl, ErrorsNeverContainTheKeyPassPhrase) {
  EXPECT_EQ(err("rediss://h?ssl_password=hunter2").find("hunter2"), std::string::npos);
  EXPECT_EQ(err("rediss://h?ssl_password=hunter2&ssl_certfile=/c&x=1").find("hunter2"),
            std::string::npos);
}

TEST(RedisUrl, UnixSocket) {
  auto c = ok("unix:///run/redis/redis.sock?db=2");
  EXPECT_EQ(c.connect.unix_path, "/run/redis/redis.sock");
  EXPECT_EQ(c.db, 2);
}

TEST(RedisUrl, SocketOptions) {
  auto c = ok("redis://h?socket_timeout=1.5&socket_connect_timeout=2&health_check_interval=10");
  EXPECT_DOUBLE_EQ(*c.socket_timeout_s, 1.5);
  EXPECT_DOUBLE_EQ(*c.socket_connect_timeout_s, 2);
  EXPECT_EQ(*c.health_check_interval_s, 10);
}

TEST(RedisUrl, SentinelServiceNameIsTheHost) {
  EXPECT_EQ(ok("redis://:pw@mymaster:6379/0").host, "mymaster");
  EXPECT_EQ(ok("redis://").host, "");
}

TEST(RedisUrl, RejectsMalformedInput) {
  EXPECT_NE(err("notaurl").find("not a URL"), std::string::npos);
  EXPECT_NE(err("").find("empty"), std::string::npos);
  EXPECT_NE(err("http://h").find("scheme"), std::string::npos);
  EXPECT_NE(err("redis://h:0").find("port"), std::string::npos);
  EXPECT_NE(err("redis://h:70000").find("port"), std::string::npos);
  EXPECT_NE(err("redis://h/x").find("database"), std::string::npos);
  EXPECT_NE(err("redis://h?db=-1").find("db"), std::string::npos);
  EXPECT_NE(err("redis://h?bogus=1").find("bogus"), std::string::npos);
  EXPECT_NE(err("redis://h?ssl_ca_certs=/x").find("rediss"), std::string::npos);
  EXPECT_NE(err("rediss://h?ssl_cert_reqs=maybe").find("ssl_cert_reqs"), std::string::npos);
  EXPECT_NE(err("unix://").find("path"), std::string::npos);
}

TEST(RedisUrl, ErrorsNeverContainThePassword) {
  auto reason = err("redis://user:hunter2@h:99999/0");
  EXPECT_EQ(reason.find("hunter2"), std::string::npos);
}

}  // namespace redis_url_test
