#include "owcore/net/stream.hpp"

#include "owcore/net/error.hpp"
#include "owcore/net/timeout.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/write.hpp>

#include <openssl/ssl.h>

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
  s_.emplace<std::monostate>();
  auto ec = co_await with_timeout(connect_steps(opts), opts.timeout);
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

  tls_ctx_ = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  error_code tec;
  if (opts.tls.ca_file.empty()) tls_ctx_->set_default_verify_paths(tec);
  else tls_ctx_->load_verify_file(opts.tls.ca_file, tec);
  if (tec) co_return tec;
  if (!opts.tls.cert_file.empty()) {
    tls_ctx_->use_certificate_chain_file(opts.tls.cert_file, tec);
    if (tec) co_return tec;
  }
  if (!opts.tls.key_file.empty()) {
    tls_ctx_->use_private_key_file(opts.tls.key_file, asio::ssl::context::pem, tec);
    if (tec) co_return tec;
  }
  tls_ctx_->set_verify_mode(opts.tls.verify_peer ? asio::ssl::verify_peer : asio::ssl::verify_none);
  auto& tls = s_.emplace<tls_stream>(std::move(sock), *tls_ctx_);
  if (opts.tls.verify_peer && opts.tls.check_hostname)
    tls.set_verify_callback(asio::ssl::host_name_verification(opts.host));
  // SNI, so servers behind a TLS proxy pick the right certificate.
  SSL_ctrl(tls.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
           const_cast<char*>(opts.host.c_str()));
  auto [hec] = co_await tls.async_handshake(asio::ssl::stream_base::client, use_tuple);
  co_return hec;
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

}  // namespace owcore::net
