// Certificates for TLS integration tests, made at test time with the openssl command-line tool.
#pragma once

#include <filesystem>
#include <string>

namespace owcore::test {

/// The PEM files of one test PKI, all in one directory.
struct tls_files {
  std::filesystem::path ca_cert;  ///< a self-signed CA
  std::filesystem::path ca_key;
  /// CN and subjectAltName IP:127.0.0.1, signed by the CA. No extendedKeyUsage, so Redis can also
  /// present it as a client (replication, the cluster bus, sentinel links use tls-cert-file).
  std::filesystem::path server_cert;
  std::filesystem::path server_key;
  std::filesystem::path client_cert;           ///< CN "owcore test client", signed by the CA
  std::filesystem::path client_key;            ///< unencrypted
  std::filesystem::path client_key_encrypted;  ///< the same key under `client_key_password`
  std::filesystem::path client_combined;       ///< client_cert and client_key in one file
  std::string client_key_password = "owcore-test-pass";
};

/// Creates `dir` and a fresh CA, server and client certificate in it (EC P-256 keys, valid one
/// day) with `openssl`. Two calls make two unrelated CAs (for wrong-CA tests). Throws
/// std::runtime_error (with openssl's output) when a step fails. Not thread-safe for one `dir`.
tls_files make_tls_files(const std::filesystem::path& dir);

/// The query part of a rediss:// URL that verifies the server against `files.ca_cert` and, when
/// `client_cert` is set, presents the client certificate: "ssl_ca_certs=...[&ssl_certfile=...
/// &ssl_keyfile=...]" (redis-py's option names).
std::string rediss_query(const tls_files& files, bool client_cert = true);

}  // namespace owcore::test
