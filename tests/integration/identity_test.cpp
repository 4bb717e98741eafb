// Identity from Open WebUI's database through the owcore binary: tokens minted by Python's rules
// (id, jti, iat, exp only), roles and names from "user" rows in a SQLite file and in a real
// PostgreSQL server, both created with Open WebUI's own DDL; the role cache; and every start-up
// failure of the database as exit 2 naming the variable (docs/database.md, docs/identity.md).
#include "owcore/coord/auth/authenticator.hpp"
#include "owcore/coord/auth/jwt.hpp"
#include "support/http_client.hpp"
#include "support/ports.hpp"
#include "support/postgres_server.hpp"
#include "support/process.hpp"
#include "support/wait.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace identity_test {

using namespace owcore::test;
using namespace std::chrono_literals;
namespace auth = owcore::coord::auth;

namespace {

const std::string secret = "identity-test-secret";

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(OWCORE_SOURCE_DIR) + "/tests/fixtures/openwebui/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Users of every kind the identity rules distinguish (times in seconds, as Open WebUI writes them).
const std::string users_sql = R"sql(
INSERT INTO "user" (id, email, name, role, last_active_at, updated_at, created_at) VALUES
  ('adm', 'adm@example.org', 'Ada', 'admin', 1700000000, 1700000000, 1700000000),
  ('usr', 'usr@example.org', 'Bob', 'user', 1700000000, 1700000000, 1700000000),
  ('pen', 'pen@example.org', 'Pat', 'pending', 1700000000, 1700000000, 1700000000),
  ('noname', 'nn@example.org', NULL, 'admin', 1700000000, 1700000000, 1700000000),
  ('nolast', 'nl@example.org', 'Nia', 'admin', NULL, 1700000000, 1700000000);
)sql";

void sqlite_script(const std::filesystem::path& file, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  const std::string msg = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << msg;
}

std::string token_for(const std::string& id) {
  auth::authenticator a(secret, auth::make_memory_revocations());
  return a.mint(id, std::chrono::hours(1));
}

struct owcore_server {
  temp_dir dir{"owcore-identity-"};
  int port = free_port();
  std::optional<process> proc;

  void start(std::vector<std::string> env) {
    std::vector<std::string> argv{"env", "-i", "PATH=/usr/bin:/bin", "WEBUI_SECRET_KEY=" + secret,
                                  "PORT=" + std::to_string(port), "DATA_DIR=" + (dir.path() / "data").string()};
    for (auto& e : env) argv.push_back(std::move(e));
    argv.push_back(OWCORE_BINARY);
    argv.push_back("serve");
    proc.emplace(std::move(argv), dir.path() / "owcore.log");
    if (!wait_for_http(port, "/health", 15s)) FAIL() << "owcore did not start:\n" << proc->log_tail();
  }
  int tasks_status(const std::string& token) {
    http_connection c(port);
    c.send("GET /api/tasks HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer " + token + "\r\n\r\n");
    return c.read_response(20s).status;
  }
};

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit) {
  return poll_until(deadline_after(limit), pred, 50ms);
}

// The statuses Open WebUI's rules give each user (200 admin, 403 user, 401 for the rest), then a
// role change seen within the cache TTL without a restart.
void check_roles(owcore_server& s, const std::function<void(const std::string&)>& run_sql) {
  EXPECT_EQ(s.tasks_status(token_for("adm")), 200);
  EXPECT_EQ(s.tasks_status(token_for("usr")), 403);
  EXPECT_EQ(s.tasks_status(token_for("pen")), 401);
  EXPECT_EQ(s.tasks_status(token_for("missing")), 401);
  EXPECT_EQ(s.tasks_status(token_for("noname")), 401);
  EXPECT_EQ(s.tasks_status(token_for("nolast")), 401);
  // A name/role claim in the token grants nothing: forge one with the right secret.
  boost::json::object forged{{"id", "usr"}, {"role", "admin"}, {"name", "Root"}, {"jti", "j"}};
  EXPECT_EQ(s.tasks_status(auth::sign_hs256(forged, secret)), 403);

  run_sql("UPDATE \"user\" SET role = 'admin' WHERE id = 'usr'");
  EXPECT_TRUE(eventually([&] { return s.tasks_status(token_for("usr")) == 200; }, 5s));
  run_sql("UPDATE \"user\" SET role = 'user' WHERE id = 'adm'");
  EXPECT_TRUE(eventually([&] { return s.tasks_status(token_for("adm")) == 403; }, 5s));
  run_sql("DELETE FROM \"user\" WHERE id = 'usr'");
  EXPECT_TRUE(eventually([&] { return s.tasks_status(token_for("usr")) == 401; }, 5s));
}

int run_to_exit(const temp_dir& dir, std::vector<std::string> env, std::vector<std::string> args, std::string* log,
                const std::string& name = "run.log") {
  std::vector<std::string> argv{"env", "-i", "PATH=/usr/bin:/bin", "WEBUI_SECRET_KEY=" + secret,
                                "PORT=" + std::to_string(free_port()), "DATA_DIR=" + (dir.path() / "data").string()};
  for (auto& e : env) argv.push_back(std::move(e));
  argv.push_back(OWCORE_BINARY);
  for (auto& a : args) argv.push_back(std::move(a));
  process p(std::move(argv), dir.path() / name);
  auto st = p.wait_for_exit(40s);
  if (log) *log = p.log_tail();
  if (!st) return -1;
  return WIFEXITED(*st) ? WEXITSTATUS(*st) : -2;
}

// owcore serve must exit 2 with a line naming `variable` (and containing `why`).
void expect_startup_failure(std::vector<std::string> env, const std::string& variable, const std::string& why) {
  temp_dir dir("owcore-dbfail-");
  std::string log;
  EXPECT_EQ(run_to_exit(dir, std::move(env), {"serve"}, &log), 2) << log;
  EXPECT_NE(log.find(variable + ":"), std::string::npos) << log;
  EXPECT_NE(log.find(why), std::string::npos) << log;
}

}  // namespace

TEST(Identity, RolesFromSqliteOpenWebuiDatabase) {
  owcore_server s;
  const auto file = s.dir.path() / "webui.db";
  sqlite_script(file, fixture("schema.sql") + users_sql);
  s.start({"DATABASE_URL=sqlite:///" + file.string(), "OWCORE_USER_CACHE_TTL=0.5"});
  check_roles(s, [&](const std::string& sql) { sqlite_script(file, sql); });
}

TEST(Identity, RolesFromPostgresOpenWebuiDatabase) {
  postgres_server pg;
  pg.create_database("owui");
  pg.exec(fixture("schema.sql") + users_sql, "owui");
  owcore_server s;
  s.start({"DATABASE_URL=" + pg.superuser_conninfo("owui"), "OWCORE_USER_CACHE_TTL=0.5"});
  check_roles(s, [&](const std::string& sql) { pg.exec(sql, "owui"); });
}

TEST(Identity, PostgresOutageIsAnErrorReplyThenRecovers) {
  postgres_server pg;
  pg.create_database("owui");
  pg.exec(fixture("schema.sql") + users_sql, "owui");
  owcore_server s;
  s.start({"DATABASE_URL=" + pg.superuser_conninfo("owui"), "OWCORE_USER_CACHE_TTL=0",
           "OWCORE_DB_STATEMENT_TIMEOUT=1", "OWCORE_DB_CONNECT_TIMEOUT=1", "DATABASE_POOL_TIMEOUT=2"});
  EXPECT_EQ(s.tasks_status(token_for("adm")), 200);
  // A hung server: the request fails within the deadlines (503), never hangs.
  pg.sigstop();
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(s.tasks_status(token_for("adm")), 503);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 15s);
  pg.sigcont();
  EXPECT_TRUE(eventually([&] { return s.tasks_status(token_for("adm")) == 200; }, 30s));
  // A crash and a restart: errors while it is down, service again after. (The test server runs
  // with fsync and synchronous_commit off for speed; a checkpoint first keeps the tables.)
  pg.exec("CHECKPOINT", "owui");
  pg.kill9();
  EXPECT_EQ(s.tasks_status(token_for("adm")), 503);
  pg.restart();
  EXPECT_TRUE(eventually([&] { return s.tasks_status(token_for("adm")) == 200; }, 30s)) << s.proc->log_tail();
  EXPECT_TRUE(s.proc->alive());
}

TEST(Identity, StandaloneOwnedDatabaseAndUserCommands) {
  temp_dir dir("owcore-owned-");
  std::string log;
  ASSERT_EQ(run_to_exit(dir, {}, {"user", "add", "--name", "Ada", "--email", "ada@example.org", "--role", "admin",
                                  "--id", "ada"}, &log), 0) << log;
  EXPECT_NE(log.find("id: ada"), std::string::npos) << log;
  EXPECT_NE(log.find("token: ey"), std::string::npos) << log;
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "data" / "owcore.db"));
  // The same e-mail in another case is refused (Open WebUI's unique index on lower(email)).
  EXPECT_EQ(run_to_exit(dir, {}, {"user", "add", "--name", "A2", "--email", "ADA@example.org", "--role", "user"},
                        &log, "dup.log"), 1) << log;
  EXPECT_EQ(run_to_exit(dir, {}, {"user", "add", "--name", "X", "--email", "x@example.org", "--role", "owner"}, &log,
                        "badrole.log"), 2) << log;
  ASSERT_EQ(run_to_exit(dir, {}, {"user", "list"}, &log, "list.log"), 0) << log;
  EXPECT_NE(log.find("ada\tadmin\tada@example.org\tAda"), std::string::npos) << log;
  // Never on Open WebUI's database.
  const auto webui = dir.path() / "webui.db";
  sqlite_script(webui, fixture("schema.sql"));
  EXPECT_EQ(run_to_exit(dir, {"DATABASE_URL=sqlite:///" + webui.string()},
                        {"user", "add", "--name", "E", "--email", "e@example.org", "--role", "admin"}, &log,
                        "refused.log"), 2) << log;
  EXPECT_NE(log.find("Open WebUI's database"), std::string::npos) << log;
}

TEST(Identity, DoctorAndConfigShowTheDatabase) {
  temp_dir dir("owcore-dbdoctor-");
  const auto webui = dir.path() / "webui.db";
  sqlite_script(webui, fixture("schema.sql"));
  std::string log;
  EXPECT_EQ(run_to_exit(dir, {"DATABASE_URL=sqlite:///" + webui.string()}, {"doctor"}, &log), 0) << log;
  EXPECT_NE(log.find("schema      f0bd01a18a3d (known)"), std::string::npos) << log;
  EXPECT_NE(log.find("latency"), std::string::npos) << log;
  EXPECT_EQ(run_to_exit(dir, {"DATABASE_URL=postgresql://u:hunter2@127.0.0.1:1/db"}, {"config"}, &log, "config.log"),
            0) << log;
  EXPECT_NE(log.find("postgresql://u:***@127.0.0.1:1/db"), std::string::npos) << log;
  EXPECT_EQ(log.find("hunter2"), std::string::npos) << log;
  EXPECT_EQ(run_to_exit(dir, {"DATABASE_URL=postgresql://u:hunter2@127.0.0.1:" + std::to_string(free_port()) + "/db"},
                        {"doctor"}, &log, "doctor-down.log"), 2) << log;
  EXPECT_EQ(log.find("hunter2"), std::string::npos) << log;
}

TEST(Identity, BadDatabaseConfigurationsExitTwo) {
  expect_startup_failure({"DATABASE_URL=mysql://u:p@127.0.0.1/db"}, "DATABASE_URL", "not supported");
  expect_startup_failure({"DATABASE_URL=garbage"}, "DATABASE_URL", "not a URL");
  expect_startup_failure({"DATABASE_TYPE=sqlite+sqlcipher"}, "DATABASE_TYPE", "SQLCipher");
  expect_startup_failure({"DATABASE_ENABLE_IAM_TOKEN_AUTH=true"}, "DATABASE_ENABLE_IAM_TOKEN_AUTH", "not supported");
  expect_startup_failure({"DATABASE_URL=sqlite:////nonexistent/dir/webui.db"}, "DATABASE_URL", "no database file");
  expect_startup_failure({"DATABASE_URL=postgresql://postgres@127.0.0.1:" + std::to_string(free_port()) + "/db",
                          "OWCORE_DB_CONNECT_TIMEOUT=2"},
                         "DATABASE_URL", "unreachable");
}

TEST(Identity, BadDatabasesExitTwo) {
  temp_dir dir("owcore-baddb-");
  // Not a database at all.
  const auto junk = dir.path() / "junk.db";
  { std::ofstream(junk) << std::string(4096, 'x'); }
  expect_startup_failure({"DATABASE_URL=sqlite:///" + junk.string()}, "DATABASE_URL", "not a database");
  // A database from before the access_grant migration (notes and channels had access_control).
  const auto old = dir.path() / "old.db";
  sqlite_script(old, "CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY);"
                     "INSERT INTO alembic_version VALUES ('3781e22d8b01');"
                     "CREATE TABLE \"user\" (id VARCHAR PRIMARY KEY);"
                     "CREATE TABLE note (id TEXT PRIMARY KEY, access_control JSON);");
  expect_startup_failure({"DATABASE_URL=sqlite:///" + old.string()}, "DATABASE_URL", "predates the access_grant");
  // Not an Open WebUI database.
  const auto other = dir.path() / "other.db";
  sqlite_script(other, "CREATE TABLE t (x);");
  expect_startup_failure({"DATABASE_URL=sqlite:///" + other.string()}, "DATABASE_URL", "alembic_version");
  // A file locked by another writer past busy_timeout.
  const auto locked = dir.path() / "locked.db";
  sqlite_script(locked, fixture("schema.sql"));
  sqlite3* holder = nullptr;
  ASSERT_EQ(sqlite3_open(locked.c_str(), &holder), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(holder, "PRAGMA journal_mode=DELETE; BEGIN EXCLUSIVE;", nullptr, nullptr, nullptr), SQLITE_OK);
  expect_startup_failure({"DATABASE_URL=sqlite:///" + locked.string(), "DATABASE_SQLITE_PRAGMA_BUSY_TIMEOUT=300"},
                         "DATABASE_URL", "locked");
  sqlite3_exec(holder, "ROLLBACK;", nullptr, nullptr, nullptr);
  sqlite3_close(holder);
}

TEST(Identity, PostgresWrongPasswordAndPreGrantsSchemaExitTwo) {
  postgres_server_options o;
  o.password = "right-password";
  postgres_server pg(o);
  pg.create_database("owui");
  pg.exec(fixture("schema.sql"), "owui");
  expect_startup_failure({"DATABASE_URL=" + pg.conninfo("owui", "postgres", "wrong-password")}, "DATABASE_URL",
                         "authentication");
  expect_startup_failure({"DATABASE_TYPE=postgresql", "DATABASE_USER=postgres", "DATABASE_PASSWORD=wrong",
                          "DATABASE_HOST=127.0.0.1", "DATABASE_PORT=" + std::to_string(pg.port()),
                          "DATABASE_NAME=owui"},
                         "DATABASE_TYPE", "authentication");
  pg.exec("DROP TABLE access_grant", "owui");
  expect_startup_failure({"DATABASE_URL=" + pg.superuser_conninfo("owui")}, "DATABASE_URL",
                         "predates the access_grant");
  // DATABASE_SCHEMA: Open WebUI's tables in their own schema.
  pg.exec("CREATE SCHEMA owui_s", "owui");
  pg.exec("SET search_path TO owui_s; " + fixture("schema.sql") + users_sql, "owui");
  owcore_server s;
  s.start({"DATABASE_URL=" + pg.superuser_conninfo("owui"), "DATABASE_SCHEMA=owui_s"});
  EXPECT_EQ(s.tasks_status(token_for("adm")), 200);
  EXPECT_EQ(s.tasks_status(token_for("usr")), 403);
}

}  // namespace identity_test
