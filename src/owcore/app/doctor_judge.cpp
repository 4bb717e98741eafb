#include "owcore/app/doctor_judge.hpp"

#include "owcore/app/cli.hpp"
#include "owcore/redis/protocol/info.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <exception>
#include <set>

namespace owcore::app {

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& i : items) {
    if (!out.empty()) out += sep;
    out += i;
  }
  return out;
}

namespace {

using redis::has_word;
using redis::info_field;

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

// A server error reply to a step, in words that say what to fix.
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

// Why a node could not be inspected: unreachable for transport failures, misconfigured for
// refused steps. `db` is the database SELECTed; `password_variable` names where credentials go.
finding node_failure(const redis::step_failure& f, const std::string& addr, int db,
                     const std::string& password_variable) {
  using redis::inspect_step;
  const auto unreachable = [&](std::string_view what) {
    return finding{severity::unreachable, std::string(what) + addr + " failed: " + f.text};
  };
  switch (f.step) {
    case inspect_step::none:
    case inspect_step::connect: return {severity::unreachable, f.text};
    case inspect_step::auth:
      return f.transport ? unreachable("AUTH to ")
                         : refusal("AUTH", addr, f.text, password_variable);
    case inspect_step::select:
      return f.transport ? unreachable("SELECT on ")
                         : refusal("SELECT " + std::to_string(db), addr, f.text, password_variable);
    case inspect_step::ping:
      return f.transport ? unreachable("PING to ")
                         : refusal("PING", addr, f.text, password_variable);
    case inspect_step::role:
      return f.transport ? unreachable("ROLE on ") : finding{severity::misconfigured, f.text};
    case inspect_step::info: return unreachable("INFO on ");
    case inspect_step::query:
      return f.transport ? unreachable("query on ")
                         : refusal("the query", addr, f.text, password_variable);
  }
  return {severity::unreachable, f.text};
}

// Version, identity, latency and key count of the node that serves the client.
void describe_node(client_report& rep, const redis::node_facts& f) {
  rep.latency_ms = f.latency_ms;
  rep.version = info_field(f.info, "redis_version").value_or("");
  rep.run_id = info_field(f.info, "run_id").value_or("");
  if (f.info.empty())
    rep.notes.push_back("INFO is not available on " + f.addr +
                        " (renamed or disabled?): version unknown");
  if (auto ks = info_field(f.info, "db" + std::to_string(rep.db))) {
    if (auto keys = redis::csv_field(*ks, "keys")) {
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
void judge_data_master(client_report& rep, const redis::node_facts& f, const client_vars& v,
                       bool via_sentinel) {
  const auto mode = info_field(f.info, "redis_mode").value_or("");
  if (f.role == "sentinel" || mode == "sentinel") {
    rep.problem(severity::misconfigured, f.addr + " is a Redis Sentinel, not a data server: set " +
                                             v.sentinel_hosts + " and " + v.sentinel_port +
                                             " to the sentinels and " + v.url +
                                             " to redis://[:password@]<service name>/<db>");
    return;
  }
  if (info_field(f.info, "cluster_enabled") == "1" || mode == "cluster") {
    rep.problem(severity::misconfigured,
                f.addr + " is a Redis Cluster node (cluster_enabled:1) but " + v.cluster +
                    " is not true: keys of other slots answer MOVED; set " + v.cluster + "=true");
  }
  if (f.role == "slave") {
    if (via_sentinel)
      rep.problem(severity::unreachable,
                  "the sentinels name " + f.addr + " as master but its ROLE is replica of " +
                      f.replica_of + ": a failover is in progress or the sentinels are stale");
    else
      rep.problem(severity::misconfigured, f.addr + " is a read-only replica (of " + f.replica_of +
                                               "): writes fail with READONLY; point " + v.url +
                                               " at the master, or use Sentinel");
  } else if (f.role.empty() && !f.info.empty() && info_field(f.info, "role") == "slave") {
    rep.problem(severity::misconfigured,
                f.addr + " is a read-only replica: point " + v.url + " at the master");
  }
}

void judge_standalone(client_report& rep, const redis::node_facts& f, const client_vars& v) {
  rep.master = f.addr;
  if (f.failure) {
    rep.problems.push_back(node_failure(f.failure, f.addr, rep.db, v.url));
    return;
  }
  describe_node(rep, f);
  judge_data_master(rep, f, v, false);
  for (auto& r : redis::info_replicas(f.info)) {
    node_report n;
    n.addr = std::move(r.addr);
    n.role = "replica";
    n.state = std::move(r.state);
    rep.replicas.push_back(std::move(n));
  }
  for (const auto& r : rep.replicas)
    if (r.state != "online")
      rep.notes.push_back("replica " + r.addr + " is in state " + r.state + " (not online)");
}

// The sentinels as reported: what each said, whether it is a sentinel at all.
struct sentinel_view {
  sentinel_report rep;
  bool is_sentinel = false;
  bool knows_service = false;
};

sentinel_view view_of(const redis::sentinel_answer& a, const std::string& service) {
  sentinel_view s;
  s.rep.addr = a.addr;
  if (a.failure) {
    s.rep.error =
        a.failure.step == redis::inspect_step::query
            ? "SENTINEL GET-MASTER-ADDR-BY-NAME on " + a.addr + " failed: " + a.failure.text
            : node_failure(a.failure, a.addr, 0, "REDIS_SENTINEL_PASSWORD").text;
    return s;
  }
  s.rep.reachable = true;
  if (!a.error_reply.empty()) {
    s.is_sentinel = a.error_reply.find("unknown command") == std::string::npos;
    s.rep.error = s.is_sentinel ? a.error_reply : "not a sentinel (" + a.error_reply + ")";
    return s;
  }
  s.is_sentinel = true;
  s.knows_service = a.knows_service;
  if (a.knows_service) s.rep.master = a.master;
  else s.rep.error = "does not monitor a master named '" + service + "'";
  return s;
}

void judge_sentinel(client_report& rep, const redis::sentinel_facts& f, const client_vars& v) {
  const auto& service = rep.service_name;
  std::vector<sentinel_view> answers;
  for (const auto& a : f.sentinels) answers.push_back(view_of(a, service));
  for (const auto& a : answers) rep.sentinels.push_back(a.rep);
  if (answers.size() == 1)
    rep.notes.push_back(
        "only one sentinel is configured: while it is down the master cannot be "
        "found; list every sentinel in " +
        v.sentinel_hosts);

  std::vector<std::string> errors;
  bool any_sentinel = false;
  std::set<std::string> known;
  for (std::size_t i = 0; i < answers.size(); ++i) {
    if (!answers[i].rep.reachable) errors.push_back(answers[i].rep.error);
    any_sentinel = any_sentinel || answers[i].is_sentinel;
    if (!answers[i].knows_service)
      for (const auto& k : f.sentinels[i].known_masters) known.insert(k);
  }
  if (std::none_of(answers.begin(), answers.end(), [](const auto& a) { return a.rep.reachable; })) {
    rep.problem(severity::unreachable, "no sentinel answered: " + join(errors, "; "));
    return;
  }
  for (const auto& a : answers) {
    if (a.rep.reachable && !a.is_sentinel)
      rep.problem(severity::misconfigured,
                  a.rep.addr + " is " + a.rep.error + ": " + v.sentinel_port +
                      " must be the sentinels' port (26379 by default), not a data port");
  }
  if (!f.primary) {
    if (any_sentinel) {
      std::vector<std::string> names(known.begin(), known.end());
      rep.problem(severity::misconfigured,
                  "no sentinel monitors a master named '" + service + "' (the host part of " +
                      v.url + " is the service name); the sentinels know: " +
                      (names.empty() ? std::string("(none)") : join(names, ", ")));
    }
    return;
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
  rep.master = answers[*f.primary].rep.master;
  const auto primary_addr = answers[*f.primary].rep.addr;

  if (f.master_flags &&
      (has_word(*f.master_flags, "s_down") || has_word(*f.master_flags, "o_down")))
    rep.problem(severity::degraded, "sentinel " + primary_addr + " flags the master " + rep.master +
                                        " as down (" + *f.master_flags + ")");
  std::vector<std::vector<std::string>> why;  // per replica: what is wrong with it
  if (!f.replicas_listed)
    rep.problem(severity::degraded,
                "SENTINEL REPLICAS on " + primary_addr + " failed: " + f.replicas_error);
  for (const auto& r : f.replicas) {
    node_report n;
    n.addr = r.addr;
    n.role = "replica";
    n.master = rep.master;
    n.state = r.flags;
    std::vector<std::string> w;
    if (has_word(n.state, "s_down") || has_word(n.state, "o_down"))
      w.push_back(
          "the sentinel flags it down (if it was removed on purpose, run "
          "SENTINEL RESET " +
          service + " on every sentinel)");
    if (has_word(n.state, "disconnected")) w.push_back("the sentinel is disconnected from it");
    if (!r.link_status.empty() && r.link_status != "ok")
      w.push_back("its link to the master is " + r.link_status);
    rep.replicas.push_back(std::move(n));
    why.push_back(std::move(w));
  }
  if (f.quorum_failure) {
    rep.problem(severity::degraded,
                "SENTINEL CKQUORUM on " + primary_addr + " failed: " + *f.quorum_failure);
  } else {
    rep.quorum = f.quorum;
    if (f.quorum_refused)
      rep.problem(severity::degraded, "sentinel quorum check failed: " + f.quorum);
  }
  for (std::size_t i = 0; i < rep.replicas.size(); ++i) {
    auto& r = rep.replicas[i];
    const auto& seen = f.replicas[i].seen;
    r.reachable = !seen.failure;
    if (seen.failure) {
      r.error = node_failure(seen.failure, seen.addr, 0, v.url).text;
      why[i].push_back("unreachable: " + r.error);
    } else {
      r.latency_ms = seen.latency_ms;
    }
    if (!why[i].empty())
      rep.problem(severity::degraded, "replica " + r.addr + ": " + join(why[i], "; ") +
                                          " (sentinel flags " + r.state + ")");
  }
  if (f.replicas_listed && rep.replicas.empty())
    rep.problem(severity::degraded, "the master of '" + service +
                                        "' has no replica: Sentinel has nothing to fail over to");
  if (!f.master) {
    rep.problem(severity::unreachable,
                "sentinel " + primary_addr + " names a malformed master address: " + rep.master);
    return;
  }
  if (f.master->failure) {
    rep.problems.push_back(node_failure(f.master->failure, f.master->addr, rep.db, v.url));
    return;
  }
  describe_node(rep, *f.master);
  judge_data_master(rep, *f.master, v, true);
}

void judge_cluster(client_report& rep, const redis::cluster_facts& f, const client_vars& v) {
  const auto& seed = f.seed;
  rep.seed = seed.addr;
  if (seed.failure) {
    rep.problems.push_back(node_failure(seed.failure, seed.addr, 0, v.url));
    return;
  }
  describe_node(rep, seed);
  const auto not_cluster = [&](const std::string& why) {
    rep.problem(severity::misconfigured, v.cluster + "=true but " + seed.addr +
                                             " is not a Redis Cluster node (" + why + "); unset " +
                                             v.cluster + " for a standalone server");
  };
  if (seed.role == "sentinel") {
    rep.problem(severity::misconfigured, seed.addr +
                                             " is a Redis Sentinel, not a Cluster node: set " +
                                             v.sentinel_hosts + " instead of " + v.cluster);
    return;
  }
  if (info_field(seed.info, "cluster_enabled") == "0") {
    not_cluster("cluster_enabled:0");
    return;
  }
  if (f.slots_failure.transport) {
    rep.problem(severity::unreachable,
                "CLUSTER SLOTS on " + seed.addr + " failed: " + f.slots_failure.text);
    return;
  }
  if (f.slots_failure) {
    if (f.slots_failure.text.find("cluster support disabled") != std::string::npos)
      not_cluster(f.slots_failure.text);
    else
      rep.problem(severity::misconfigured,
                  "CLUSTER SLOTS refused by " + seed.addr + ": " + f.slots_failure.text);
    return;
  }
  if (!f.map) {
    rep.problem(severity::degraded,
                "cannot read CLUSTER SLOTS from " + seed.addr + ": " + f.slots_parse_error);
    return;
  }
  rep.slots_covered = f.map->covered_slots();
  if (*rep.slots_covered < redis::slot_count)
    rep.problem(
        severity::degraded,
        fmt::format("only {} of {} hash slots are served; uncovered: {}", *rep.slots_covered,
                    redis::slot_count, ranges_text(uncovered_ranges(*f.map))));
  if (f.cluster_info) {
    rep.cluster_state = info_field(*f.cluster_info, "cluster_state").value_or("");
    if (rep.cluster_state != "ok")
      rep.problem(severity::degraded,
                  "cluster_state is " + rep.cluster_state + " on " + seed.addr +
                      " (cluster_slots_fail " +
                      info_field(*f.cluster_info, "cluster_slots_fail").value_or("?") + ")");
  }
  for (const auto& c : f.nodes) {
    node_report n;
    n.addr = c.addr;
    n.role = c.role;
    n.master = c.master;
    n.slots = c.slots;
    n.state = c.flags;
    rep.nodes.push_back(std::move(n));
    if (c.only_in_nodes && c.role == "master" && !has_word(c.flags, "fail") &&
        !has_word(c.flags, "fail?"))
      rep.notes.push_back("master " + c.addr + " serves no hash slots");
  }
  for (std::size_t i = 0; i < rep.nodes.size(); ++i) {
    auto& n = rep.nodes[i];
    const auto& seen = f.nodes[i].seen;
    n.reachable = !seen.failure;
    std::vector<std::string> why;
    if (has_word(n.state, "fail"))
      why.push_back(
          "the cluster marks it failed (if it was removed on purpose, run CLUSTER "
          "FORGET on every node)");
    else if (has_word(n.state, "fail?")) why.push_back(rep.seed + " suspects it is down (PFAIL)");
    if (seen.failure) {
      n.error = node_failure(seen.failure, seen.addr, 0, v.url).text;
      why.push_back("unreachable: " + n.error);
      // Still listed as serving slots: the cluster has not failed over (yet).
      if (!n.slots.empty())
        why.push_back("requests for slots " + ranges_text(n.slots) +
                      " fail until a replica takes over");
    } else {
      n.latency_ms = seen.latency_ms;
      const auto actual = seen.role == "slave" ? "replica" : seen.role;
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
}

}  // namespace

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

client_vars vars_of(const redis_client_settings& c) {
  const bool app = c.url_variable == "REDIS_URL";
  return {c.url_variable, app ? "REDIS_CLUSTER" : "WEBSOCKET_REDIS_CLUSTER", c.sentinel_variable,
          app ? "REDIS_SENTINEL_PORT" : "WEBSOCKET_SENTINEL_PORT"};
}

severity client_report::status() const {
  severity s = severity::healthy;
  for (const auto& p : problems) s = std::max(s, p.level);
  return s;
}

severity diagnosis::status() const {
  severity s = std::max(app.status(), ws.status());
  for (const auto& p : problems) s = std::max(s, p.level);
  if (!database.error.empty()) s = std::max(s, severity::unreachable);
  if (!database.warning.empty()) s = std::max(s, severity::degraded);
  return s;
}

std::string ranges_text(const std::vector<std::pair<std::uint16_t, std::uint16_t>>& ranges,
                        std::size_t max) {
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

void judge_client(client_report& rep, const redis::topology_facts& facts, const client_vars& v) {
  if (facts.standalone) judge_standalone(rep, *facts.standalone, v);
  if (facts.sentinel) judge_sentinel(rep, *facts.sentinel, v);
  if (facts.cluster) judge_cluster(rep, *facts.cluster, v);
  judge_permissions(rep, facts);
}

}  // namespace owcore::app
