// Real Redis topologies for integration tests: standalone, Sentinel and Cluster.
//
// Each topology owns a temp dir (/tmp/owcore-topo-XXXXXX) with one subdirectory per process,
// starts every process on free loopback ports, and waits (polling, bounded by a deadline) until
// the topology is healthy before the constructor returns. The destructor stops every process by
// PID (SIGTERM to all at once, SIGKILL after a grace period), reaps them, and removes the temp
// dir. Children also die with the test process (PR_SET_PDEATHSIG), so a crashed run leaves
// nothing behind.
//
// Failures (a process that died, a deadline that passed) throw std::runtime_error whose message
// ends with the tail of the relevant log file.
//
// Thread-safety: none. Drive a topology from the thread that created it (the death signal is
// tied to that thread). Topologies are neither copyable nor movable; hold them in a
// std::optional or std::unique_ptr to destroy them early.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/ports.hpp"
#include "support/process.hpp"
#include "support/redis_client.hpp"
#include "support/redis_server.hpp"
#include "support/wait.hpp"

namespace owcore::test {

namespace detail {
/// What a topology's readiness check found wrong, and the log that explains it.
struct topology_problem {
  std::string what;
  std::filesystem::path log;
};
}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Standalone

/// Options for standalone_topology.
struct standalone_options {
  std::string password;                   ///< non-empty: requirepass (url() carries it)
  std::vector<std::string> extra_config;  ///< raw redis.conf lines
  /// Set: the server also listens with TLS on tls_port() (see redis_tls_config).
  std::optional<redis_tls_config> tls{};
};

/// One redis-server.
class standalone_topology {
 public:
  /// Starts the server and waits until it answers. Throws std::runtime_error on failure.
  explicit standalone_topology(standalone_options options = {});
  ~standalone_topology();
  standalone_topology(const standalone_topology&) = delete;
  standalone_topology& operator=(const standalone_topology&) = delete;

  /// The server, for process control (pause(), kill(), restart()) and commands.
  redis_server& server() noexcept { return *server_; }
  /// The server's port; fixed for the topology's lifetime.
  int port() const noexcept { return server_->port(); }
  /// The server's TLS port (0 without standalone_options::tls).
  int tls_port() const noexcept { return server_->tls_port(); }
  /// "redis://127.0.0.1:PORT/0" (with the password if one is set).
  std::string url() const { return server_->url(); }
  /// The PIDs of every process this topology started (current or last incarnation).
  std::vector<pid_t> pids() const;
  /// The topology's temp dir (gone after destruction).
  const std::filesystem::path& dir() const noexcept { return dir_.path(); }

 private:
  temp_dir dir_;  // declared first: removed after the servers have stopped
  std::unique_ptr<redis_server> server_;
};

// ---------------------------------------------------------------------------------------------
// Sentinel

/// Options for sentinel_topology. The timings are short so failovers finish quickly in tests.
struct sentinel_options {
  std::string service_name = "mymaster";             ///< `sentinel monitor <name> ...`
  std::chrono::milliseconds down_after{1000};        ///< down-after-milliseconds
  std::chrono::milliseconds failover_timeout{5000};  ///< failover-timeout
  std::chrono::milliseconds ready_timeout{std::chrono::seconds(30)};  ///< start-up bound
  /// Set: every data node and sentinel also listens with TLS (redis_tls_config), the replica
  /// replicates over TLS and the sentinels monitor the master's TLS port and talk TLS to the
  /// nodes and to each other, so every address a sentinel reports is a TLS port.
  std::optional<redis_tls_config> tls{};
};

/// One master, one replica (`replicaof`) and three redis-sentinel processes (quorum 2).
///
/// The constructor returns once the replica's link is up and every sentinel reports the master
/// (flags exactly "master"), one healthy replica and the two other sentinels.
///
/// Sentinels listen on *different* ports. Open WebUI's REDIS_SENTINEL_HOSTS/REDIS_SENTINEL_PORT
/// apply one port to every host, so a config built from sentinel_hosts_csv() alone reaches only
/// sentinels on that port; use sentinels() (host:port pairs) wherever per-host ports are
/// accepted, or point a single-port config at one sentinel.
class sentinel_topology {
 public:
  /// Starts all five processes and waits (up to ready_timeout) until the group is healthy.
  /// Throws std::runtime_error (with the relevant log's tail) on failure.
  explicit sentinel_topology(sentinel_options options = {});
  ~sentinel_topology();
  sentinel_topology(const sentinel_topology&) = delete;
  sentinel_topology& operator=(const sentinel_topology&) = delete;

  /// The monitored master's name ("mymaster" by default).
  const std::string& service_name() const noexcept { return options_.service_name; }

  /// The sentinels' ports, in start order.
  std::vector<int> sentinel_ports() const;
  /// "127.0.0.1:PORT" for each sentinel.
  std::vector<std::string> sentinels() const;
  /// With sentinel_options::tls: "127.0.0.1:TLS_PORT" for each sentinel (else empty).
  std::vector<std::string> tls_sentinels() const;
  /// "127.0.0.1,127.0.0.1,127.0.0.1": hosts only, see the class comment for why that's limited.
  std::string sentinel_hosts_csv() const;
  /// The sentinel processes, in start order.
  std::vector<redis_server*> sentinel_servers();

  /// The two data nodes: [0] started as master, [1] as its replica (roles change on failover).
  std::vector<redis_server*> nodes();

  /// "127.0.0.1:PORT" of the current master, from SENTINEL GET-MASTER-ADDR-BY-NAME on the first
  /// running, unpaused sentinel that answers (the TLS port with sentinel_options::tls). Throws if
  /// none answers.
  std::string master_address();
  /// The node at master_address().
  redis_server& master();
  /// The data node that isn't master() (it may be dead after kill_master()).
  redis_server& replica();

  /// SENTINEL FAILOVER (retried while a sentinel answers INPROG or NOGOODSLAVE), then
  /// wait_for_new_master(). Returns the new master. Throws on timeout.
  redis_server& failover(std::chrono::milliseconds timeout = std::chrono::seconds(30));

  /// SIGKILLs the current master process; returns its address for wait_for_new_master().
  std::string kill_master();

  /// Polls until every running, unpaused sentinel reports the same master, different from
  /// `old_address`, and that node's ROLE says master. Returns it; throws on timeout.
  redis_server& wait_for_new_master(const std::string& old_address, deadline until);
  redis_server& wait_for_new_master(const std::string& old_address,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(30));

  /// The PIDs of all five processes (current or last incarnation): nodes, then sentinels.
  std::vector<pid_t> pids() const;
  /// The topology's temp dir (gone after destruction).
  const std::filesystem::path& dir() const noexcept { return dir_.path(); }

 private:
  std::vector<std::string> sentinel_monitor_config(int master_port) const;
  void wait_ready(deadline until);
  redis_server& node_at(const std::string& address);
  std::vector<redis_server*> all_servers() const;

  sentinel_options options_;
  temp_dir dir_;
  std::vector<std::unique_ptr<redis_server>> nodes_;
  std::vector<std::unique_ptr<redis_server>> sentinels_;
};

// ---------------------------------------------------------------------------------------------
// Cluster

/// Options for cluster_topology.
struct cluster_options {
  int masters = 3;                               ///< at least 3 (redis-cli's minimum)
  int replicas_per_master = 1;                   ///< `--cluster-replicas`
  std::chrono::milliseconds node_timeout{2000};  ///< cluster-node-timeout
  std::chrono::milliseconds ready_timeout{std::chrono::seconds(60)};  ///< start-up bound
  /// Set: every node also listens with TLS, with `tls-cluster yes` (the bus) and
  /// `tls-replication yes`; TLS clients are then told TLS ports (CLUSTER SLOTS, MOVED), while
  /// the helpers here keep using the plain ports.
  std::optional<redis_tls_config> tls{};
};

/// One line of CLUSTER NODES, parsed.
struct cluster_node_view {
  std::string id;                          ///< the 40-character node id
  int port = 0;                            ///< client port (0 for a node without an address)
  std::vector<std::string> flags;          ///< "myself", "master", "slave", "fail?", "fail", ...
  std::string master_id;                   ///< "-" for masters
  bool connected = false;                  ///< link-state
  std::vector<std::pair<int, int>> slots;  ///< inclusive ranges (importing/migrating skipped)

  /// True if `flag` is one of `flags`.
  bool has_flag(std::string_view flag) const;
  bool is_master() const { return has_flag("master"); }
  bool is_replica() const { return has_flag("slave"); }
  /// True if one of `slots` contains `slot`.
  bool owns_slot(int slot) const;
};

/// Parses a CLUSTER NODES reply. Throws std::runtime_error on a malformed line.
std::vector<cluster_node_view> parse_cluster_nodes(std::string_view text);

/// 3 masters and 3 replicas (by default) with cluster-enabled, created with
/// `redis-cli --cluster create ... --cluster-replicas 1 --cluster-yes`.
///
/// The constructor returns once wait_until_ok() holds and every node knows every other node.
/// Role queries ask CLUSTER NODES of the first running, unpaused node that answers, so they
/// reflect the cluster's current view, not the creation order.
class cluster_topology {
 public:
  /// Starts the nodes, runs redis-cli --cluster create and waits (up to ready_timeout) until
  /// every view shows all masters and replicas healthy. Throws std::invalid_argument for fewer
  /// than 3 masters, std::runtime_error (with the relevant log's tail) on failure.
  explicit cluster_topology(cluster_options options = {});
  ~cluster_topology();
  cluster_topology(const cluster_topology&) = delete;
  cluster_topology& operator=(const cluster_topology&) = delete;

  /// Every node, in start order.
  std::vector<redis_server*> nodes();
  /// Nodes flagged master, not failed, that serve at least one slot.
  std::vector<redis_server*> masters();
  /// Nodes flagged slave and not failed.
  std::vector<redis_server*> replicas();
  /// The master a replica follows, or null if `replica` isn't one (in the current view).
  redis_server* master_of(const redis_server& replica);
  /// The master serving `key`'s slot (CLUSTER KEYSLOT, then the slot map).
  redis_server& node_for_key(const std::string& key);
  /// The parsed CLUSTER NODES of the first running, unpaused node that answers.
  std::vector<cluster_node_view> view();

  /// "redis://127.0.0.1:PORT/0" of the first node: a client's seed.
  std::string seed_url() const;
  /// With cluster_options::tls: "127.0.0.1:TLS_PORT" of the first node (else empty).
  std::string seed_tls_address() const;

  /// Process control for one of this topology's nodes (throws std::invalid_argument for a node
  /// from elsewhere). They don't wait; call wait_until_ok() to wait for the cluster to heal.
  void kill(redis_server& node);
  void pause(redis_server& node);
  void resume(redis_server& node);
  void restart(redis_server& node);

  /// CLUSTER FAILOVER on `replica`, then waits until its ROLE says master and wait_until_ok()
  /// holds. Throws on timeout or if the node refuses.
  void failover(redis_server& replica,
                std::chrono::milliseconds timeout = std::chrono::seconds(30));

  /// Polls until, on every running, unpaused node: CLUSTER INFO has cluster_state:ok and all
  /// 16384 slots ok; every slot is served by a running, unpaused node of ours; no running node
  /// is flagged failed; and every running replica whose master runs has its link up. Note that
  /// right after kill() this waits for the failover (the dead master still owns slots). Throws
  /// std::runtime_error with the last observation on timeout.
  void wait_until_ok(deadline until);
  void wait_until_ok(std::chrono::milliseconds timeout = std::chrono::seconds(30));

  /// The PIDs of every node (current or last incarnation), in start order.
  std::vector<pid_t> pids() const;
  /// The topology's temp dir (gone after destruction).
  const std::filesystem::path& dir() const noexcept { return dir_.path(); }

 private:
  redis_server& own(redis_server& node);
  redis_server* node_on_port(int port) const;
  static bool usable(redis_server& node);
  // The first reason the cluster isn't healthy, or nullopt. With `expect_full_roles`, every view
  // must also show all configured masters (with slots) and replicas (creation isn't done before).
  std::optional<detail::topology_problem> health_problem(bool expect_full_roles);

  cluster_options options_;
  temp_dir dir_;
  std::vector<std::unique_ptr<redis_server>> nodes_;
};

}  // namespace owcore::test
