#include "owcore/redis/io/node_setup.hpp"

#include "owcore/net/timeout.hpp"
#include "owcore/redis/protocol/address.hpp"

#include <boost/asio/buffer.hpp>

namespace owcore::redis::io {

using boost::system::error_code;

std::string peer_name(const net::connect_options& target) {
  if (!target.unix_path.empty()) return "unix:" + target.unix_path;
  return address{target.host, target.port}.to_string();
}

net::awaitable<error_code> round_trip(net::stream& s, reply_parser& parser, std::string& read_buf,
                                      std::string_view bytes, std::size_t count, response& out) {
  if (read_buf.empty()) read_buf.resize(16 * 1024);
  auto [wec, wn] = co_await s.write(boost::asio::buffer(bytes.data(), bytes.size()));
  if (wec) co_return wec;
  const auto want = out.size() + count;
  while (out.size() < want) {
    error_code pec;
    if (auto r = parser.next(pec)) {
      out.push_back(std::move(*r));
      continue;
    }
    if (pec) co_return pec;
    auto [rec, n] = co_await s.read_some(boost::asio::buffer(read_buf));
    if (rec) co_return rec;
    if (auto fec = parser.feed(std::string_view(read_buf.data(), n))) co_return fec;
  }
  co_return error_code{};
}

namespace {

// Adds what the stream and net::tls_failure_hint know about a TLS failure to `e`'s detail.
error_info with_tls_words(error_info e, const net::stream& s, const net::connect_options& target,
                          bool after_handshake) {
  if (!target.tls.enabled) return e;
  if (!s.tls_detail().empty()) e.detail += " (" + s.tls_detail() + ")";
  const auto hint = net::tls_failure_hint(e.ec, target.tls, after_handshake);
  if (!hint.empty()) e.detail += ": " + hint;
  return e;
}

}  // namespace

net::awaitable<error_info> open_node(net::stream& s, reply_parser& parser, std::string& read_buf,
                                     const net::connect_options& target,
                                     const setup_options& setup,
                                     std::chrono::steady_clock::duration timeout) {
  const auto peer = peer_name(target);
  if (auto ec = co_await s.connect(target))
    co_return with_tls_words(connect_failure(peer, ec), s, target, false);
  setup_options steps = setup;
  steps.confirm = steps.confirm || target.tls.enabled;
  const auto plan = compose_setup_request(steps);
  if (plan.empty()) co_return error_info{};
  std::string bytes;
  plan.req.encode(bytes);
  response replies;
  auto exchange = round_trip(s, parser, read_buf, bytes, plan.steps.size(), replies);
  if (auto ec = co_await net::with_timeout(std::move(exchange), timeout)) {
    s.close();
    co_return with_tls_words(setup_transport_failure(peer, ec), s, target, true);
  }
  co_return check_setup(plan, replies, peer);
}

}  // namespace owcore::redis::io
