#include "owcore/redis/probe.hpp"

#include "owcore/redis/error.hpp"
#include "owcore/redis/io/node_setup.hpp"
#include "owcore/redis/io/sentinel_query.hpp"

#include <boost/asio/this_coro.hpp>

namespace owcore::redis {

using boost::system::error_code;
using clock = std::chrono::steady_clock;

std::string_view to_string(topology t) noexcept {
  switch (t) {
    case topology::standalone: return "standalone";
    case topology::sentinel: return "sentinel";
    case topology::cluster: return "cluster";
  }
  return "unknown";
}

namespace {

probe_report failed(error_info e) {
  probe_report rep;
  rep.code = e.ec;
  rep.error = std::move(e.detail);
  return rep;
}

// g++ 12 miscompiles braced lists inside co_await expressions, so commands are built here.
std::vector<std::string> ping_command() { return {"PING"}; }

net::awaitable<probe_report> ping_node(net::executor ex, const url_config& node,
                                       clock::duration timeout, bool select_db,
                                       bool expect_master) {
  basic_connection conn(ex);
  auto opts = node.connect;
  opts.timeout = timeout;
  setup_options setup;
  setup.auth = node.auth;
  setup.db = select_db ? node.db : 0;
  setup.require_master = expect_master;
  if (auto err = co_await conn.open(opts, setup)) co_return failed(std::move(err));
  probe_report rep;
  rep.address = conn.peer();
  const auto start = clock::now();
  auto [ec, pong] = co_await conn.exec(ping_command(), timeout);
  if (ec) co_return failed({ec, "PING to " + rep.address + " failed: " + ec.message()});
  if (pong.is_error())
    co_return failed({make_error_code(error::server_error),
                      "PING to " + rep.address + " refused: " + pong.str});
  rep.latency_ms = std::chrono::duration<double, std::milli>(clock::now() - start).count();
  rep.ok = true;
  co_return rep;
}

}  // namespace

net::awaitable<probe_report> probe(probe_options opts) {
  auto ex = co_await boost::asio::this_coro::executor;
  if (opts.topo != topology::sentinel)
    co_return co_await ping_node(ex, opts.node, opts.timeout, opts.topo == topology::standalone,
                                 false);

  auto found = co_await io::ask_sentinels(opts.sentinels, opts.service_name, opts.sentinel_auth,
                                          opts.node.connect, opts.timeout, true);
  if (found.unknown) co_return failed(std::move(found.unknown));
  if (!found.found)
    co_return failed({make_error_code(error::no_sentinel), "no sentinel answered (" + found.tried + ")"});
  url_config master = opts.node;
  master.connect.host = found.master.host;
  master.connect.port = found.master.port;
  master.connect.unix_path.clear();
  co_return co_await ping_node(ex, master, opts.timeout, true, true);
}

}  // namespace owcore::redis
