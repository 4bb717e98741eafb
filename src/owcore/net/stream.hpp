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
  std::string ca_file;           ///< ssl_ca_certs; empty = system default paths
  std::string cert_file;         ///< ssl_certfile (client certificate)
  std::string key_file;          ///< ssl_keyfile
};

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

  executor get_executor() const noexcept { return ex_; }

 private:
  using tcp_socket = boost::asio::ip::tcp::socket;
  using tls_stream = boost::asio::ssl::stream<tcp_socket>;
  using unix_socket = boost::asio::local::stream_protocol::socket;

  awaitable<boost::system::error_code> connect_steps(const connect_options& opts);

  executor ex_;
  std::shared_ptr<boost::asio::ssl::context> tls_ctx_;
  std::variant<std::monostate, tcp_socket, tls_stream, unix_socket> s_;
  std::string peer_;
};

}  // namespace owcore::net
