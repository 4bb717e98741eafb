#include "owcore/net/stream.hpp"

#include "owcore/net/error.hpp"
#include "owcore/net/timeout.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/write.hpp>

#include <boost/asio/ssl/error.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

namespace owcore::net {

namespace asio = boost::asio;
using boost::system::error_code;

stream::stream(executor ex) : ex_(std::move(ex)) {}

stream::~stream() { close(); }

bool stream::is_open() const noexcept {
  return std::visit(
      [](const auto& s) -> bool {
        using T = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<T, std::monostate>) return false;
        else if constexpr (std::is_same_v<T, tls_stream>) return s.next_layer().is_open();
        else return s.is_open();
      },
      s_);
}

void stream::close() noexcept {
  error_code ignored;
  std::visit(
      [&](auto& s) {
        using T = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<T, tls_stream>) {
          s.next_layer().shutdown(asio::socket_base::shutdown_both, ignored);
          s.next_layer().close(ignored);
        } else if constexpr (!std::is_same_v<T, std::monostate>) {
          s.shutdown(asio::socket_base::shutdown_both, ignored);
          s.close(ignored);
        }
      },
      s_);
}

awaitable<error_code> stream::connect(const connect_options& opts) {
  close();
  tls_detail_.clear();
  s_.emplace<std::monostate>();
  tls_handshaking_ = false;
  auto ec = co_await with_timeout(connect_steps(opts), opts.timeout);
  if (ec == error::timeout && tls_handshaking_ && tls_detail_.empty())
    tls_detail_ = "no answer to the TLS handshake: is this the server's tls-port?";
  if (ec) close();
  co_return ec;
}

awaitable<error_code> stream::connect_steps(const connect_options& opts) {
  if (!opts.unix_path.empty()) {
    peer_ = "unix:" + opts.unix_path;
    auto& sock = s_.emplace<unix_socket>(ex_);
    auto [ec] = co_await sock.async_connect(asio::local::stream_protocol::endpoint(opts.unix_path),
                                            use_tuple);
    co_return ec;
  }

  peer_ = opts.host + ":" + std::to_string(opts.port);
  asio::ip::tcp::resolver resolver(ex_);
  auto [rec, endpoints] =
      co_await resolver.async_resolve(opts.host, std::to_string(opts.port), use_tuple);
  if (rec) co_return rec;
  if (endpoints.empty()) co_return make_error_code(error::resolve_failed);

  tcp_socket sock(ex_);
  auto [cec, ep] = co_await asio::async_connect(sock, endpoints, use_tuple);
  if (cec) co_return cec;
  error_code opt_ec;
  sock.set_option(asio::ip::tcp::no_delay(true), opt_ec);
  if (opts.keepalive) sock.set_option(asio::socket_base::keep_alive(true), opt_ec);

  if (!opts.tls.enabled) {
    s_.emplace<tcp_socket>(std::move(sock));
    co_return error_code{};
  }

  if (auto tec = make_tls_context(opts.tls)) co_return tec;
  auto& tls = s_.emplace<tls_stream>(std::move(sock), *tls_ctx_);
  SSL* ssl = tls.native_handle();
  error_code not_ip;
  asio::ip::make_address(opts.host, not_ip);
  if (opts.tls.verify_peer && opts.tls.check_hostname) {
    // OpenSSL's own name check, so a mismatch is reported as such by the verify result.
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (not_ip) X509_VERIFY_PARAM_set1_host(param, opts.host.c_str(), 0);
    else X509_VERIFY_PARAM_set1_ip_asc(param, opts.host.c_str());
  }
  // SNI for names (not for addresses, as Python's ssl module), so servers behind a TLS proxy
  // pick the right certificate.
  if (not_ip)
    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(opts.host.c_str()));
  tls_handshaking_ = true;
  auto [hec] = co_await tls.async_handshake(asio::ssl::stream_base::client, use_tuple);
  // Left set when the deadline cancelled the handshake (connect() words that case).
  if (!hec) tls_handshaking_ = false;
  if (hec && opts.tls.verify_peer) {
    const long result = SSL_get_verify_result(ssl);
    if (result != X509_V_OK)
      tls_detail_ =
          std::string("the server's certificate: ") + X509_verify_cert_error_string(result);
  }
  co_return hec;
}

error_code stream::make_tls_context(const tls_options& tls) {
  tls_ctx_ = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  auto& ctx = *tls_ctx_;
  error_code ec;
  // Always answer the key's pass phrase from the settings: OpenSSL's default asks the terminal.
  ctx.set_password_callback(
      [pw = tls.key_password](std::size_t, asio::ssl::context::password_purpose) { return pw; },
      ec);
  if (tls.ca_file.empty() && tls.ca_path.empty()) {
    ctx.set_default_verify_paths(ec);
    if (ec) tls_detail_ = "the system CA certificates could not be loaded";
  }
  if (!ec && !tls.ca_file.empty()) {
    ctx.load_verify_file(tls.ca_file, ec);
    if (ec) tls_detail_ = "ssl_ca_certs '" + tls.ca_file + "' could not be loaded";
  }
  if (!ec && !tls.ca_path.empty()) {
    ctx.add_verify_path(tls.ca_path, ec);
    if (ec) tls_detail_ = "ssl_ca_path '" + tls.ca_path + "' could not be used";
  }
  if (!ec && !tls.cert_file.empty()) {
    ctx.use_certificate_chain_file(tls.cert_file, ec);
    if (ec) tls_detail_ = "ssl_certfile '" + tls.cert_file + "' could not be loaded";
  }
  if (!ec && !tls.cert_file.empty()) {
    // Python's load_cert_chain: without a key file the key is read from the certificate file.
    const bool own_file = !tls.key_file.empty();
    ctx.use_private_key_file(own_file ? tls.key_file : tls.cert_file, asio::ssl::context::pem, ec);
    if (ec)
      tls_detail_ = own_file ? "ssl_keyfile '" + tls.key_file +
                                   "' could not be loaded (a wrong ssl_password, or not the "
                                   "key of ssl_certfile)"
                             : "ssl_certfile '" + tls.cert_file +
                                   "' holds no usable private key: set ssl_keyfile";
  }
  if (ec) return ec;
  ctx.set_verify_mode(tls.verify_peer ? asio::ssl::verify_peer : asio::ssl::verify_none);
  return ec;
}

awaitable<std::tuple<error_code, std::size_t>> stream::read_some(asio::mutable_buffer buf) {
  switch (s_.index()) {
    case 1: co_return co_await std::get<1>(s_).async_read_some(buf, use_tuple);
    case 2: co_return co_await std::get<2>(s_).async_read_some(buf, use_tuple);
    case 3: co_return co_await std::get<3>(s_).async_read_some(buf, use_tuple);
    default: co_return std::tuple{make_error_code(asio::error::not_connected), std::size_t{0}};
  }
}

awaitable<std::tuple<error_code, std::size_t>> stream::write(asio::const_buffer buf) {
  switch (s_.index()) {
    case 1: co_return co_await asio::async_write(std::get<1>(s_), buf, use_tuple);
    case 2: co_return co_await asio::async_write(std::get<2>(s_), buf, use_tuple);
    case 3: co_return co_await asio::async_write(std::get<3>(s_), buf, use_tuple);
    default: co_return std::tuple{make_error_code(asio::error::not_connected), std::size_t{0}};
  }
}

std::string tls_failure_hint(const error_code& ec, const tls_options& tls, bool after_handshake) {
  if (!tls.enabled || !ec) return {};
  const bool has_cert = !tls.cert_file.empty();
  const std::string give_cert =
      "set ssl_certfile (and ssl_keyfile) in the URL to a client certificate signed by a CA the "
      "server trusts (its tls-ca-cert-file)";
  if (ec.category() == asio::error::get_ssl_category()) {
    switch (ERR_GET_REASON(static_cast<unsigned long>(ec.value()))) {
      case SSL_R_CERTIFICATE_VERIFY_FAILED:
        return std::string("the server's certificate was not verified against ") +
               (tls.ca_file.empty() && tls.ca_path.empty() ? "the system CAs"
                                                           : "ssl_ca_certs/ssl_ca_path") +
               (tls.check_hostname ? " for this host (ssl_check_hostname=true)" : "") +
               ": set ssl_ca_certs to the CA that signed the server's tls-cert-file "
               "(ssl_cert_reqs=none skips verification)";
      case SSL_R_WRONG_VERSION_NUMBER:
      case SSL_R_PACKET_LENGTH_TOO_LONG:
        return "the server does not speak TLS on this port: rediss:// needs the server's "
               "tls-port";
      case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
        return "the server requires a client certificate (tls-auth-clients): " + give_cert;
      case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
      case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
      case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
      case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
      case SSL_R_TLSV1_ALERT_DECRYPT_ERROR:  // a certificate from a CA of the same name
        if (!has_cert)
          return "the server refused the connection without a client certificate: " + give_cert;
        return "the server refused the client certificate ssl_certfile '" + tls.cert_file +
               "': it must be signed by a CA in the server's tls-ca-cert-file";
      default: break;
    }
  }
  // TLS 1.3: the server checks the client's certificate after the client's handshake is done,
  // then closes; what the client reads first may be the reset rather than the alert.
  const bool closed = ec == asio::error::connection_reset || ec == asio::error::eof ||
                      ec == asio::error::broken_pipe || ec == asio::ssl::error::stream_truncated;
  if (after_handshake && closed && !has_cert)
    return "the server closed the TLS connection right after the handshake; if it requires "
           "client certificates (tls-auth-clients yes, Redis's default), " +
           give_cert;
  if (after_handshake && closed)
    return "the server closed the TLS connection right after the handshake; it may have refused "
           "the client certificate ssl_certfile '" +
           tls.cert_file + "' (it must be signed by a CA in the server's tls-ca-cert-file)";
  return {};
}

}  // namespace owcore::net
