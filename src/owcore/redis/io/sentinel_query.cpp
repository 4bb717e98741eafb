#include "owcore/redis/io/sentinel_query.hpp"

#include "owcore/redis/io/basic_connection.hpp"
#include "owcore/redis/protocol/sentinel.hpp"

#include <boost/asio/this_coro.hpp>

namespace owcore::redis::io {
namespace {

// g++ 12 miscompiles braced lists inside co_await expressions, so the command is built here.
std::vector<std::string> master_query(const std::string& service) {
  return {"SENTINEL", "GET-MASTER-ADDR-BY-NAME", service};
}

void note(std::string& tried, const std::string& what) {
  if (!tried.empty()) tried += "; ";
  tried += what;
}

}  // namespace

net::awaitable<sentinel_lookup> ask_sentinels(const std::vector<address>& sentinels,
                                              const std::string& service,
                                              const credentials& auth,
                                              const net::connect_options& base,
                                              std::chrono::steady_clock::duration timeout,
                                              bool stop_on_unknown) {
  auto ex = co_await boost::asio::this_coro::executor;
  sentinel_lookup out;
  for (const auto& s : sentinels) {
    basic_connection c(ex);
    net::connect_options target = base;
    target.host = s.host;
    target.port = s.port;
    target.unix_path.clear();
    target.timeout = timeout;
    if (auto err = co_await c.open(target, auth)) {
      note(out.tried, err.detail);
      continue;
    }
    const auto at = s.to_string();
    auto [ec, r] = co_await c.exec(master_query(service), timeout);
    if (ec) {
      note(out.tried, at + ": " + ec.message());
      continue;
    }
    auto answer = parse_master_answer(r, service, at);
    if (answer.err.ec == error::unknown_master && stop_on_unknown) {
      out.unknown = std::move(answer.err);
      co_return out;
    }
    if (answer.err) {
      note(out.tried, answer.err.detail);
      continue;
    }
    out.found = true;
    out.master = std::move(answer.master);
    co_return out;
  }
  co_return out;
}

}  // namespace owcore::redis::io
