#pragma once
// The inspector (docs/redis.md, "The inspector"): what `owcore doctor` and the start-up probe
// know about a configured deployment, gathered over the layer's own pieces (io/basic_connection,
// io/node_setup, io/sentinel_query's parsing in protocol/sentinel) and returned as plain facts.
// It judges nothing: which fact is a problem is decided above (app/doctor_judge.cpp, probe.cpp).
// Nothing is written to any Redis; every network step is bounded by the configured timeout.

#include "owcore/net/executor.hpp"
#include "owcore/redis/error.hpp"
#include "owcore/redis/protocol/address.hpp"
#include "owcore/redis/protocol/cluster_slots.hpp"
#include "owcore/redis/topology.hpp"
#include "owcore/redis/url.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace owcore::redis {

/// A deployment to inspect. `node` is the standalone server, the Cluster seed, or (Sentinel) the
/// master's credentials/db/TLS with its address discovered from `sentinels`.
struct inspect_options {
  topology topo = topology::standalone;
  url_config node;
  std::vector<address> sentinels;
  std::string service_name = "mymaster";
  credentials sentinel_auth;
  std::chrono::steady_clock::duration timeout = std::chrono::seconds(5);  ///< per step
  /// Non-empty: every data node also gets the ACL dry run of protocol/acl.hpp for this key prefix
  /// (`owcore doctor`); empty: no dry run (the start-up probe).
  std::string key_prefix;
};

/// Where talking to a node stopped.
enum class inspect_step { none, connect, auth, select, ping, role, info, query };

/// A step that failed: `transport` when the node did not answer (`text` is the transport error's
/// message; for `connect` the layer's whole "cannot connect to ..." line), else the node refused
/// (`text` is its error reply).
struct step_failure {
  inspect_step step = inspect_step::none;
  bool transport = false;
  std::string text;
  boost::system::error_code ec;  ///< the code (transport error, auth_failed, server_error, ...)
  explicit operator bool() const noexcept { return step != inspect_step::none; }
};

/// What one data node said.
struct node_facts {
  std::string addr;        ///< "host:port" (IPv6 bracketed) or "unix:/path"
  error_info open_error;   ///< the connect/set-up failure in the layer's words (start-up lines)
  step_failure failure;    ///< the first failed step; the fields below hold what came before it
  double latency_ms = 0;   ///< mean PING round trip
  std::string role;        ///< ROLE's first element ("master", "slave", "sentinel"); "" if none
  std::string replica_of;  ///< for "slave": its master's address
  std::string info;        ///< the INFO text; "" when INFO was not asked or is unavailable
  /// The dry run's answers, one per queued command: "" when queued, else the error reply (NOPERM
  /// ...). Empty when no dry run was asked or it could not finish.
  std::vector<std::string> dry_run_errors;
  std::string dry_run_refused;  ///< MULTI's own error reply, when it was refused
};

/// How much to ask one node: connect and set up (AUTH, SELECT `db`, and ROLE must say master when
/// `require_master`), `pings` timed PINGs, then ROLE and INFO when asked.
struct node_inspection {
  net::connect_options where;
  credentials auth;
  int db = 0;
  bool require_master = false;
  std::chrono::steady_clock::duration timeout = std::chrono::seconds(5);
  int pings = 1;
  bool role = false;
  bool info = false;
  /// Commands to queue between MULTI and DISCARD (never executed: Redis checks the user's ACL as
  /// it queues each one), after everything else.
  std::vector<std::vector<std::string>> dry_run;
};

/// Inspects one node as `what` says. Never throws for network failures: they are facts.
net::awaitable<node_facts> inspect_node(node_inspection what);

/// What one sentinel said about the service.
struct sentinel_answer {
  std::string addr;
  step_failure failure;     ///< connect/AUTH failed, or the query got no answer (`query`)
  std::string error_reply;  ///< an error reply to GET-MASTER-ADDR-BY-NAME ("unknown command"
                            ///< from a data node, NOAUTH, ...)
  bool knows_service = false;
  std::string master;                      ///< the master it names (when it knows the service)
  std::vector<std::string> known_masters;  ///< SENTINEL MASTERS names, when it does not
  bool answered() const noexcept { return !failure; }
};

/// A replica of a Sentinel master, as the primary sentinel lists it and as it answered itself.
struct sentinel_replica {
  std::string addr;
  std::string flags;        ///< the sentinel's flags for it
  std::string link_status;  ///< master-link-status ("" when absent)
  node_facts seen;          ///< contacted directly (3 PINGs)
};

/// Everything gathered about a Sentinel deployment. The "primary" is the first sentinel (in the
/// configured order) that knows the service; the facts after `primary` come from it.
struct sentinel_facts {
  std::vector<sentinel_answer> sentinels;  ///< one per configured sentinel, in order
  std::optional<std::size_t> primary;
  std::optional<std::string> master_flags;  ///< SENTINEL MASTER's flags, when it answered
  bool replicas_listed = false;
  std::string replicas_error;  ///< why SENTINEL REPLICAS gave no list
  std::vector<sentinel_replica> replicas;
  std::optional<std::string> quorum_failure;  ///< SENTINEL CKQUORUM got no answer (why)
  std::string quorum;                         ///< its answer (status or error text)
  bool quorum_refused = false;                ///< the answer is an error reply
  std::optional<node_facts> master;  ///< the master (5 PINGs, ROLE, INFO); nullopt when the
                                     ///< primary's address does not parse
};

/// A node of a Cluster, from CLUSTER SLOTS and CLUSTER NODES, as it answered itself.
struct cluster_member {
  std::string addr;
  std::string role;                                            ///< "master" | "replica" (as listed)
  std::string master;                                          ///< a replica's master
  std::vector<std::pair<std::uint16_t, std::uint16_t>> slots;  ///< a master's slot ranges
  std::string flags;                                           ///< CLUSTER NODES flags
  bool only_in_nodes = false;  ///< absent from CLUSTER SLOTS (failed replica, slotless master)
  node_facts seen;             ///< contacted directly (3 PINGs, ROLE)
};

/// Everything gathered about a Cluster through its seed.
struct cluster_facts {
  node_facts seed;                ///< 5 PINGs, ROLE, INFO
  step_failure slots_failure;     ///< CLUSTER SLOTS got no answer or was refused
  std::string slots_parse_error;  ///< the answer could not be read as a slot map
  std::optional<slot_map> map;
  std::optional<std::string> cluster_info;  ///< CLUSTER INFO text
  std::vector<cluster_member> nodes;        ///< masters in slot order, each with its replicas,
                                            ///< then nodes only CLUSTER NODES lists
};

/// The facts of one deployment: exactly the member of `topo` is set.
struct topology_facts {
  topology topo = topology::standalone;
  std::string username;    ///< the data nodes' ACL user ("default" when the URL names none)
  std::string key_prefix;  ///< as in inspect_options: the dry run's prefix ("" when none ran)
  std::optional<node_facts> standalone;  ///< 5 PINGs, ROLE, INFO of the server
  std::optional<sentinel_facts> sentinel;
  std::optional<cluster_facts> cluster;
};

/// Gathers everything about the deployment `opts` describes: all sentinels and the peers of a node
/// concurrently, each step bounded by `opts.timeout`. Use from one strand.
net::awaitable<topology_facts> inspect(inspect_options opts);

}  // namespace owcore::redis
