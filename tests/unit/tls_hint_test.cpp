// net::tls_failure_hint: the words an operator reads when a TLS connection to Redis fails.
#include "owcore/net/stream.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <gtest/gtest.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace tls_hint_test {

namespace net = owcore::net;
namespace asio = boost::asio;

namespace {

boost::system::error_code ssl_error(int reason) {
  return {static_cast<int>(ERR_PACK(ERR_LIB_SSL, 0, reason)), asio::error::get_ssl_category()};
}

net::tls_options tls(std::string cert = {}) {
  net::tls_options t;
  t.enabled = true;
  t.ca_file = "/ca.pem";
  t.cert_file = std::move(cert);
  return t;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST(TlsHint, VerificationFailureNamesTheCaOption) {
  const auto h = net::tls_failure_hint(ssl_error(SSL_R_CERTIFICATE_VERIFY_FAILED), tls(), false);
  EXPECT_TRUE(has(h, "ssl_ca_certs")) << h;
  EXPECT_TRUE(has(h, "not verified")) << h;
  auto system = tls();
  system.ca_file.clear();
  EXPECT_TRUE(has(net::tls_failure_hint(ssl_error(SSL_R_CERTIFICATE_VERIFY_FAILED), system, false),
                  "system CAs"));
}

TEST(TlsHint, MissingClientCertificate) {
  const auto alert =
      net::tls_failure_hint(ssl_error(SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED), tls(), true);
  EXPECT_TRUE(has(alert, "requires a client certificate")) << alert;
  EXPECT_TRUE(has(alert, "ssl_certfile")) << alert;
  // The reset that may arrive instead of the alert, after the handshake only.
  const auto reset = net::tls_failure_hint(asio::error::connection_reset, tls(), true);
  EXPECT_TRUE(has(reset, "ssl_certfile")) << reset;
  EXPECT_TRUE(has(net::tls_failure_hint(asio::ssl::error::stream_truncated, tls(), true),
                  "client certificates"));
  EXPECT_EQ(net::tls_failure_hint(asio::error::connection_reset, tls(), false), "");
  // With a certificate configured, a reset is not blamed on a missing one.
  const auto refused = net::tls_failure_hint(asio::error::connection_reset, tls("/c.pem"), true);
  EXPECT_FALSE(has(refused, "set ssl_certfile")) << refused;
  EXPECT_TRUE(has(refused, "may have refused the client certificate ssl_certfile '/c.pem'"))
      << refused;
}

TEST(TlsHint, RefusedClientCertificateNamesTheFile) {
  const auto h =
      net::tls_failure_hint(ssl_error(SSL_R_TLSV1_ALERT_UNKNOWN_CA), tls("/etc/c.pem"), true);
  EXPECT_TRUE(has(h, "refused the client certificate ssl_certfile '/etc/c.pem'")) << h;
}

TEST(TlsHint, PlainPortAndNonTlsErrors) {
  EXPECT_TRUE(
      has(net::tls_failure_hint(ssl_error(SSL_R_WRONG_VERSION_NUMBER), tls(), false), "tls-port"));
  EXPECT_EQ(net::tls_failure_hint(asio::error::connection_refused, tls(), false), "");
  EXPECT_EQ(net::tls_failure_hint({}, tls(), true), "");
  net::tls_options off;
  EXPECT_EQ(net::tls_failure_hint(ssl_error(SSL_R_CERTIFICATE_VERIFY_FAILED), off, false), "");
}

}  // namespace tls_hint_test
