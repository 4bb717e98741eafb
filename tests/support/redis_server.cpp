#include "support/redis_server.hpp"

#include <algorithm>
#include <fstream>
#include <stdexcept>
#include <utility>

#include "support/ports.hpp"
#include "support/wait.hpp"

namespace owcore::test {
namespace {

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + '"';
}

}  // namespace

redis_server::redis_server(const std::filesystem::path& parent_dir, std::string name,
                           redis_server_options options)
    : name_(std::move(name)),
      options_(std::move(options)),
      dir_(parent_dir / name_),
      config_file_(dir_ / (options_.sentinel ? "sentinel.conf" : "redis.conf")),
      log_file_(dir_ / "redis.log") {
  std::filesystem::create_directories(dir_);
  if (options_.sentinel) {
    options_.password.clear();
    options_.cluster = false;
    options_.replica_of_port.reset();
  }
  std::string last_failure = "no start attempt was made";
  for (int attempt = 1; attempt <= std::max(options_.start_attempts, 1); ++attempt) {
    port_ = free_port();
    bus_port_ = options_.cluster ? free_port() : 0;
    tls_port_ = options_.tls ? free_port() : 0;
    write_config();
    auto failure = launch();
    if (!failure) return;
    last_failure = "attempt " + std::to_string(attempt) + ": " + *failure;
  }
  throw std::runtime_error(with_log_tail(
      name_ + ": cannot start " + (options_.sentinel ? "redis-sentinel" : "redis-server") + " (" +
          last_failure + ")",
      log_file_));
}

redis_server::~redis_server() = default;

void redis_server::write_config() const {
  std::ofstream out(config_file_, std::ios::trunc);
  out << "bind 127.0.0.1\n"
      << "port " << port_ << "\n"
      << "daemonize no\n"
      << "logfile \"\"\n"
      << "dir " << quote(dir_.string()) << "\n";
  if (!options_.sentinel) {
    out << "save \"\"\n"
        << "appendonly no\n"
        << "repl-diskless-sync-delay 0\n"
        << "shutdown-timeout 0\n";
    if (!options_.password.empty()) {
      out << "requirepass " << quote(options_.password) << "\n"
          << "masterauth " << quote(options_.password) << "\n";
    }
    if (options_.cluster) {
      out << "cluster-enabled yes\n"
          << "cluster-config-file " << quote((dir_ / "nodes.conf").string()) << "\n"
          << "cluster-node-timeout " << options_.cluster_node_timeout.count() << "\n"
          << "cluster-port " << bus_port_ << "\n";
    }
    if (options_.replica_of_port)
      out << "replicaof 127.0.0.1 " << *options_.replica_of_port << "\n";
  }
  if (options_.tls) {
    const auto& t = *options_.tls;
    out << "tls-port " << tls_port_ << "\n"
        << "tls-cert-file " << quote(t.cert_file.string()) << "\n"
        << "tls-key-file " << quote(t.key_file.string()) << "\n"
        << "tls-ca-cert-file " << quote(t.ca_file.string()) << "\n"
        << "tls-auth-clients " << (t.auth_clients ? "yes" : "no") << "\n"
        << "tls-replication yes\n";
    if (options_.cluster) out << "tls-cluster yes\n";
  }
  for (const auto& line : options_.extra_config) out << line << "\n";
  out.flush();
  if (!out) throw std::runtime_error(name_ + ": cannot write " + config_file_.string());
}

std::optional<std::string> redis_server::launch() {
  process_.reset();
  process_.emplace(std::vector<std::string>{options_.sentinel ? "redis-sentinel" : "redis-server",
                                            config_file_.string()},
                   log_file_);
  const pid_t expected = process_->pid();
  const std::string expected_id = std::to_string(expected);
  std::optional<std::string> failure;
  const bool ready = poll_until(
      deadline_after(options_.start_timeout),
      [&] {
        if (!process_->alive()) {
          failure = "the process exited on port " + std::to_string(port_) + " (" +
                    describe_wait_status(process_->exit_status().value_or(-1)) + ")";
          return true;
        }
        // Ask for the PID, not PING: a different server that grabbed the port must not count.
        const auto info = try_command({"INFO", "server"}, std::chrono::milliseconds(500));
        return info && info->is_string() && info_field(info->str, "process_id") == expected_id;
      });
  if (!ready) failure = "no answer on port " + std::to_string(port_) + " within the start timeout";
  if (failure) process_->kill();
  return failure;
}

std::string redis_server::address() const { return "127.0.0.1:" + std::to_string(port_); }

std::string redis_server::tls_address() const {
  return tls_port_ == 0 ? std::string() : "127.0.0.1:" + std::to_string(tls_port_);
}

std::string redis_server::url() const {
  const std::string auth = options_.password.empty() ? "" : ":" + options_.password + "@";
  return "redis://" + auth + address() + "/0";
}

pid_t redis_server::pid() const noexcept { return process_ ? process_->pid() : -1; }

bool redis_server::alive() { return process_ && process_->alive(); }

bool redis_server::paused() const noexcept { return process_ && process_->paused(); }

void redis_server::kill() {
  if (process_) process_->kill();
}

void redis_server::pause() {
  if (process_) process_->pause();
}

void redis_server::resume() {
  if (process_) process_->resume();
}

void redis_server::stop(std::chrono::milliseconds grace) {
  if (process_) process_->stop(grace);
}

void redis_server::restart() {
  stop();
  if (auto failure = launch()) {
    throw std::runtime_error(
        with_log_tail(name_ + ": restart failed (" + *failure + ")", log_file_));
  }
}

redis_connection redis_server::connect(std::chrono::milliseconds timeout) const {
  return redis_connection("127.0.0.1", port_, timeout, options_.password);
}

reply redis_server::command(const std::vector<std::string>& args,
                            std::chrono::milliseconds timeout) const {
  return connect(timeout).command(args);
}

std::optional<reply> redis_server::try_command(const std::vector<std::string>& args,
                                               std::chrono::milliseconds timeout) const noexcept {
  return try_redis_command(port_, args, timeout, options_.password);
}

std::string redis_server::log_tail(std::size_t max_bytes) const {
  return file_tail(log_file_, max_bytes);
}

}  // namespace owcore::test
