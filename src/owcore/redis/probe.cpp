#include "owcore/redis/probe.hpp"

#include "owcore/redis/error.hpp"
#include "owcore/redis/io/sentinel_query.hpp"

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

net::awaitable<probe_report> ping_node(const url_config& node, clock::duration timeout,
                                       bool select_db, bool expect_master) {
  node_inspection what;
  what.where = node.connect;
  what.auth = node.auth;
  what.db = select_db ? node.db : 0;
  what.require_master = expect_master;
  what.timeout = timeout;
  what.pings = 1;
  auto f = co_await inspect_node(std::move(what));
  if (f.open_error) co_return failed(std::move(f.open_error));
  if (f.failure.transport)
    co_return failed({f.failure.ec, "PING to " + f.addr + " failed: " + f.failure.text});
  if (f.failure)
    co_return failed({f.failure.ec, "PING to " + f.addr + " refused: " + f.failure.text});
  probe_report rep;
  rep.address = f.addr;
  rep.latency_ms = f.latency_ms;
  rep.ok = true;
  co_return rep;
}

}  // namespace

net::awaitable<probe_report> probe(probe_options opts) {
  if (opts.topo != topology::sentinel)
    co_return co_await ping_node(opts.node, opts.timeout, opts.topo == topology::standalone, false);

  auto found = co_await io::ask_sentinels(opts.sentinels, opts.service_name, opts.sentinel_auth,
                                          opts.node.connect, opts.timeout, true);
  if (found.unknown) co_return failed(std::move(found.unknown));
  if (!found.found)
    co_return failed(
        {make_error_code(error::no_sentinel), "no sentinel answered (" + found.tried + ")"});
  url_config master = opts.node;
  master.connect.host = found.master.host;
  master.connect.port = found.master.port;
  master.connect.unix_path.clear();
  co_return co_await ping_node(master, opts.timeout, true, true);
}

}  // namespace owcore::redis
