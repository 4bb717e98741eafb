#include "owcore/redis/inspect.hpp"

#include "owcore/redis/inspect_detail.hpp"
#include "owcore/redis/io/gather.hpp"
#include "owcore/redis/io/node_setup.hpp"
#include "owcore/redis/protocol/acl.hpp"
#include "owcore/redis/protocol/info.hpp"
#include "owcore/redis/protocol/sentinel.hpp"

#include <boost/asio/this_coro.hpp>

#include <algorithm>

namespace owcore::redis {

using clock = std::chrono::steady_clock;

namespace detail {

step_failure setup_step_failure(const error_info& err, const node_inspection& what) {
  const auto read = read_setup_failure(err);
  step_failure f;
  f.ec = err.ec;
  switch (read.at) {
    case setup_failure::stage::connect:
      f = {inspect_step::connect, true, err.detail, err.ec};
      break;
    case setup_failure::stage::transport:
      // No answer to the pipeline: name its first step, as a step-by-step exchange would.
      f.transport = true;
      f.text = err.ec.message();
      f.step = !what.auth.password.empty() ? inspect_step::auth
               : what.db != 0              ? inspect_step::select
                                           : inspect_step::role;
      break;
    case setup_failure::stage::refused:
      f.text = read.server_text;
      f.step = read.step == setup_step::auth     ? inspect_step::auth
               : read.step == setup_step::select ? inspect_step::select
               : read.step == setup_step::role   ? inspect_step::role
                                                 : inspect_step::query;
      if (read.step == setup_step::role) f.text = err.detail;
      break;
  }
  return f;
}

net::connect_options at(const net::connect_options& base, const address& a) {
  net::connect_options where = base;
  where.unix_path.clear();
  where.host = a.host;
  where.port = a.port;
  return where;
}

// MULTI, each command (QUEUED or refused at once), DISCARD. A transport failure leaves the
// answers empty: the dry run is a check of its own, not a reason to call the node unreachable.
net::awaitable<void> dry_run(basic_connection& conn, const node_inspection& what, node_facts& f) {
  auto [ec, multi] = co_await conn.exec(cmd("MULTI"), what.timeout);
  if (ec) co_return;
  if (multi.is_error()) {
    f.dry_run_refused = multi.str;
    co_return;
  }
  std::vector<std::string> errors;
  for (const auto& c : what.dry_run) {
    auto [qec, queued] = co_await conn.exec(c, what.timeout);
    if (qec) co_return;
    errors.push_back(queued.is_error() ? queued.str : std::string());
  }
  auto [dec, discarded] = co_await conn.exec(cmd("DISCARD"), what.timeout);
  if (dec) co_return;
  f.dry_run_errors = std::move(errors);
}

net::awaitable<node_facts> inspect_on(basic_connection& conn, node_inspection what) {
  node_facts f;
  what.where.timeout = what.timeout;
  f.addr = io::peer_name(what.where);
  setup_options setup;
  setup.auth = what.auth;
  setup.db = what.db;
  setup.require_master = what.require_master;
  if (auto err = co_await conn.open(what.where, std::move(setup))) {
    f.failure = setup_step_failure(err, what);
    f.open_error = std::move(err);
    co_return f;
  }
  const auto fail = [&](inspect_step step, boost::system::error_code ec) {
    f.failure = {step, true, ec.message(), ec};
    conn.close();
  };
  double total = 0;
  for (int i = 0; i < what.pings; ++i) {
    const auto start = clock::now();
    auto [ec, r] = co_await conn.exec(cmd("PING"), what.timeout);
    if (ec) {
      fail(inspect_step::ping, ec);
      co_return f;
    }
    if (r.is_error()) {
      f.failure = {inspect_step::ping, false, r.str, make_error_code(error::server_error)};
      conn.close();
      co_return f;
    }
    total += std::chrono::duration<double, std::milli>(clock::now() - start).count();
  }
  f.latency_ms = what.pings > 0 ? total / what.pings : 0;
  if (what.role) {
    auto [ec, r] = co_await conn.exec(cmd("ROLE"), what.timeout);
    if (ec) {
      fail(inspect_step::role, ec);
      co_return f;
    }
    if (auto role = parse_role(r)) {
      f.role = role->name;
      if (role->master) f.replica_of = role->master->to_string();
    }
  }
  if (what.info) {
    auto [ec, r] = co_await conn.exec(cmd("INFO"), what.timeout);
    if (ec) {
      fail(inspect_step::info, ec);
      co_return f;
    }
    if (r.type == reply::kind::string) f.info = std::move(r.str);
  }
  if (!what.dry_run.empty()) co_await dry_run(conn, what, f);
  co_return f;
}

}  // namespace detail

net::awaitable<node_facts> inspect_node(node_inspection what) {
  basic_connection conn(co_await boost::asio::this_coro::executor);
  co_return co_await detail::inspect_on(conn, std::move(what));
}

namespace detail {

node_inspection data_node(const inspect_options& o, net::connect_options where, int db, int pings,
                          bool info) {
  node_inspection n;
  n.where = std::move(where);
  n.auth = o.node.auth;
  n.db = db;
  n.timeout = o.timeout;
  n.pings = pings;
  n.role = true;
  n.info = info;
  if (!o.key_prefix.empty())
    for (auto& c : acl::dry_run(o.key_prefix, o.topo == topology::cluster))
      n.dry_run.push_back(std::move(c.args));
  return n;
}

}  // namespace detail

namespace {

using detail::cmd;
using detail::data_node;

// Cluster: the seed, its slot map, CLUSTER INFO and NODES, then every node directly.
net::awaitable<cluster_facts> inspect_cluster(const inspect_options& o) {
  cluster_facts c;
  basic_connection conn(co_await boost::asio::this_coro::executor);
  c.seed = co_await detail::inspect_on(conn, data_node(o, o.node.connect, 0, 5, true));
  if (c.seed.failure) co_return c;
  auto [sec, slots] = co_await conn.exec(cmd("CLUSTER", "SLOTS"), o.timeout);
  if (sec) {
    c.slots_failure = {inspect_step::query, true, sec.message(), sec};
    co_return c;
  }
  if (slots.is_error()) {
    c.slots_failure = {inspect_step::query, false, slots.str, make_error_code(error::server_error)};
    co_return c;
  }
  c.map = slot_map::from_cluster_slots(slots, o.node.connect.host, &c.slots_parse_error);
  if (!c.map) co_return c;
  auto [iec, info] = co_await conn.exec(cmd("CLUSTER", "INFO"), o.timeout);
  if (!iec && info.type == reply::kind::string) c.cluster_info = std::move(info.str);

  for (const auto& m : c.map->masters()) {
    cluster_member n;
    n.addr = m;
    n.role = "master";
    n.slots = c.map->ranges_of(m);
    const auto node = n.slots.empty() ? nullptr : c.map->node_for(n.slots.front().first);
    c.nodes.push_back(std::move(n));
    if (!node) continue;
    for (const auto& r : node->replicas) {
      cluster_member rr;
      rr.addr = r;
      rr.role = "replica";
      rr.master = m;
      c.nodes.push_back(std::move(rr));
    }
  }
  // CLUSTER SLOTS leaves out failed replicas and masters without slots; CLUSTER NODES has them.
  auto [nec, nodes_text] = co_await conn.exec(cmd("CLUSTER", "NODES"), o.timeout);
  conn.close();
  if (!nec && nodes_text.type == reply::kind::string) {
    const auto lines = parse_cluster_nodes(nodes_text.str);
    // CLUSTER NODES names this node by its own idea of its address, which may differ from the
    // seed's; entries are matched by address, and added when not found.
    for (const auto& l : lines) {
      if (l.addr.empty()) continue;
      std::string master_addr;
      for (const auto& m : lines)
        if (m.id == l.master_id) master_addr = m.addr;
      auto it = std::find_if(c.nodes.begin(), c.nodes.end(),
                             [&](const auto& n) { return n.addr == l.addr; });
      if (it == c.nodes.end()) {
        cluster_member n;
        n.addr = l.addr;
        n.role = has_word(l.flags, "master") ? "master" : "replica";
        n.master = master_addr;
        n.only_in_nodes = true;
        c.nodes.push_back(std::move(n));
        it = std::prev(c.nodes.end());
      }
      it->flags = l.flags;
    }
  }
  std::vector<net::awaitable<node_facts>> probes;
  for (const auto& n : c.nodes) {
    const auto a = address::parse(n.addr).value_or(address{n.addr, 0});
    probes.push_back(inspect_node(data_node(o, detail::at(o.node.connect, a), 0, 3, false)));
  }
  auto seen = co_await io::gather(std::move(probes));
  for (std::size_t i = 0; i < c.nodes.size(); ++i) c.nodes[i].seen = std::move(seen[i]);
  co_return c;
}

}  // namespace

net::awaitable<topology_facts> inspect(inspect_options opts) {
  topology_facts t;
  t.topo = opts.topo;
  t.username = opts.node.auth.username.empty() ? "default" : opts.node.auth.username;
  t.key_prefix = opts.key_prefix;
  switch (opts.topo) {
    case topology::standalone:
      t.standalone =
          co_await inspect_node(data_node(opts, opts.node.connect, opts.node.db, 5, true));
      break;
    case topology::sentinel: t.sentinel = co_await detail::inspect_sentinel(opts); break;
    case topology::cluster: t.cluster = co_await inspect_cluster(opts); break;
  }
  co_return t;
}

}  // namespace owcore::redis
