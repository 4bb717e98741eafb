#pragma once
// The judge of `owcore doctor` (docs/architecture.md, "where decisions live"): facts in, findings
// out. The facts come from the Redis layer's inspector (redis/inspect.hpp) and the settings; the
// judge decides which of them are problems, how bad each is and what to tell the operator. No
// I/O: every function here is pure and unit-tested with hand-built facts.
//
//   misconfigured (exit 2)  the configuration cannot work; the text names the variable to fix
//   unreachable   (exit 2)  the configuration may be right, but the server does not answer
//   degraded      (exit 1)  it works now, but redundancy or part of the deployment is lost
// Notes are informational and never change the status.

#include "owcore/app/doctor_database.hpp"
#include "owcore/app/settings.hpp"
#include "owcore/redis/inspect.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace owcore::app {

/// `items` separated by `sep` (the lists of the judge's findings and of the report).
std::string join(const std::vector<std::string>& items, std::string_view sep);

/// How bad a finding is. Ordered: a client's status is its worst finding.
enum class severity { healthy, degraded, unreachable, misconfigured };

/// "healthy", "degraded", "unreachable", "misconfigured".
std::string_view to_string(severity s) noexcept;
/// 0 healthy, 1 degraded, 2 otherwise.
int exit_code_of(severity s) noexcept;

/// One problem, in words that say what to fix.
struct finding {
  severity level = severity::degraded;
  std::string text;
};

/// A data node as reported: a replica (standalone, Sentinel) or a Cluster node.
struct node_report {
  std::string addr;
  std::string role;                                            ///< "master" | "replica"
  std::string master;                                          ///< a replica's master
  std::vector<std::pair<std::uint16_t, std::uint16_t>> slots;  ///< Cluster masters
  std::string state;              ///< Sentinel flags, INFO replication state, Cluster flags
  std::optional<bool> reachable;  ///< nullopt: not contacted
  std::optional<double> latency_ms;
  std::string error;  ///< why unreachable
};

/// A sentinel as reported.
struct sentinel_report {
  std::string addr;
  bool reachable = false;
  std::string master;  ///< the master it names, "" if none
  std::string error;   ///< unreachable, not a sentinel, does not know the service
};

/// The variables an operator edits for one client, named in advice.
struct client_vars {
  std::string url;             ///< REDIS_URL | WEBSOCKET_REDIS_URL
  std::string cluster;         ///< REDIS_CLUSTER | WEBSOCKET_REDIS_CLUSTER
  std::string sentinel_hosts;  ///< REDIS_SENTINEL_HOSTS | WEBSOCKET_SENTINEL_HOSTS
  std::string sentinel_port;   ///< REDIS_SENTINEL_PORT | WEBSOCKET_SENTINEL_PORT
};

client_vars vars_of(const redis_client_settings& c);

/// Everything reported about one client (App or WS): its configuration (filled before any I/O),
/// what the judge took from the facts, and the findings.
struct client_report {
  std::string name;  ///< "app" | "ws"
  bool configured = false;
  std::string variable;  ///< the variable that selects the topology
  std::vector<std::pair<std::string, std::string>> config;  ///< shown as VAR=value (masked)
  std::string url;                                          ///< masked
  redis::topology topo = redis::topology::standalone;
  std::string service_name;  ///< Sentinel
  int db = 0;
  std::string master;  ///< standalone / Sentinel
  std::string seed;    ///< Cluster
  std::string version;
  std::string run_id;  ///< server identity, to tell whether App and WS share a server
  std::optional<double> latency_ms;
  std::optional<long long> keys;  ///< in the selected database
  std::vector<node_report> replicas;
  std::vector<sentinel_report> sentinels;
  std::string quorum;  ///< SENTINEL CKQUORUM answer
  std::vector<node_report> nodes;
  std::optional<std::size_t> slots_covered;
  std::string cluster_state;
  std::vector<finding> problems;
  std::vector<std::string> notes;

  severity status() const;
  void problem(severity level, std::string text) { problems.push_back({level, std::move(text)}); }
};

/// The whole diagnosis: both clients, the database, and findings about the configuration.
struct diagnosis {
  client_report app;
  client_report ws;
  std::vector<finding> problems;   ///< settings errors
  std::vector<std::string> notes;  ///< settings warnings and cross-client remarks
  std::string key_prefix;
  database_report database;

  severity status() const;
};

/// Judges the facts gathered about one client's deployment into `rep` (whose configuration is
/// filled in). `facts.topo` picks the judgement; `v` names the variables in advice.
void judge_client(client_report& rep, const redis::topology_facts& facts, const client_vars& v);

/// Judges the ACL dry run of every data node in `facts` (docs/redis.md, "Restricted
/// credentials"): one misconfigured finding per missing permission owcore needs, naming the
/// command, key or channel and the grant to add, then a note with the whole rule. Called by
/// judge_client.
void judge_permissions(client_report& rep, const redis::topology_facts& facts);

/// Checks of the WS client that need only the settings, before any I/O.
void precheck_ws(client_report& ws, const settings& s);

/// Settings errors go to the client whose variable they name, replacing the plan error on the
/// same variable (load_settings explains it in more detail); the rest are global problems.
void attach_settings_errors(diagnosis& d, const settings& s);

/// Cross-client remarks that need both reports.
void compare_clients(diagnosis& d, const settings& s);

/// "0-5460,5461" ranges, at most `max`, then " and N more ranges".
std::string ranges_text(const std::vector<std::pair<std::uint16_t, std::uint16_t>>& ranges,
                        std::size_t max = 6);

}  // namespace owcore::app
