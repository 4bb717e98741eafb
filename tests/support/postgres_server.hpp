// A private PostgreSQL server for integration tests: initdb in a temp dir, postgres on a free
// loopback port, stopped by PID.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace owcore::test {

struct postgres_server_options {
  /// Password of the superuser `postgres`; empty = trust authentication (no password needed).
  /// With a password, TCP logins use scram-sha-256 and the Unix socket stays on trust.
  std::string password;
  /// Bound on initdb and on each wait for the server to accept connections.
  std::chrono::milliseconds start_timeout{30000};
  /// Extra `-c name=value` settings for the server.
  std::vector<std::string> settings;
};

/// One PostgreSQL server (the binaries of `$OWCORE_PG_BINDIR`, /usr/lib/postgresql/15/bin or the
/// newest /usr/lib/postgresql/N/bin) with its own data directory under /tmp.
///
/// - Listens on 127.0.0.1 only (plus a Unix socket in its directory), on a port from free_port();
///   a start that loses the port race is retried on a new port.
/// - As root, the directory is handed to the `postgres` system user and initdb/postgres run as that
///   user (PostgreSQL refuses to run as root); otherwise they run as the current user.
/// - The server dies with the test (PR_SET_PDEATHSIG); the destructor stops it (fast shutdown,
///   then SIGKILL to it and its backends) and removes the directory.
///
/// Blocking helpers (exec, create_database) use libpq's blocking calls: test threads only, never
/// an event loop. Not thread-safe; not copyable or movable.
class postgres_server {
 public:
  /// Runs initdb and starts the server. Throws std::runtime_error with the log's tail on failure.
  explicit postgres_server(postgres_server_options options = {});
  ~postgres_server();
  postgres_server(const postgres_server&) = delete;
  postgres_server& operator=(const postgres_server&) = delete;

  /// The TCP port; the same across restart().
  int port() const noexcept { return port_; }

  /// `postgresql://user[:password]@127.0.0.1:PORT/db?sslmode=disable`. An empty `password`
  /// means none in the URI.
  std::string conninfo(const std::string& db = "postgres", const std::string& user = "postgres",
                       const std::string& password = {}) const;

  /// conninfo() with the superuser's configured password.
  std::string superuser_conninfo(const std::string& db = "postgres") const {
    return conninfo(db, "postgres", options_.password);
  }

  /// Runs `sql` (a simple query, several statements allowed) in `db` as the superuser over the
  /// Unix socket; returns the first column of the last result's rows. Throws on any error.
  std::vector<std::string> exec(const std::string& sql, const std::string& db = "postgres") const;

  /// CREATE DATABASE with a quoted identifier.
  void create_database(const std::string& name) const;

  /// SIGKILL the postmaster and its backends: a crash. The data stays for restart().
  void kill9();

  /// SIGSTOP the postmaster and every backend: a hung server (the kernel still accepts TCP).
  void sigstop();

  /// SIGCONT after sigstop().
  void sigcont();

  /// Stops the server if it runs (fast shutdown), then starts it on the same port and data.
  /// Waits until it accepts connections; throws std::runtime_error with the log's tail otherwise.
  void restart();

  /// True while the postmaster runs.
  bool alive();

  const std::filesystem::path& log_file() const noexcept { return log_file_; }

 private:
  std::optional<std::string> launch();
  void stop();
  std::vector<pid_t> backends() const;

  postgres_server_options options_;
  temp_dir dir_{"owcore-pg-"};
  std::filesystem::path bindir_;
  std::filesystem::path data_;
  std::filesystem::path log_file_;
  process_options run_as_;
  int port_ = 0;
  std::optional<process> postmaster_;
  std::vector<pid_t> stopped_backends_;
};

}  // namespace owcore::test
