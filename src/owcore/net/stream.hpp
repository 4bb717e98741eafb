#pragma once
// One byte stream over TCP, TLS-over-TCP or a Unix socket, chosen at connect time. Redis nodes use
// it; the HTTP server uses Beast's own tcp_stream.

#include "owcore/net/executor.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <variant>

namespace owcore::net {

/// TLS settings for an outgoing connection (redis-py's `ssl_*` URL options map onto these).
struct tls_options {
  bool enabled = false;          ///< use TLS at all
  bool verify_peer = true;       ///< ssl_cert_reqs=required (the default) vs none
  bool check_hostname = false;   ///< ssl_check_hostname: verify the certificate names the host
  std::string ca_file;           ///< ssl_ca_certs (PEM file); with ca_path empty too = system CAs
  std::string ca_path;           ///< ssl_ca_path: a directory of hashed PEM CA certificates
  std::string cert_file;         ///< ssl_certfile (client certificate chain, PEM)
  std::string key_file;          ///< ssl_keyfile; empty = the key is in cert_file (as Python)
  std::string key_password;      ///< ssl_password: decrypts an encrypted private key
};

/// Words for an operator on why a TLS connection failed, naming the setting to check (redis-py's
/// URL option names: ssl_ca_certs, ssl_certfile, ...), or "" when `ec` says nothing about TLS.
/// `after_handshake`: the failure came on a connection whose handshake had completed (a TLS 1.3
/// server refuses a client certificate only then, so the client sees a reset or an alert on its
/// first read). Pure function; thread-safe.
std::string tls_failure_hint(const boost::system::error_code& ec, const tls_options& tls,
                             bool after_handshake);

/// Where and how to connect. Exactly one of `unix_path` or `host` is used (unix_path wins).
struct connect_options {
  std::string host;                                   ///< name or address
  std::uint16_t port = 0;
  std::string unix_path;                              ///< non-empty: connect a Unix socket
  tls_options tls;
  std::chrono::steady_clock::duration timeout{};      ///< whole connect + handshake; 0 = none
  bool keepalive = false;                             ///< SO_KEEPALIVE on TCP
};

/// A connected (or not yet connected) byte stream. Not thread-safe: use it from one strand.
/// At most one read and one write may be outstanding at a time.
class stream {
 public:
  explicit stream(executor ex);
  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;
  ~stream();

  /// Resolves, connects and (for TLS) handshakes within `opts.timeout`. On failure the stream is
  /// closed and the error says which step failed (net::error::timeout on the deadline).
  awaitable<boost::system::error_code> connect(const connect_options& opts);

  /// Reads at least one byte. Completes with an error (eof included) when the peer closes.
  awaitable<std::tuple<boost::system::error_code, std::size_t>> read_some(
      boost::asio::mutable_buffer buf);

  /// Writes every byte of `buf`.
  awaitable<std::tuple<boost::system::error_code, std::size_t>> write(
      boost::asio::const_buffer buf);

  /// Closes the stream; outstanding operations complete with operation_aborted. Idempotent.
  void close() noexcept;

  /// True between a successful connect and close().
  bool is_open() const noexcept;

  /// "host:port" or "unix:<path>" of the last connect, for log lines.
  const std::string& peer() const noexcept { return peer_; }

  /// What the last connect's TLS step found, beyond its error code: the file that could not be
  /// loaded, or why the server's certificate did not verify. Empty when there is nothing to add.
  const std::string& tls_detail() const noexcept { return tls_detail_; }

  executor get_executor() const noexcept { return ex_; }

 private:
  using tcp_socket = boost::asio::ip::tcp::socket;
  using tls_stream = boost::asio::ssl::stream<tcp_socket>;
  using unix_socket = boost::asio::local::stream_protocol::socket;

  awaitable<boost::system::error_code> connect_steps(const connect_options& opts);
  boost::system::error_code make_tls_context(const tls_options& tls);

  executor ex_;
  std::shared_ptr<boost::asio::ssl::context> tls_ctx_;
  std::variant<std::monostate, tcp_socket, tls_stream, unix_socket> s_;
  std::string peer_;
  std::string tls_detail_;
  bool tls_handshaking_ = false;  // a deadline that passes now means "no TLS answer"
};

}  // namespace owcore::net
