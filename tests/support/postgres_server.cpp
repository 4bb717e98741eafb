#include "support/postgres_server.hpp"

#include <libpq-fe.h>
#include <pwd.h>
#include <unistd.h>

#include <sys/wait.h>

#include <cctype>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <stdexcept>

#include "support/ports.hpp"
#include "support/wait.hpp"

namespace owcore::test {
namespace {

constexpr auto shutdown_grace = std::chrono::seconds(10);
constexpr int start_attempts = 3;

std::filesystem::path find_bindir() {
  if (const char* env = std::getenv("OWCORE_PG_BINDIR"); env != nullptr && *env != '\0') return env;
  const std::filesystem::path preferred = "/usr/lib/postgresql/15/bin";
  if (std::filesystem::exists(preferred / "postgres")) return preferred;
  std::filesystem::path best;
  int best_version = -1;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    const int version = std::atoi(entry.path().filename().c_str());
    if (std::filesystem::exists(entry.path() / "bin" / "postgres") && version > best_version) {
      best_version = version;
      best = entry.path() / "bin";
    }
  }
  if (best.empty()) throw std::runtime_error("postgres_server: no PostgreSQL binaries under /usr/lib/postgresql");
  return best;
}

std::string percent_encode(const std::string& s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

struct conn_deleter {
  void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
struct result_deleter {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};

}  // namespace

postgres_server::postgres_server(postgres_server_options options)
    : options_(std::move(options)),
      bindir_(find_bindir()),
      data_(dir_.path() / "data"),
      log_file_(dir_.path() / "postgres.log") {
  if (::geteuid() == 0) {
    const passwd* pw = ::getpwnam("postgres");
    if (pw == nullptr) throw std::runtime_error("postgres_server: running as root but there is no `postgres` user");
    run_as_.uid = pw->pw_uid;
    run_as_.gid = pw->pw_gid;
    if (::chown(dir_.path().c_str(), pw->pw_uid, pw->pw_gid) != 0)
      throw std::runtime_error("postgres_server: cannot chown " + dir_.path().string());
  }
  std::vector<std::string> initdb{(bindir_ / "initdb").string(), "-D", data_.string(), "-U", "postgres",
                                  "-E", "UTF8", "--no-locale", "--no-sync", "--auth-local=trust"};
  if (options_.password.empty()) {
    initdb.emplace_back("--auth-host=trust");
  } else {
    const auto pwfile = dir_.path() / "pwfile";
    {
      std::ofstream out(pwfile);
      out << options_.password << "\n";
    }
    if (run_as_.uid && ::chown(pwfile.c_str(), *run_as_.uid, *run_as_.gid) != 0)
      throw std::runtime_error("postgres_server: cannot chown " + pwfile.string());
    initdb.emplace_back("--auth-host=scram-sha-256");
    initdb.emplace_back("--pwfile=" + pwfile.string());
  }
  {
    process init(std::move(initdb), log_file_, run_as_);
    const auto status = init.wait_for_exit(options_.start_timeout);
    if (!status || !WIFEXITED(*status) || WEXITSTATUS(*status) != 0)
      throw std::runtime_error(with_log_tail(
          "postgres_server: initdb failed (" + (status ? describe_wait_status(*status) : "timed out") + ")",
          log_file_));
  }
  std::string last_failure = "no start attempt was made";
  for (int attempt = 1; attempt <= start_attempts; ++attempt) {
    port_ = free_port();
    auto failure = launch();
    if (!failure) return;
    last_failure = "attempt " + std::to_string(attempt) + ": " + *failure;
  }
  throw std::runtime_error(with_log_tail("postgres_server: cannot start (" + last_failure + ")", log_file_));
}

postgres_server::~postgres_server() {
  try {
    stop();
  } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor must not throw
  }
}

std::optional<std::string> postgres_server::launch() {
  postmaster_.reset();
  std::vector<std::string> argv{(bindir_ / "postgres").string(),
                                "-D", data_.string(),
                                "-k", dir_.path().string(),
                                "-h", "127.0.0.1",
                                "-p", std::to_string(port_),
                                "-c", "fsync=off",
                                "-c", "synchronous_commit=off",
                                "-c", "full_page_writes=off",
                                "-c", "shared_buffers=16MB",
                                "-c", "max_connections=60"};
  for (const auto& s : options_.settings) {
    argv.emplace_back("-c");
    argv.push_back(s);
  }
  postmaster_.emplace(std::move(argv), log_file_, run_as_);
  // Ready when our own Unix socket (in our private directory) answers: a foreign server that
  // happens to hold the TCP port can't pass this check, and ours exits if it can't bind.
  const std::string local = "host=" + dir_.path().string() + " port=" + std::to_string(port_) +
                            " dbname=postgres user=postgres connect_timeout=2";
  std::optional<std::string> failure;
  const bool ready = poll_until(
      deadline_after(options_.start_timeout),
      [&] {
        if (!postmaster_->alive()) {
          failure = "postgres exited on port " + std::to_string(port_) + " (" +
                    describe_wait_status(postmaster_->exit_status().value_or(-1)) + ")";
          return true;
        }
        return PQping(local.c_str()) == PQPING_OK;
      });
  if (!ready) failure = "no answer on port " + std::to_string(port_) + " within the start timeout";
  if (failure) kill9();
  return failure;
}

std::vector<pid_t> postgres_server::backends() const {
  std::vector<pid_t> out;
  if (!postmaster_) return out;
  const pid_t parent = postmaster_->pid();
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "stat");
    std::string stat;
    std::getline(in, stat);
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so parse after the last ')'.
    const auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    char state = 0;
    long ppid = 0;
    if (std::sscanf(stat.c_str() + close + 1, " %c %ld", &state, &ppid) == 2 && ppid == parent)
      out.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return out;
}

void postgres_server::kill9() {
  if (!postmaster_ || !postmaster_->alive()) return;
  const auto children = backends();
  postmaster_->kill();
  for (pid_t pid : children) ::kill(pid, SIGKILL);
  for (pid_t pid : stopped_backends_) ::kill(pid, SIGKILL);
  stopped_backends_.clear();
}

void postgres_server::sigstop() {
  if (!postmaster_ || !postmaster_->alive()) return;
  postmaster_->pause();
  stopped_backends_ = backends();
  for (pid_t pid : stopped_backends_) ::kill(pid, SIGSTOP);
}

void postgres_server::sigcont() {
  if (!postmaster_) return;
  for (pid_t pid : stopped_backends_) ::kill(pid, SIGCONT);
  stopped_backends_.clear();
  postmaster_->resume();
}

bool postgres_server::alive() { return postmaster_ && postmaster_->alive(); }

void postgres_server::stop() {
  if (!postmaster_ || !postmaster_->alive()) return;
  sigcont();
  postmaster_->signal(SIGINT);  // fast shutdown: SIGTERM (smart) would wait for every client
  if (!postmaster_->wait_for_exit(shutdown_grace)) kill9();
}

void postgres_server::restart() {
  stop();
  // After a crash, backends that outlive the postmaster for a moment keep the shared memory
  // attached and the new postmaster exits; try again until the start timeout.
  const auto until = deadline_after(options_.start_timeout);
  std::optional<std::string> failure;
  do {
    failure = launch();
  } while (failure && remaining(until).count() > 0);
  if (failure) throw std::runtime_error(with_log_tail("postgres_server: restart failed (" + *failure + ")", log_file_));
}

std::string postgres_server::conninfo(const std::string& db, const std::string& user,
                                      const std::string& password) const {
  const std::string auth = percent_encode(user) + (password.empty() ? "" : ":" + percent_encode(password));
  return "postgresql://" + auth + "@127.0.0.1:" + std::to_string(port_) + "/" + percent_encode(db) +
         "?sslmode=disable";
}

std::vector<std::string> postgres_server::exec(const std::string& sql, const std::string& db) const {
  const std::string info = "host=" + dir_.path().string() + " port=" + std::to_string(port_) + " dbname=" + db +
                           " user=postgres connect_timeout=5";
  std::unique_ptr<PGconn, conn_deleter> conn(PQconnectdb(info.c_str()));
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK)
    throw std::runtime_error("postgres_server: connect: " + std::string(conn ? PQerrorMessage(conn.get()) : "oom"));
  std::unique_ptr<PGresult, result_deleter> res(PQexec(conn.get(), sql.c_str()));
  const auto status = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
    throw std::runtime_error("postgres_server: " + sql + ": " + PQerrorMessage(conn.get()));
  std::vector<std::string> out;
  if (status == PGRES_TUPLES_OK && PQnfields(res.get()) > 0)
    for (int i = 0; i < PQntuples(res.get()); ++i) out.emplace_back(PQgetvalue(res.get(), i, 0));
  return out;
}

void postgres_server::create_database(const std::string& name) const {
  std::string quoted = "\"";
  for (char c : name) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  exec("CREATE DATABASE " + quoted + "\"");
}

}  // namespace owcore::test
