// One redis-server or redis-sentinel process on a free loopback port, for integration tests.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "support/process.hpp"
#include "support/redis_client.hpp"

namespace owcore::test {

/// TLS for one server or sentinel (Redis's tls-* settings). The plain `port` stays open beside the
/// TLS port, so the test helpers (redis_client.hpp speaks plain TCP) keep working; Redis reports
/// the TLS ports to TLS clients (CLUSTER SLOTS/NODES, MOVED) and the plain ones to plain clients.
struct redis_tls_config {
  std::filesystem::path cert_file;  ///< tls-cert-file (also the client certificate of its links)
  std::filesystem::path key_file;   ///< tls-key-file
  std::filesystem::path ca_file;    ///< tls-ca-cert-file
  bool auth_clients = true;         ///< tls-auth-clients yes|no (Redis's default: yes)
};

/// How to configure and start one server. The defaults give a plain, empty, non-persistent
/// redis-server that only listens on 127.0.0.1.
struct redis_server_options {
  /// Run `redis-sentinel` instead of `redis-server`; the caller supplies the `sentinel ...`
  /// lines in extra_config. password, cluster and replica_of_port are ignored for sentinels.
  bool sentinel = false;

  /// Non-empty: `requirepass` and `masterauth` are set to it, and every helper AUTHs with it.
  std::string password;

  /// `cluster-enabled yes` with the node's own `cluster-config-file` (nodes.conf in its dir) and
  /// its own cluster bus port (`cluster-port`, also taken from free_port()).
  bool cluster = false;

  /// `cluster-node-timeout`, when `cluster` is set. Small, so failovers are quick in tests.
  std::chrono::milliseconds cluster_node_timeout{2000};

  /// Set: `replicaof 127.0.0.1 <port>`.
  std::optional<int> replica_of_port;

  /// Set: also `tls-port` (another free port) with these files, and `tls-replication yes` (a
  /// replica's link, a sentinel's links), and for cluster nodes `tls-cluster yes`.
  std::optional<redis_tls_config> tls{};

  /// Raw config lines appended after the generated ones (later lines win in Redis configs).
  std::vector<std::string> extra_config;

  /// How long one start attempt may take before the server must answer.
  std::chrono::milliseconds start_timeout{std::chrono::seconds(10)};

  /// Start attempts, each on new free ports, before the constructor gives up.
  int start_attempts = 4;
};

/// A redis-server (or redis-sentinel) child process with a generated config file.
///
/// Files live in `<parent_dir>/<name>/`: `redis.conf` (or `sentinel.conf`), `redis.log` (the
/// process's stdout and stderr, appended across restarts), and the data dir (`dir` points here,
/// so cluster nodes keep their nodes.conf here).
///
/// Start-up: the constructor picks free ports, writes the config and starts the process, then
/// polls (every 25 ms, up to start_timeout) until `INFO server` on the port answers with *this*
/// process's `process_id`, so a foreign server that took the port is never mistaken for ours.
/// If the process exits or never answers, it is killed and the start is retried on new ports
/// (start_attempts times); the final failure throws std::runtime_error with the log's tail.
///
/// Generated config: `bind 127.0.0.1`, `port`, `daemonize no`, `logfile ""`, `dir`, and for
/// servers also `save ""`, `appendonly no`, `repl-diskless-sync-delay 0` (replicas sync at once
/// instead of waiting 5 s for company) and `shutdown-timeout 0` (SIGTERM doesn't wait for
/// replicas; needs Redis >= 7.0).
///
/// Stopping is by PID only. The destructor stops the process gracefully (SIGTERM, then SIGKILL
/// after 5 s) and reaps it; it does not remove the directory (the owning topology's temp_dir
/// does). Not thread-safe; not copyable or movable (topologies hand out references to it).
class redis_server {
 public:
  /// Creates `<parent_dir>/<name>/` and starts the server. Throws std::runtime_error (with the
  /// log's tail) if it can't be started.
  redis_server(const std::filesystem::path& parent_dir, std::string name,
               redis_server_options options = {});
  ~redis_server();
  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  /// The name given at construction, e.g. "node-0".
  const std::string& name() const noexcept { return name_; }

  /// The client port. Fixed after construction, also across restart().
  int port() const noexcept { return port_; }

  /// The TLS client port, or 0 without TLS. Fixed after construction, also across restart().
  int tls_port() const noexcept { return tls_port_; }

  /// "127.0.0.1:TLS_PORT" (empty without TLS).
  std::string tls_address() const;

  /// The cluster bus port, or 0 if this isn't a cluster node.
  int cluster_bus_port() const noexcept { return bus_port_; }

  /// "127.0.0.1:PORT".
  std::string address() const;

  /// "redis://127.0.0.1:PORT/0", with ":password@" when a password is set.
  std::string url() const;

  /// The password (empty if none).
  const std::string& password() const noexcept { return options_.password; }

  /// True for a redis-sentinel process.
  bool is_sentinel() const noexcept { return options_.sentinel; }

  /// PID of the current (or, after kill()/stop(), the last) process. Changes on restart().
  pid_t pid() const noexcept;

  /// True while the process runs (paused counts as running). Reaps it if it has exited.
  bool alive();

  /// True between pause() and resume().
  bool paused() const noexcept;

  /// SIGKILL and reap: a crash. The port and files stay reserved for restart().
  void kill();

  /// SIGSTOP: the server hangs (connections are accepted by the kernel, nothing answers).
  void pause();

  /// SIGCONT after pause().
  void resume();

  /// Graceful stop (SIGTERM; SIGKILL after `grace`), then reap.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(5));

  /// Stops the process if it still runs, then starts it again on the same port(s) with the same
  /// config file and dir (so a cluster node keeps its nodes.conf identity, a sentinel its
  /// rewritten config). Waits until it answers like the constructor, but with one attempt: the
  /// port can't change. Throws std::runtime_error with the log's tail on failure. Note: a
  /// server's config is not rewritten by Redis, so a `replicaof` line from construction applies
  /// again after a restart.
  void restart();

  /// A new connection (AUTHed if a password is set). Throws like redis_connection.
  redis_connection connect(std::chrono::milliseconds timeout = std::chrono::seconds(2)) const;

  /// One command on a fresh connection. Throws on I/O errors and timeouts; Redis errors come back
  /// as reply::kind::error.
  reply command(const std::vector<std::string>& args,
                std::chrono::milliseconds timeout = std::chrono::seconds(2)) const;

  /// Like command() but nullopt when the server can't be reached or doesn't answer in time.
  std::optional<reply> try_command(
      const std::vector<std::string>& args,
      std::chrono::milliseconds timeout = std::chrono::seconds(2)) const noexcept;

  /// The server's directory, config file and log file.
  const std::filesystem::path& dir() const noexcept { return dir_; }
  const std::filesystem::path& config_file() const noexcept { return config_file_; }
  const std::filesystem::path& log_file() const noexcept { return log_file_; }

  /// file_tail(log_file(), max_bytes).
  std::string log_tail(std::size_t max_bytes = 4096) const;

  /// The underlying process, for stop_all(); null before the first start.
  process* child() noexcept { return process_ ? &*process_ : nullptr; }

 private:
  void write_config() const;
  // Starts the process and waits for it; on failure kills it and returns the reason.
  std::optional<std::string> launch();

  std::string name_;
  redis_server_options options_;
  std::filesystem::path dir_;
  std::filesystem::path config_file_;
  std::filesystem::path log_file_;
  int port_ = 0;
  int tls_port_ = 0;
  int bus_port_ = 0;
  std::optional<process> process_;
};

}  // namespace owcore::test
