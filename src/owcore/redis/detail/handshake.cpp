#include "owcore/redis/detail/handshake.hpp"

#include "owcore/net/timeout.hpp"
#include "owcore/redis/request.hpp"

#include <boost/asio/buffer.hpp>

namespace owcore::redis::detail {

namespace asio = boost::asio;
using boost::system::error_code;

net::awaitable<std::string> connect_and_handshake(net::stream& s, reply_parser& parser,
                                                  std::string& read_buf,
                                                  const net::connect_options& target,
                                                  const url_config& node,
                                                  const handshake_options& opts) {
  if (auto ec = co_await s.connect(target)) co_return s.peer() + ": " + ec.message();

  request hs;
  std::vector<std::string> what;
  if (!node.auth.password.empty()) {
    if (node.auth.username.empty()) hs.push("AUTH", node.auth.password);
    else hs.push("AUTH", node.auth.username, node.auth.password);
    what.emplace_back("AUTH");
  }
  if (opts.select_db && node.db != 0) {
    hs.push("SELECT", node.db);
    what.emplace_back("SELECT " + std::to_string(node.db));
  }
  if (opts.set_name && !node.client_name.empty()) {
    hs.push("CLIENT", "SETNAME", node.client_name);
    what.emplace_back("CLIENT SETNAME");
  }
  if (opts.require_master) {
    hs.push("ROLE");
    what.emplace_back("ROLE");
  }
  if (hs.empty()) co_return std::string{};

  std::string out;
  hs.encode(out);
  if (read_buf.empty()) read_buf.resize(16 * 1024);
  response replies;
  auto exchange = [&]() -> net::awaitable<error_code> {
    auto [wec, wn] = co_await s.write(asio::buffer(out));
    if (wec) co_return wec;
    while (replies.size() < hs.size()) {
      error_code pec;
      if (auto r = parser.next(pec)) {
        replies.push_back(std::move(*r));
        continue;
      }
      if (pec) co_return pec;
      auto [rec, n] = co_await s.read_some(asio::buffer(read_buf));
      if (rec) co_return rec;
      if (auto fec = parser.feed(std::string_view(read_buf.data(), n))) co_return fec;
    }
    co_return error_code{};
  };
  if (auto ec = co_await net::with_timeout(exchange(), opts.timeout))
    co_return s.peer() + ": handshake failed: " + ec.message();
  for (std::size_t i = 0; i < replies.size(); ++i) {
    if (replies[i].is_error()) co_return s.peer() + ": " + what[i] + " refused: " + replies[i].str;
    if (what[i] == "ROLE") {
      const auto& role = replies[i];
      const bool master = role.type == reply::kind::array && !role.elements.empty() &&
                          role.elements[0].str == "master";
      if (!master) co_return s.peer() + ": ROLE is not master (stale Sentinel answer or failover)";
    }
  }
  co_return std::string{};
}

}  // namespace owcore::redis::detail
