#include "owcore/app/doctor.hpp"
#include "owcore/app/doctor_database.hpp"

#include "owcore/app/cli.hpp"
#include "owcore/app/logging.hpp"
#include "owcore/app/settings.hpp"
#include "owcore/app/startup.hpp"
#include "owcore/net/executor.hpp"
#include "owcore/redis/protocol/cluster_slots.hpp"
#include "owcore/redis/probe.hpp"
#include "owcore/redis/protocol/resp.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <spdlog/logger.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <exception>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

// How the doctor works. Each client (App, WS) is planned from the settings exactly as `serve`
// plans it, then checked by one coroutine per topology on a single-threaded io_context; the two
// clients, the sentinels of one client and the peers of one node are checked concurrently, and
// every network step is bounded by the client's connect timeout, so the doctor never hangs.
// Checks collect facts and findings; the worst finding decides the exit status:
//   misconfigured (exit 2)  the configuration cannot work; the text names the variable to fix
//   unreachable   (exit 2)  the configuration may be right, but the server does not answer
//   degraded      (exit 1)  it works now, but redundancy or part of the deployment is lost
// Notes are informational and never change the status. Nothing is written to any Redis.

namespace owcore::app {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using clock = std::chrono::steady_clock;
using duration = clock::duration;

constexpr std::string_view usage = R"(usage: owcore doctor [--json]

Diagnoses the App Redis (REDIS_URL, REDIS_SENTINEL_*, REDIS_CLUSTER) and the WS Redis
(WEBSOCKET_*) configured in the environment: topology, addresses, server version, latency, key
prefix and every misconfiguration it can detect. Every network step is bounded by the connect
timeout (REDIS_SOCKET_CONNECT_TIMEOUT, default 5 s).

  --json   print one JSON object instead of the text report

exit status: 0 healthy, 1 degraded, 2 unreachable or misconfigured
)";

// ------------------------------------------------------------------------------------------
// Findings

// How bad a finding is. Ordered: a client's status is its worst finding.
enum class severity { healthy, degraded, unreachable, misconfigured };

std::string_view to_string(severity s) noexcept {
  switch (s) {
    case severity::healthy: return "healthy";
    case severity::degraded: return "degraded";
    case severity::unreachable: return "unreachable";
    case severity::misconfigured: return "misconfigured";
  }
  return "unknown";
}

int exit_code_of(severity s) noexcept {
  switch (s) {
    case severity::healthy: return exit_ok;
    case severity::degraded: return 1;
    default: return exit_config;
  }
}

struct finding {
  severity level = severity::degraded;
  std::string text;
};

// A data node as the doctor saw it: a replica (standalone, Sentinel) or a Cluster node.
struct node_report {
  std::string addr;
  std::string role;                                            // "master" | "replica"
  std::string master;                                          // a replica's master
  std::vector<std::pair<std::uint16_t, std::uint16_t>> slots;  // Cluster masters
  std::string state;              // Sentinel flags, INFO replication state, Cluster flags
  std::optional<bool> reachable;  // nullopt: not contacted
  std::optional<double> latency_ms;
  std::string error;  // why unreachable
};

struct sentinel_report {
  std::string addr;
  bool reachable = false;
  std::string master;  // the master it names, "" if none
  std::string error;   // unreachable, not a sentinel, does not know the service
};

// The variables an operator edits for one client, for advice in findings.
struct client_vars {
  std::string url;             // REDIS_URL | WEBSOCKET_REDIS_URL
  std::string cluster;         // REDIS_CLUSTER | WEBSOCKET_REDIS_CLUSTER
  std::string sentinel_hosts;  // REDIS_SENTINEL_HOSTS | WEBSOCKET_SENTINEL_HOSTS
  std::string sentinel_port;   // REDIS_SENTINEL_PORT | WEBSOCKET_SENTINEL_PORT
};

client_vars vars_of(const redis_client_settings& c) {
  const bool app = c.url_variable == "REDIS_URL";
  return {c.url_variable, app ? "REDIS_CLUSTER" : "WEBSOCKET_REDIS_CLUSTER", c.sentinel_variable,
          app ? "REDIS_SENTINEL_PORT" : "WEBSOCKET_SENTINEL_PORT"};
}

// Everything reported about one client (App or WS).
struct client_report {
  std::string name;  // "app" | "ws"
  bool configured = false;
  std::string variable;  // the variable that selects the topology
  std::vector<std::pair<std::string, std::string>> config;  // shown as VAR=value (masked)
  std::string url;                                          // masked
  redis::topology topo = redis::topology::standalone;
  std::string service_name;  // Sentinel
  int db = 0;
  std::string master;  // standalone / Sentinel
  std::string seed;    // Cluster
  std::string version;
  std::string run_id;  // server identity, to tell whether App and WS share a server
  std::optional<double> latency_ms;
  std::optional<long long> keys;  // in the selected database
  std::vector<node_report> replicas;
  std::vector<sentinel_report> sentinels;
  std::string quorum;  // SENTINEL CKQUORUM answer
  std::vector<node_report> nodes;
  std::optional<std::size_t> slots_covered;
  std::string cluster_state;
  std::vector<finding> problems;
  std::vector<std::string> notes;

  severity status() const {
    severity s = severity::healthy;
    for (const auto& p : problems) s = std::max(s, p.level);
    return s;
  }
  void problem(severity level, std::string text) { problems.push_back({level, std::move(text)}); }
};

// ------------------------------------------------------------------------------------------
// Pure helpers

// g++ 12 miscompiles braced lists inside co_await expressions (see probe.cpp): commands are built
// by this function.
template <class... A>
std::vector<std::string> cmd(A&&... a) {
  std::vector<std::string> v;
  v.reserve(sizeof...(a));
  (v.emplace_back(std::forward<A>(a)), ...);
  return v;
}

std::string host_port(std::string_view host, std::uint16_t port) {
  const bool v6 = host.find(':') != std::string_view::npos;
  return (v6 ? "[" + std::string(host) + "]" : std::string(host)) + ":" + std::to_string(port);
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& i : items) {
    if (!out.empty()) out += sep;
    out += i;
  }
  return out;
}

bool has_word(std::string_view csv, std::string_view word) {
  while (!csv.empty()) {
    const auto comma = csv.find(',');
    if (csv.substr(0, comma) == word) return true;
    if (comma == std::string_view::npos) break;
    csv.remove_prefix(comma + 1);
  }
  return false;
}

double round3(double ms) { return std::round(ms * 1000.0) / 1000.0; }

std::string ms_text(double ms) { return fmt::format("{:.2f} ms", ms); }

// "field:value" lines of an INFO reply.
std::optional<std::string> info_field(std::string_view info, std::string_view field) {
  std::size_t pos = 0;
  while (pos < info.size()) {
    auto end = info.find('\n', pos);
    if (end == std::string_view::npos) end = info.size();
    auto line = info.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > field.size() && line.starts_with(field) && line[field.size()] == ':')
      return std::string(line.substr(field.size() + 1));
    pos = end + 1;
  }
  return std::nullopt;
}

// The value of `key` in "k1=v1,k2=v2" (INFO replication slaveN and keyspace lines).
std::optional<std::string> csv_field(std::string_view csv, std::string_view key) {
  while (!csv.empty()) {
    const auto comma = csv.find(',');
    const auto item = csv.substr(0, comma);
    const auto eq = item.find('=');
    if (eq != std::string_view::npos && item.substr(0, eq) == key)
      return std::string(item.substr(eq + 1));
    if (comma == std::string_view::npos) break;
    csv.remove_prefix(comma + 1);
  }
  return std::nullopt;
}

// The value after `key` in a flat key/value array (SENTINEL MASTER, SENTINEL REPLICAS items).
std::optional<std::string> map_field(const redis::reply& flat, std::string_view key) {
  if (flat.type != redis::reply::kind::array) return std::nullopt;
  for (std::size_t i = 0; i + 1 < flat.elements.size(); i += 2)
    if (flat.elements[i].str == key) return flat.elements[i + 1].str;
  return std::nullopt;
}

// The replicas a master lists in INFO replication ("slave0:ip=...,port=...,state=online,...").
std::vector<node_report> info_replicas(std::string_view info) {
  std::vector<node_report> out;
  for (int i = 0;; ++i) {
    auto line = info_field(info, "slave" + std::to_string(i));
    if (!line) break;
    node_report r;
    const auto ip = csv_field(*line, "ip").value_or("?");
    const auto port = csv_field(*line, "port").value_or("?");
    r.addr = (ip.find(':') != std::string::npos ? "[" + ip + "]" : ip) + ":" + port;
    r.role = "replica";
    r.state = csv_field(*line, "state").value_or("");
    out.push_back(std::move(r));
  }
  return out;
}

std::string ranges_text(const std::vector<std::pair<std::uint16_t, std::uint16_t>>& ranges,
                        std::size_t max = 6) {
  std::string out;
  for (std::size_t i = 0; i < ranges.size() && i < max; ++i) {
    if (!out.empty()) out += ",";
    out += ranges[i].first == ranges[i].second
               ? std::to_string(ranges[i].first)
               : fmt::format("{}-{}", ranges[i].first, ranges[i].second);
  }
  if (ranges.size() > max) out += fmt::format(" and {} more ranges", ranges.size() - max);
  return out;
}

// The slots no master serves, as inclusive ranges.
std::vector<std::pair<std::uint16_t, std::uint16_t>> uncovered_ranges(const redis::slot_map& map) {
  std::vector<std::pair<std::uint16_t, std::uint16_t>> covered;
  for (const auto& m : map.masters())
    for (const auto& r : map.ranges_of(m)) covered.push_back(r);
  std::sort(covered.begin(), covered.end());
  std::vector<std::pair<std::uint16_t, std::uint16_t>> gaps;
  unsigned next = 0;
  for (const auto& [first, last] : covered) {
    if (first > next)
      gaps.emplace_back(static_cast<std::uint16_t>(next), static_cast<std::uint16_t>(first - 1));
    next = std::max<unsigned>(next, last + 1u);
  }
  if (next < redis::slot_count)
    gaps.emplace_back(static_cast<std::uint16_t>(next),
                      static_cast<std::uint16_t>(redis::slot_count - 1));
  return gaps;
}

// One line of CLUSTER NODES: "<id> <ip:port@cport[,hostname]> <flags> <master-id> ...".
struct cluster_nodes_line {
  std::string id;
  std::string addr;  // "" for a node without an address (noaddr)
  std::string flags;
  std::string master_id;
};

std::vector<cluster_nodes_line> parse_cluster_nodes(std::string_view text) {
  std::vector<cluster_nodes_line> out;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    cluster_nodes_line n;
    if (!(fields >> n.id >> n.addr >> n.flags >> n.master_id)) continue;
    n.addr = n.addr.substr(0, n.addr.find('@'));
    if (n.addr.empty() || n.addr.front() == ':') n.addr.clear();
    out.push_back(std::move(n));
  }
  return out;
}

// ------------------------------------------------------------------------------------------
// Talking to nodes. Every step is bounded by `timeout` (basic_connection::exec and the connect).

// Runs `ops` concurrently on the current executor and returns their results in order. The ops
// must be bounded themselves; an exception from one is rethrown after all have finished.
template <class T>
net::awaitable<std::vector<T>> gather(std::vector<net::awaitable<T>> ops) {
  struct state {
    state(net::executor ex, std::size_t n)
        : results(n), errors(n), pending(n), done(ex, clock::time_point::max()) {}
    std::vector<T> results;
    std::vector<std::exception_ptr> errors;
    std::size_t pending;
    asio::steady_timer done;  // a condition variable: cancelled when the last op finishes
  };
  auto ex = co_await asio::this_coro::executor;
  auto st = std::make_shared<state>(ex, ops.size());
  for (std::size_t i = 0; i < ops.size(); ++i) {
    asio::co_spawn(ex, std::move(ops[i]), [st, i](std::exception_ptr ep, T value) {
      if (ep)
        st->errors[i] = ep;
      else
        st->results[i] = std::move(value);
      if (--st->pending == 0) st->done.cancel();
    });
  }
  while (st->pending > 0) co_await st->done.async_wait(net::use_tuple);
  for (const auto& e : st->errors)
    if (e) std::rethrow_exception(e);
  co_return std::move(st->results);
}

// A server error reply to a set-up step, in words that say what to fix.
finding refusal(std::string_view step, const std::string& addr, const std::string& text,
                const std::string& password_variable) {
  if (text.starts_with("NOAUTH"))
    return {severity::misconfigured,
            addr + " requires a password (" + text + "): put it in " + password_variable};
  if (step == "AUTH")
    return {severity::misconfigured, "AUTH refused by " + addr + ": " + text +
                                         "; check the credentials in " + password_variable};
  return {severity::misconfigured, addr + " refused " + std::string(step) + ": " + text};
}

// A connection with the configured credentials and database, or the finding that explains why
// there is none: unreachable for transport failures, misconfigured for refused AUTH/SELECT.
struct session {
  std::shared_ptr<redis::basic_connection> conn;  // null on failure
  std::string addr;
  std::optional<finding> failure;
};

net::awaitable<session> open_session(net::connect_options where, redis::credentials auth, int db,
                                     duration timeout, std::string password_variable) {
  session s;
  where.timeout = timeout;
  s.addr = where.unix_path.empty() ? host_port(where.host, where.port) : "unix:" + where.unix_path;
  auto conn = std::make_shared<redis::basic_connection>(co_await asio::this_coro::executor);
  // AUTH and SELECT are sent here rather than by open() so a refusal can be told from a
  // transport failure (the first is a configuration problem, the second an outage).
  const redis::credentials none;
  if (auto err = co_await conn->open(where, none)) {
    s.failure = finding{severity::unreachable, err.detail};
    co_return s;
  }
  if (!auth.password.empty()) {
    std::vector<std::string> c{"AUTH"};
    if (!auth.username.empty()) c.push_back(auth.username);
    c.push_back(auth.password);
    auto [ec, r] = co_await conn->exec(std::move(c), timeout);
    if (ec) {
      s.failure = finding{severity::unreachable, "AUTH to " + s.addr + " failed: " + ec.message()};
      co_return s;
    }
    if (r.is_error()) {
      s.failure = refusal("AUTH", s.addr, r.str, password_variable);
      co_return s;
    }
  }
  if (db != 0) {
    auto [ec, r] = co_await conn->exec(cmd("SELECT", std::to_string(db)), timeout);
    if (ec) {
      s.failure =
          finding{severity::unreachable, "SELECT on " + s.addr + " failed: " + ec.message()};
      co_return s;
    }
    if (r.is_error()) {
      s.failure = refusal("SELECT " + std::to_string(db), s.addr, r.str, password_variable);
      co_return s;
    }
  }
  s.conn = std::move(conn);
  co_return s;
}

// What one data node told us: reachability, latency, ROLE and (optionally) INFO.
struct node_facts {
  session s;  // still open for follow-up commands unless s.failure is set
  std::optional<finding> failure;
  double latency_ms = 0;
  std::string role;        // ROLE[0]: "master", "slave", "sentinel"; "" when ROLE is unavailable
  std::string replica_of;  // for role "slave": "host:port" of its master
  std::string info;        // the INFO text; "" when INFO is unavailable (renamed away)
};

net::awaitable<node_facts> inspect_node(net::connect_options where, redis::credentials auth, int db,
                                        duration timeout, std::string password_variable, int pings,
                                        bool want_info) {
  node_facts f;
  f.s = co_await open_session(std::move(where), std::move(auth), db, timeout, password_variable);
  if (f.s.failure) {
    f.failure = f.s.failure;
    co_return f;
  }
  const auto& addr = f.s.addr;
  double total = 0;
  for (int i = 0; i < pings; ++i) {
    const auto start = clock::now();
    auto [ec, r] = co_await f.s.conn->exec(cmd("PING"), timeout);
    if (ec) {
      f.failure = finding{severity::unreachable, "PING to " + addr + " failed: " + ec.message()};
      co_return f;
    }
    if (r.is_error()) {
      f.failure = refusal("PING", addr, r.str, password_variable);
      co_return f;
    }
    total += std::chrono::duration<double, std::milli>(clock::now() - start).count();
  }
  f.latency_ms = pings > 0 ? total / pings : 0;

  auto [rec, role] = co_await f.s.conn->exec(cmd("ROLE"), timeout);
  if (rec) {
    f.failure = finding{severity::unreachable, "ROLE on " + addr + " failed: " + rec.message()};
    co_return f;
  }
  if (role.type == redis::reply::kind::array && !role.elements.empty()) {
    f.role = role.elements[0].str;
    if (f.role == "slave" && role.elements.size() >= 3)
      f.replica_of = role.elements[1].str + ":" + std::to_string(role.elements[2].integer);
  }
  if (want_info) {
    auto [iec, info] = co_await f.s.conn->exec(cmd("INFO"), timeout);
    if (iec) {
      f.failure = finding{severity::unreachable, "INFO on " + addr + " failed: " + iec.message()};
      co_return f;
    }
    if (info.type == redis::reply::kind::string) f.info = std::move(info.str);
  }
  co_return f;
}

// A quick look at a peer (replica, Cluster node): reachable, latency, ROLE; then hang up.
net::awaitable<node_facts> probe_peer(net::connect_options where, redis::credentials auth,
                                      duration timeout, std::string password_variable) {
  auto f = co_await inspect_node(std::move(where), std::move(auth), 0, timeout,
                                 std::move(password_variable), 3, false);
  f.s.conn.reset();
  co_return f;
}

// Version, identity, latency and key count of the node that serves the client.
void describe_node(client_report& rep, const node_facts& f) {
  rep.latency_ms = f.latency_ms;
  rep.version = info_field(f.info, "redis_version").value_or("");
  rep.run_id = info_field(f.info, "run_id").value_or("");
  if (f.info.empty())
    rep.notes.push_back("INFO is not available on " + f.s.addr +
                        " (renamed or disabled?): version unknown");
  if (auto ks = info_field(f.info, "db" + std::to_string(rep.db))) {
    if (auto keys = csv_field(*ks, "keys")) {
      try {
        rep.keys = std::stoll(*keys);
      } catch (const std::exception&) {
      }
    }
  } else if (!f.info.empty()) {
    rep.keys = 0;
  }
  // Open WebUI's keys (task registry, pools, locks, documents) have no TTL; an evicting policy
  // can silently drop them under memory pressure.
  const auto maxmemory = info_field(f.info, "maxmemory").value_or("0");
  const auto policy = info_field(f.info, "maxmemory_policy").value_or("noeviction");
  if (maxmemory != "0" && policy != "noeviction" && policy != "volatile-lru" &&
      policy != "volatile-lfu" && policy != "volatile-random" && policy != "volatile-ttl")
    rep.notes.push_back("maxmemory-policy is " + policy + " with maxmemory " + maxmemory +
                        ": keys without a TTL (tasks, pools, documents) may be evicted");
}

// The problems of a node that must be a writable plain (non-Cluster) master.
void judge_data_master(client_report& rep, const node_facts& f, const client_vars& v,
                       bool via_sentinel) {
  const auto mode = info_field(f.info, "redis_mode").value_or("");
  if (f.role == "sentinel" || mode == "sentinel") {
    rep.problem(severity::misconfigured,
                f.s.addr + " is a Redis Sentinel, not a data server: set " + v.sentinel_hosts +
                    " and " + v.sentinel_port + " to the sentinels and " + v.url +
                    " to redis://[:password@]<service name>/<db>");
    return;
  }
  if (info_field(f.info, "cluster_enabled") == "1" || mode == "cluster") {
    rep.problem(severity::misconfigured,
                f.s.addr + " is a Redis Cluster node (cluster_enabled:1) but " + v.cluster +
                    " is not true: keys of other slots answer MOVED; set " + v.cluster + "=true");
  }
  if (f.role == "slave") {
    if (via_sentinel)
      rep.problem(severity::unreachable,
                  "the sentinels name " + f.s.addr + " as master but its ROLE is replica of " +
                      f.replica_of + ": a failover is in progress or the sentinels are stale");
    else
      rep.problem(severity::misconfigured, f.s.addr + " is a read-only replica (of " +
                                               f.replica_of +
                                               "): writes fail with READONLY; point " + v.url +
                                               " at the master, or use Sentinel");
  } else if (f.role.empty() && !f.info.empty() && info_field(f.info, "role") == "slave") {
    rep.problem(severity::misconfigured,
                f.s.addr + " is a read-only replica: point " + v.url + " at the master");
  }
}

// ------------------------------------------------------------------------------------------
// Standalone

net::awaitable<client_report> check_standalone(client_report rep, redis_target t, client_vars v) {
  const auto& node = t.options.node;
  auto f = co_await inspect_node(node.connect, node.auth, node.db, t.options.connect_timeout, v.url,
                                 5, true);
  rep.master = f.s.addr;
  if (f.failure) {
    rep.problems.push_back(*f.failure);
    co_return rep;
  }
  describe_node(rep, f);
  judge_data_master(rep, f, v, false);
  rep.replicas = info_replicas(f.info);
  for (const auto& r : rep.replicas)
    if (r.state != "online")
      rep.notes.push_back("replica " + r.addr + " is in state " + r.state + " (not online)");
  co_return rep;
}

// ------------------------------------------------------------------------------------------
// Sentinel

struct sentinel_answer {
  sentinel_report rep;
  bool is_sentinel = false;
  bool knows_service = false;
  std::vector<std::string> known_masters;  // when it does not know the service
  std::shared_ptr<redis::basic_connection> conn;
};

net::awaitable<sentinel_answer> ask_sentinel(net::connect_options where, redis::credentials auth,
                                             std::string service, duration timeout) {
  sentinel_answer a;
  // Sentinels are contacted without the data nodes' password (as redis-py does without
  // sentinel_kwargs), with owcore's REDIS_SENTINEL_USERNAME/PASSWORD when set.
  auto s = co_await open_session(std::move(where), std::move(auth), 0, timeout,
                                 "REDIS_SENTINEL_PASSWORD");
  a.rep.addr = s.addr;
  if (s.failure) {
    a.rep.error = s.failure->text;
    co_return a;
  }
  auto [ec, r] =
      co_await s.conn->exec(cmd("SENTINEL", "GET-MASTER-ADDR-BY-NAME", service), timeout);
  if (ec) {
    a.rep.error = "SENTINEL GET-MASTER-ADDR-BY-NAME on " + s.addr + " failed: " + ec.message();
    co_return a;
  }
  a.rep.reachable = true;
  if (r.is_error()) {
    a.is_sentinel = r.str.find("unknown command") == std::string::npos;
    a.rep.error = a.is_sentinel ? r.str : "not a sentinel (" + r.str + ")";
    co_return a;
  }
  a.is_sentinel = true;
  a.conn = s.conn;
  if (r.type == redis::reply::kind::array && r.elements.size() == 2) {
    a.knows_service = true;
    a.rep.master = r.elements[0].str.find(':') != std::string::npos
                       ? "[" + r.elements[0].str + "]:" + r.elements[1].str
                       : r.elements[0].str + ":" + r.elements[1].str;
    co_return a;
  }
  a.rep.error = "does not monitor a master named '" + service + "'";
  auto [mec, masters] = co_await s.conn->exec(cmd("SENTINEL", "MASTERS"), timeout);
  if (!mec && masters.type == redis::reply::kind::array)
    for (const auto& m : masters.elements)
      if (auto name = map_field(m, "name")) a.known_masters.push_back(*name);
  co_return a;
}

net::awaitable<client_report> check_sentinel(client_report rep, redis_target t, client_vars v) {
  const auto& o = t.options;
  const auto timeout = o.connect_timeout;
  const auto& service = o.service_name;

  std::vector<net::awaitable<sentinel_answer>> asks;
  for (const auto& a : o.sentinels) {
    net::connect_options where = o.node.connect;
    where.host = a.host;
    where.port = a.port;
    where.unix_path.clear();
    asks.push_back(ask_sentinel(where, o.sentinel_auth, service, timeout));
  }
  auto answers = co_await gather(std::move(asks));
  for (const auto& a : answers) rep.sentinels.push_back(a.rep);
  if (answers.size() == 1)
    rep.notes.push_back("only one sentinel is configured: while it is down the master cannot be "
                        "found; list every sentinel in " + v.sentinel_hosts);

  std::vector<std::string> errors;
  std::optional<std::size_t> primary;  // the first sentinel that knows the service
  bool any_sentinel = false;
  std::set<std::string> known;
  for (std::size_t i = 0; i < answers.size(); ++i) {
    const auto& a = answers[i];
    if (!a.rep.reachable) errors.push_back(a.rep.error);
    any_sentinel = any_sentinel || a.is_sentinel;
    for (const auto& k : a.known_masters) known.insert(k);
    if (a.knows_service && !primary) primary = i;
  }
  if (std::none_of(answers.begin(), answers.end(), [](const auto& a) { return a.rep.reachable; })) {
    rep.problem(severity::unreachable, "no sentinel answered: " + join(errors, "; "));
    co_return rep;
  }
  for (const auto& a : answers) {
    if (a.rep.reachable && !a.is_sentinel)
      rep.problem(severity::misconfigured,
                  a.rep.addr + " is " + a.rep.error + ": " + v.sentinel_port +
                      " must be the sentinels' port (26379 by default), not a data port");
  }
  if (!primary) {
    if (any_sentinel) {
      std::vector<std::string> names(known.begin(), known.end());
      rep.problem(severity::misconfigured,
                  "no sentinel monitors a master named '" + service + "' (the host part of " +
                      v.url + " is the service name); the sentinels know: " +
                      (names.empty() ? std::string("(none)") : join(names, ", ")));
    }
    co_return rep;
  }
  for (const auto& a : answers) {
    if (!a.rep.reachable)
      rep.problem(severity::degraded, "sentinel " + a.rep.addr + " is unreachable: " + a.rep.error);
    else if (a.is_sentinel && !a.knows_service)
      rep.problem(severity::degraded, "sentinel " + a.rep.addr + " " + a.rep.error);
  }
  std::set<std::string> masters;
  for (const auto& a : answers)
    if (a.knows_service) masters.insert(a.rep.master);
  if (masters.size() > 1) {
    std::vector<std::string> says;
    for (const auto& a : answers)
      if (a.knows_service) says.push_back(a.rep.addr + " says " + a.rep.master);
    rep.problem(severity::degraded, "the sentinels disagree about the master of '" + service +
                                        "': " + join(says, ", "));
  }
  rep.master = answers[*primary].rep.master;
  auto conn = answers[*primary].conn;
  const auto primary_addr = answers[*primary].rep.addr;

  // The primary sentinel's view of the master, its replicas and the quorum.
  auto [mec, mstate] = co_await conn->exec(cmd("SENTINEL", "MASTER", service), timeout);
  if (!mec && !mstate.is_error()) {
    const auto flags = map_field(mstate, "flags").value_or("");
    if (has_word(flags, "s_down") || has_word(flags, "o_down"))
      rep.problem(severity::degraded, "sentinel " + primary_addr + " flags the master " +
                                          rep.master + " as down (" + flags + ")");
  }
  std::vector<std::vector<std::string>> why;  // per replica: what the sentinel says is wrong
  auto [rec, replicas] = co_await conn->exec(cmd("SENTINEL", "REPLICAS", service), timeout);
  const bool listed = !rec && replicas.type == redis::reply::kind::array;
  if (!listed) {
    rep.problem(severity::degraded, "SENTINEL REPLICAS on " + primary_addr +
                                        " failed: " + (rec ? rec.message() : replicas.str));
  } else {
    for (const auto& r : replicas.elements) {
      node_report n;
      const auto ip = map_field(r, "ip").value_or("?");
      n.addr = (ip.find(':') != std::string::npos ? "[" + ip + "]" : ip) + ":" +
               map_field(r, "port").value_or("?");
      n.role = "replica";
      n.master = rep.master;
      n.state = map_field(r, "flags").value_or("");
      std::vector<std::string> w;
      if (has_word(n.state, "s_down") || has_word(n.state, "o_down"))
        w.push_back("the sentinel flags it down (if it was removed on purpose, run "
                    "SENTINEL RESET " + service + " on every sentinel)");
      if (has_word(n.state, "disconnected")) w.push_back("the sentinel is disconnected from it");
      const auto link = map_field(r, "master-link-status").value_or("");
      if (!link.empty() && link != "ok") w.push_back("its link to the master is " + link);
      rep.replicas.push_back(std::move(n));
      why.push_back(std::move(w));
    }
  }
  auto [qec, quorum] = co_await conn->exec(cmd("SENTINEL", "CKQUORUM", service), timeout);
  if (qec) {
    rep.problem(severity::degraded,
                "SENTINEL CKQUORUM on " + primary_addr + " failed: " + qec.message());
  } else {
    rep.quorum = quorum.str;
    if (quorum.is_error())
      rep.problem(severity::degraded, "sentinel quorum check failed: " + quorum.str);
  }
  answers.clear();  // closes the sentinel connections
  conn.reset();

  // Contact the replicas directly as well: Sentinel notices a dead replica only after
  // down-after-milliseconds, the doctor at once.
  std::vector<net::awaitable<node_facts>> probes;
  for (const auto& r : rep.replicas) {
    auto hp = redis::address::parse(r.addr);
    net::connect_options where = o.node.connect;
    where.unix_path.clear();
    where.host = hp ? hp->host : r.addr;
    where.port = hp ? hp->port : 0;
    probes.push_back(probe_peer(where, o.node.auth, timeout, v.url));
  }
  auto seen = co_await gather(std::move(probes));
  for (std::size_t i = 0; i < rep.replicas.size(); ++i) {
    auto& r = rep.replicas[i];
    r.reachable = !seen[i].failure;
    if (seen[i].failure) {
      r.error = seen[i].failure->text;
      why[i].push_back("unreachable: " + r.error);
    } else {
      r.latency_ms = seen[i].latency_ms;
    }
    if (!why[i].empty())
      rep.problem(severity::degraded, "replica " + r.addr + ": " + join(why[i], "; ") +
                                          " (sentinel flags " + r.state + ")");
  }
  if (listed && rep.replicas.empty())
    rep.problem(severity::degraded, "the master of '" + service +
                                        "' has no replica: Sentinel has nothing to fail over to");

  // Finally the master itself, with the data nodes' credentials and database.
  auto hp = redis::address::parse(rep.master);
  if (!hp) {
    rep.problem(severity::unreachable,
                "sentinel " + primary_addr + " names a malformed master address: " + rep.master);
    co_return rep;
  }
  net::connect_options where = o.node.connect;
  where.unix_path.clear();
  where.host = hp->host;
  where.port = hp->port;
  auto f = co_await inspect_node(where, o.node.auth, o.node.db, timeout, v.url, 5, true);
  if (f.failure) {
    rep.problems.push_back(*f.failure);
    co_return rep;
  }
  describe_node(rep, f);
  judge_data_master(rep, f, v, true);
  co_return rep;
}

// ------------------------------------------------------------------------------------------
// Cluster

net::awaitable<client_report> check_cluster(client_report rep, redis_target t, client_vars v) {
  const auto& o = t.options;
  const auto timeout = o.connect_timeout;
  auto f = co_await inspect_node(o.node.connect, o.node.auth, 0, timeout, v.url, 5, true);
  rep.seed = f.s.addr;
  if (f.failure) {
    rep.problems.push_back(*f.failure);
    co_return rep;
  }
  describe_node(rep, f);
  const auto not_cluster = [&](const std::string& why) {
    rep.problem(severity::misconfigured, v.cluster + "=true but " + f.s.addr +
                                             " is not a Redis Cluster node (" + why + "); unset " +
                                             v.cluster + " for a standalone server");
  };
  if (f.role == "sentinel") {
    rep.problem(severity::misconfigured, f.s.addr +
                                             " is a Redis Sentinel, not a Cluster node: set " +
                                             v.sentinel_hosts + " instead of " + v.cluster);
    co_return rep;
  }
  if (info_field(f.info, "cluster_enabled") == "0") {
    not_cluster("cluster_enabled:0");
    co_return rep;
  }
  auto conn = f.s.conn;
  auto [sec, slots] = co_await conn->exec(cmd("CLUSTER", "SLOTS"), timeout);
  if (sec) {
    rep.problem(severity::unreachable,
                "CLUSTER SLOTS on " + f.s.addr + " failed: " + sec.message());
    co_return rep;
  }
  if (slots.is_error()) {
    if (slots.str.find("cluster support disabled") != std::string::npos)
      not_cluster(slots.str);
    else
      rep.problem(severity::misconfigured,
                  "CLUSTER SLOTS refused by " + f.s.addr + ": " + slots.str);
    co_return rep;
  }
  std::string parse_error;
  auto map = redis::slot_map::from_cluster_slots(slots, o.node.connect.host, &parse_error);
  if (!map) {
    rep.problem(severity::degraded,
                "cannot read CLUSTER SLOTS from " + f.s.addr + ": " + parse_error);
    co_return rep;
  }
  rep.slots_covered = map->covered_slots();
  if (*rep.slots_covered < redis::slot_count)
    rep.problem(
        severity::degraded,
        fmt::format("only {} of {} hash slots are served; uncovered: {}", *rep.slots_covered,
                    redis::slot_count, ranges_text(uncovered_ranges(*map))));

  auto [iec, info] = co_await conn->exec(cmd("CLUSTER", "INFO"), timeout);
  if (!iec && info.type == redis::reply::kind::string) {
    rep.cluster_state = info_field(info.str, "cluster_state").value_or("");
    if (rep.cluster_state != "ok")
      rep.problem(severity::degraded, "cluster_state is " + rep.cluster_state + " on " + f.s.addr +
                                          " (cluster_slots_fail " +
                                          info_field(info.str, "cluster_slots_fail").value_or("?") +
                                          ")");
  }

  for (const auto& m : map->masters()) {
    node_report n;
    n.addr = m;
    n.role = "master";
    n.slots = map->ranges_of(m);
    const auto node = n.slots.empty() ? nullptr : map->node_for(n.slots.front().first);
    rep.nodes.push_back(std::move(n));
    if (node) {
      for (const auto& r : node->replicas) {
        node_report rr;
        rr.addr = r;
        rr.role = "replica";
        rr.master = m;
        rep.nodes.push_back(std::move(rr));
      }
    }
  }
  // CLUSTER SLOTS leaves out failed replicas and masters without slots; CLUSTER NODES has them.
  auto [nec, nodes_text] = co_await conn->exec(cmd("CLUSTER", "NODES"), timeout);
  conn.reset();
  f.s.conn.reset();
  if (!nec && nodes_text.type == redis::reply::kind::string) {
    const auto lines = parse_cluster_nodes(nodes_text.str);
    // CLUSTER NODES names this node by its own idea of its address, which may differ from the
    // seed's; find entries by address and fall back to adding them.
    for (const auto& l : lines) {
      if (l.addr.empty()) continue;
      std::string master_addr;
      for (const auto& m : lines)
        if (m.id == l.master_id) master_addr = m.addr;
      auto it = std::find_if(rep.nodes.begin(), rep.nodes.end(),
                             [&](const auto& n) { return n.addr == l.addr; });
      if (it == rep.nodes.end()) {
        node_report n;
        n.addr = l.addr;
        n.role = has_word(l.flags, "master") ? "master" : "replica";
        n.master = master_addr;
        rep.nodes.push_back(std::move(n));
        it = std::prev(rep.nodes.end());
        if (it->role == "master" && !has_word(l.flags, "fail") && !has_word(l.flags, "fail?"))
          rep.notes.push_back("master " + l.addr + " serves no hash slots");
      }
      it->state = l.flags;
    }
  }

  std::vector<net::awaitable<node_facts>> probes;
  for (const auto& n : rep.nodes) {
    auto hp = redis::address::parse(n.addr);
    net::connect_options where = o.node.connect;
    where.unix_path.clear();
    where.host = hp ? hp->host : n.addr;
    where.port = hp ? hp->port : 0;
    probes.push_back(probe_peer(where, o.node.auth, timeout, v.url));
  }
  auto seen = co_await gather(std::move(probes));
  for (std::size_t i = 0; i < rep.nodes.size(); ++i) {
    auto& n = rep.nodes[i];
    n.reachable = !seen[i].failure;
    std::vector<std::string> why;
    if (has_word(n.state, "fail"))
      why.push_back("the cluster marks it failed (if it was removed on purpose, run CLUSTER "
                    "FORGET on every node)");
    else if (has_word(n.state, "fail?"))
      why.push_back(rep.seed + " suspects it is down (PFAIL)");
    if (seen[i].failure) {
      n.error = seen[i].failure->text;
      why.push_back("unreachable: " + n.error);
      // Still listed as serving slots: the cluster has not failed over (yet).
      if (!n.slots.empty())
        why.push_back("requests for slots " + ranges_text(n.slots) +
                      " fail until a replica takes over");
    } else {
      n.latency_ms = seen[i].latency_ms;
      const auto actual = seen[i].role == "slave" ? "replica" : seen[i].role;
      if (!actual.empty() && actual != n.role)
        rep.notes.push_back("node " + n.addr + " is listed as " + n.role + " but its ROLE says " +
                            actual + " (a failover in progress?)");
    }
    if (!why.empty())
      rep.problem(severity::degraded, "node " + n.addr + " (" + n.role +
                                          (n.master.empty() ? "" : " of " + n.master) +
                                          "): " + join(why, "; "));
  }
  for (const auto& n : rep.nodes)
    if (n.role == "replica") rep.replicas.push_back(n);
  co_return rep;
}

// ------------------------------------------------------------------------------------------
// Planning and assembling the report

// One client's configuration as the doctor will check it.
struct client_input {
  client_report base;  // identity and configuration, filled in before any I/O
  std::optional<redis_target> target;
  client_vars vars;
};

redis::topology configured_topology(const redis_client_settings& c) {
  if (!c.sentinels.empty()) return redis::topology::sentinel;
  return c.cluster ? redis::topology::cluster : redis::topology::standalone;
}

// plan_redis() stops at the first error and plans WS only under WEBSOCKET_MANAGER=redis. To
// report each client on its own, even when the other is misconfigured, each is planned from a
// copy of the settings in which the other client is switched off.
client_input plan_client(const settings& s, bool app) {
  settings only = s;
  if (app)
    only.websocket_manager.clear();
  else
    only.app_redis = redis_client_settings{};
  const auto& c = app ? s.app_redis : s.ws_redis;

  client_input in;
  in.vars = vars_of(c);
  auto& rep = in.base;
  rep.name = app ? "app" : "ws";
  rep.configured = app ? (c.configured() || c.cluster) : s.redis_manager();
  if (!rep.configured) return in;

  rep.topo = configured_topology(c);
  rep.url = mask_url_password(c.url);
  if (rep.topo == redis::topology::sentinel) {
    std::vector<std::string> hosts;
    for (const auto& h : c.sentinels) hosts.push_back(h.host);
    rep.variable = c.sentinel_variable;
    rep.config.emplace_back(c.sentinel_variable, join(hosts, ","));
    rep.config.emplace_back(in.vars.sentinel_port, std::to_string(c.sentinel_port));
  } else {
    rep.variable = c.url_variable;
  }
  rep.config.emplace_back(c.url_variable, rep.url);
  if (rep.topo == redis::topology::cluster) rep.config.emplace_back(in.vars.cluster, "true");

  auto planned = plan_redis(only);
  if (auto* e = std::get_if<startup_error>(&planned)) {
    rep.problem(severity::misconfigured, e->line());
    return in;
  }
  auto& plan = std::get<redis_plan>(planned);
  in.target = app ? plan.app : plan.ws;
  if (in.target) {
    const auto& o = in.target->options;
    rep.topo = o.topo;
    rep.db = o.node.db;
    if (o.topo == redis::topology::sentinel) rep.service_name = o.service_name;
  }
  return in;
}

net::awaitable<client_report> check_client(client_input in) {
  if (!in.target || !in.base.problems.empty()) co_return std::move(in.base);
  switch (in.target->options.topo) {
    case redis::topology::standalone:
      co_return co_await check_standalone(std::move(in.base), std::move(*in.target), in.vars);
    case redis::topology::sentinel:
      co_return co_await check_sentinel(std::move(in.base), std::move(*in.target), in.vars);
    case redis::topology::cluster:
      co_return co_await check_cluster(std::move(in.base), std::move(*in.target), in.vars);
  }
  co_return std::move(in.base);
}

// The whole diagnosis: both clients, plus findings about the configuration as a whole.
struct diagnosis {
  client_report app;
  client_report ws;
  std::vector<finding> problems;   // settings errors
  std::vector<std::string> notes;  // settings warnings and cross-client remarks
  std::string key_prefix;
  database_report database;

  severity status() const {
    severity s = std::max(app.status(), ws.status());
    for (const auto& p : problems) s = std::max(s, p.level);
    if (!database.error.empty()) s = std::max(s, severity::unreachable);
    if (!database.warning.empty()) s = std::max(s, severity::degraded);
    return s;
  }
};

// Cross-client remarks that need both reports.
void compare_clients(diagnosis& d, const settings& s) {
  const auto& a = d.app;
  const auto& w = d.ws;
  if (!a.configured && !w.configured) {
    d.notes.push_back(
        "no Redis is configured: owcore uses its in-memory backends (sessions, tasks, "
        "Socket.IO state and documents live in this process); run a single instance");
    return;
  }
  if (a.configured && w.configured) {
    const bool plain = a.topo != redis::topology::cluster && w.topo != redis::topology::cluster;
    bool same = plain && !a.run_id.empty() && a.run_id == w.run_id;
    if (a.topo == redis::topology::cluster && w.topo == redis::topology::cluster) {
      for (const auto& n : a.nodes)
        for (const auto& m : w.nodes) same = same || n.addr == m.addr;
    }
    if (same && a.topo == redis::topology::cluster) {
      d.notes.push_back("App and WS Redis are the same cluster, as in Open WebUI's default "
                        "configuration");
    } else if (same && a.db == w.db) {
      d.notes.push_back("App and WS Redis are the same server and database (db " +
                        std::to_string(a.db) + "), as in Open WebUI's default configuration");
    } else if (same) {
      d.notes.push_back(fmt::format(
          "App Redis (db {}) and WS Redis (db {}) are the same server: pub/sub is server-wide, so "
          "both databases share the socketio and {}:tasks:commands channels",
          a.db, w.db, s.key_prefix));
    }
  }
  if (s.enable_star_sessions_middleware && a.configured && a.topo != redis::topology::standalone)
    d.notes.push_back(
        "ENABLE_STAR_SESSIONS_MIDDLEWARE=true with a " + std::string(redis::to_string(a.topo)) +
        " App Redis: Python Open WebUI's session store connects to REDIS_URL as a plain "
        "server and supports neither Sentinel nor Cluster (mixed fleets)");
}

// Settings errors go to the client whose variable they name, replacing the plan error on the
// same variable (load_settings explains it in more detail); the rest are global.
void attach_settings_errors(diagnosis& d, const settings& s) {
  for (const auto& e : s.errors) {
    const std::string line = e.variable + ": " + e.message;
    client_report* c = nullptr;
    if (e.variable.starts_with("WEBSOCKET_") && d.ws.configured)
      c = &d.ws;
    else if (e.variable.starts_with("REDIS_") && d.app.configured)
      c = &d.app;
    if (!c) {
      d.problems.push_back({severity::misconfigured, line});
      continue;
    }
    auto same = std::find_if(c->problems.begin(), c->problems.end(), [&](const finding& p) {
      return p.text.starts_with(e.variable + ": ");
    });
    if (same != c->problems.end())
      *same = {severity::misconfigured, line};
    else
      c->problem(severity::misconfigured, line);
  }
}

// Checks that need only the settings, before any I/O.
void precheck_ws(client_input& ws, const settings& s) {
  if (!ws.base.configured) return;
  // WEBSOCKET_SENTINEL_HOSTS does not inherit REDIS_SENTINEL_HOSTS while WEBSOCKET_REDIS_URL does
  // inherit REDIS_URL, whose host is then a service name, not a server (docs/wire.md,
  // "Environment").
  if (!s.app_redis.sentinels.empty() && s.ws_redis.sentinels.empty() &&
      s.ws_redis.url == s.app_redis.url)
    ws.base.problem(
        severity::misconfigured,
        "REDIS_SENTINEL_HOSTS is set but WEBSOCKET_SENTINEL_HOSTS is empty (it does not "
        "inherit), so WS Redis treats the Sentinel service name in WEBSOCKET_REDIS_URL "
        "(inherited from REDIS_URL) as a host; set WEBSOCKET_SENTINEL_HOSTS and "
        "WEBSOCKET_SENTINEL_PORT");
  if (ws.base.topo == redis::topology::cluster)
    ws.base.notes.push_back(
        "python-socketio has no Cluster support: Python instances of a mixed fleet "
        "publish on the socketio channel through the URL's node only (pub/sub "
        "still reaches the whole cluster, but without failover)");
}

// ------------------------------------------------------------------------------------------
// Output

json::value opt_number(const std::optional<double>& v) {
  return v ? json::value(round3(*v)) : json::value(nullptr);
}

json::value opt_string(const std::string& v) {
  return v.empty() ? json::value(nullptr) : json::value(v);
}

json::array strings(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

json::object node_json(const node_report& n) {
  json::object o;
  o["addr"] = n.addr;
  o["role"] = n.role;
  json::array slots;
  for (const auto& [first, last] : n.slots) slots.push_back(json::array{first, last});
  o["slots"] = std::move(slots);
  o["master"] = opt_string(n.master);
  o["state"] = n.state;
  o["reachable"] = n.reachable ? json::value(*n.reachable) : json::value(nullptr);
  o["latency_ms"] = opt_number(n.latency_ms);
  o["error"] = opt_string(n.error);
  return o;
}

json::object client_json(const client_report& r, const std::string& key_prefix) {
  // Every key is always present (null or empty when it does not apply) so consumers need no
  // per-topology schema.
  json::object o;
  o["configured"] = r.configured;
  if (!r.configured) {
    o["note"] = r.name == "app"
                    ? "REDIS_URL and REDIS_SENTINEL_HOSTS are empty: in-memory backends are in use"
                    : "WEBSOCKET_MANAGER is not redis: Socket.IO state is process-local";
  }
  o["variable"] = opt_string(r.variable);
  o["url"] = opt_string(r.url);
  o["topology"] = r.configured ? json::value(redis::to_string(r.topo)) : json::value(nullptr);
  o["healthy"] = r.status() == severity::healthy;
  o["status"] = to_string(r.status());
  o["latency_ms"] = opt_number(r.latency_ms);
  o["version"] = opt_string(r.version);
  o["key_prefix"] = key_prefix;
  o["db"] = r.configured ? json::value(r.db) : json::value(nullptr);
  o["keys"] = r.keys ? json::value(*r.keys) : json::value(nullptr);
  o["master"] = r.topo == redis::topology::cluster ? json::value(nullptr) : opt_string(r.master);
  json::array replicas, replica_details;
  for (const auto& n : r.replicas) {
    replicas.emplace_back(n.addr);
    replica_details.push_back(node_json(n));
  }
  o["replicas"] = std::move(replicas);
  o["replica_details"] = std::move(replica_details);
  o["service_name"] = opt_string(r.service_name);
  json::array sentinels;
  for (const auto& s : r.sentinels) {
    json::object so;
    so["addr"] = s.addr;
    so["reachable"] = s.reachable;
    so["master"] = opt_string(s.master);
    so["error"] = opt_string(s.error);
    sentinels.push_back(std::move(so));
  }
  o["sentinels"] = std::move(sentinels);
  o["quorum"] = opt_string(r.quorum);
  o["seed"] = opt_string(r.seed);
  o["cluster_state"] = opt_string(r.cluster_state);
  json::array nodes;
  for (const auto& n : r.nodes) nodes.push_back(node_json(n));
  o["nodes"] = std::move(nodes);
  o["slots_covered"] = r.slots_covered ? json::value(*r.slots_covered) : json::value(nullptr);
  json::array problems;
  for (const auto& p : r.problems) problems.emplace_back(p.text);
  o["problems"] = std::move(problems);
  o["notes"] = strings(r.notes);
  return o;
}

json::object diagnosis_json(const diagnosis& d) {
  json::object o;
  o["owcore"] = OWCORE_VERSION;
  o["status"] = to_string(d.status());
  o["exit_code"] = exit_code_of(d.status());
  o["key_prefix"] = d.key_prefix;
  o["app"] = client_json(d.app, d.key_prefix);
  o["ws"] = client_json(d.ws, d.key_prefix);
  json::array problems;
  for (const auto& p : d.problems) problems.emplace_back(p.text);
  o["problems"] = std::move(problems);
  o["notes"] = strings(d.notes);
  o["database"] = database_json(d.database);
  return o;
}

// The text report: a label column, then one or more value lines.
class text_report {
 public:
  explicit text_report(std::ostream& os) : os_(os) {}
  void field(std::string_view label, const std::string& value) {
    os_ << "  " << label << std::string(label.size() < 12 ? 12 - label.size() : 1, ' ') << value
        << "\n";
  }
  void list(std::string_view label, const std::vector<std::string>& values,
            std::string_view empty = "(none)") {
    if (values.empty()) {
      field(label, std::string(empty));
      return;
    }
    for (std::size_t i = 0; i < values.size(); ++i) field(i == 0 ? label : "", values[i]);
  }
  std::ostream& os() { return os_; }

 private:
  std::ostream& os_;
};

std::string node_line(const node_report& n, bool show_role) {
  std::string line = n.addr;
  if (show_role) {
    line += "  " + n.role;
    if (!n.slots.empty()) line += "  slots " + ranges_text(n.slots);
    if (!n.master.empty()) line += "  of " + n.master;
  }
  // Flags beyond the role (s_down, disconnected, fail?, ...) are worth a look; the role is shown.
  std::vector<std::string> flags;
  std::string_view rest = n.state;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const auto word = rest.substr(0, comma);
    if (word != "myself" && word != "master" && word != "slave" && word != "online" &&
        !word.empty())
      flags.emplace_back(word);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (!flags.empty()) line += "  [" + join(flags, ",") + "]";
  if (n.reachable && !*n.reachable)
    line += "  UNREACHABLE: " + n.error;
  else if (n.latency_ms)
    line += "  latency " + ms_text(*n.latency_ms);
  return line;
}

void print_client(std::ostream& os, const client_report& r, const std::string& key_prefix) {
  const std::string head = r.name + " redis";
  os << head << std::string(11 - head.size(), ' ');
  if (!r.configured) {
    os << (r.name == "app" ? "not configured (REDIS_URL and REDIS_SENTINEL_HOSTS are empty): "
                             "in-memory backends are in use\n"
                           : "not used (WEBSOCKET_MANAGER is not \"redis\"): Socket.IO state is "
                             "process-local\n");
    return;
  }
  std::vector<std::string> cfg;
  for (const auto& [k, v] : r.config) cfg.push_back(k + "=" + (v.empty() ? "(empty)" : v));
  os << "(" << join(cfg, ", ") << ")\n";
  text_report t(os);
  std::string topo(redis::to_string(r.topo));
  if (r.topo == redis::topology::sentinel && !r.service_name.empty())
    topo += ", service \"" + r.service_name + "\"";
  if (r.topo == redis::topology::cluster && !r.cluster_state.empty())
    topo += ", cluster_state " + r.cluster_state;
  t.field("topology", topo);

  const auto server_line = [&](const std::string& addr) {
    std::string line = addr.empty() ? "(unknown)" : addr;
    if (!r.latency_ms) return line + "  (not reached)";
    if (!r.version.empty()) line += "  redis " + r.version;
    line += "  latency " + ms_text(*r.latency_ms) + "  db " + std::to_string(r.db);
    if (r.keys)
      line += " (" + std::to_string(*r.keys) +
              (r.topo == redis::topology::cluster ? " keys on this node)" : " keys)");
    return line;
  };
  if (r.topo == redis::topology::sentinel) {
    std::vector<std::string> lines;
    for (const auto& s : r.sentinels) {
      std::string line = s.addr + "  ";
      if (!s.reachable)
        line += "UNREACHABLE: " + s.error;
      else if (!s.master.empty())
        line += "ok, names master " + s.master;
      else
        line += s.error;
      lines.push_back(line);
    }
    t.list("sentinels", lines);
    if (!r.quorum.empty()) t.field("quorum", r.quorum);
  }
  if (r.topo == redis::topology::cluster) {
    t.field("seed", server_line(r.seed));
    if (r.slots_covered)
      t.field("slots", fmt::format("{}/{} covered", *r.slots_covered, redis::slot_count));
    std::vector<std::string> lines;
    for (const auto& n : r.nodes) lines.push_back(node_line(n, true));
    if (r.slots_covered) t.list("nodes", lines);
  } else {
    if (!r.master.empty() || r.latency_ms) t.field("master", server_line(r.master));
    std::vector<std::string> lines;
    for (const auto& n : r.replicas) lines.push_back(node_line(n, false));
    // Replicas are known only from a server that answered (INFO or the sentinels).
    if (r.latency_ms || !r.replicas.empty()) t.list("replicas", lines);
  }
  t.field("key prefix", key_prefix);
  std::vector<std::string> problems;
  for (const auto& p : r.problems)
    problems.push_back("- [" + std::string(to_string(p.level)) + "] " + p.text);
  if (!problems.empty()) t.list("problems", problems);
  std::vector<std::string> notes;
  for (const auto& n : r.notes) notes.push_back("- " + n);
  if (!notes.empty()) t.list("notes", notes);
  t.field("status", std::string(to_string(r.status())));
}

void print_text(std::ostream& os, const diagnosis& d) {
  os << "owcore doctor " << OWCORE_VERSION << "\n";
  print_client(os, d.app, d.key_prefix);
  print_client(os, d.ws, d.key_prefix);
  print_database(os, d.database);
  if (!d.problems.empty()) {
    os << "configuration problems\n";
    for (const auto& p : d.problems) os << "  - [" << to_string(p.level) << "] " << p.text << "\n";
  }
  if (!d.notes.empty()) {
    os << "notes\n";
    for (const auto& n : d.notes) os << "  - " << n << "\n";
  }
  os << "result: " << to_string(d.status()) << " (exit " << exit_code_of(d.status()) << ")\n";
}

net::awaitable<std::vector<client_report>> check_both(client_input app, client_input ws) {
  std::vector<net::awaitable<client_report>> ops;
  ops.push_back(check_client(std::move(app)));
  ops.push_back(check_client(std::move(ws)));
  co_return co_await gather(std::move(ops));
}

}  // namespace

int run_doctor(int argc, char** argv) {
  bool as_json = false;
  for (int i = 0; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--json") {
      as_json = true;
    } else if (a == "--help" || a == "-h") {
      std::cout << usage;
      return exit_ok;
    } else {
      std::cerr << "owcore doctor: unknown argument '" << a << "'\n" << usage;
      return exit_config;
    }
  }

  const settings s = load_settings(process_env());
  init_logging(s.log_format, s.log_level);
  auto log = get_logger("doctor");

  diagnosis d;
  d.key_prefix = s.key_prefix;
  for (const auto& w : s.warnings) d.notes.push_back(w.variable + ": " + w.message);

  auto app = plan_client(s, true);
  auto ws = plan_client(s, false);
  precheck_ws(ws, s);
  d.app = app.base;
  d.ws = ws.base;

  // Single-threaded: every check runs on this io_context, concurrently where independent, each
  // step bounded by the client's connect timeout, so run() returns in bounded time.
  asio::io_context ioc(1);
  std::exception_ptr failure;
  asio::co_spawn(ioc, check_both(std::move(app), std::move(ws)),
                 [&](std::exception_ptr ep, std::vector<client_report> reports) {
                   if (ep)
                     failure = ep;
                   else if (reports.size() == 2) {
                     d.app = std::move(reports[0]);
                     d.ws = std::move(reports[1]);
                   }
                 });
  asio::co_spawn(ioc, check_database(s), [&](std::exception_ptr ep, database_report r) {
    if (ep) failure = ep;
    else d.database = std::move(r);
  });
  ioc.run();
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      log->critical("doctor failed: {}", e.what());
    }
    return exit_config;
  }
  attach_settings_errors(d, s);
  compare_clients(d, s);

  if (as_json)
    std::cout << json::serialize(diagnosis_json(d)) << "\n";
  else
    print_text(std::cout, d);
  std::cout.flush();
  return exit_code_of(d.status());
}

}  // namespace owcore::app
