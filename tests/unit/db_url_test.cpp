// Unit tests of the db layer's pure parts: DATABASE_URL as Open WebUI forms it, its translation to
// driver options, cell conversions, placeholders, and Python's has_permission path rule; plus the
// DATABASE_* settings (docs/database.md).

#include "owcore/app/database_wiring.hpp"
#include "owcore/app/settings.hpp"
#include "owcore/db/database.hpp"
#include "owcore/db/queries.hpp"
#include "owcore/db/schema.hpp"
#include "owcore/db/url.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include <unistd.h>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace db_url_test {

namespace {

namespace db = owcore::db;
namespace app = owcore::app;

db::url_inputs inputs() {
  db::url_inputs in;
  in.data_dir = "/srv/data";
  return in;
}

db::options parsed(std::string_view url) {
  auto r = db::parse_database_url(url);
  if (auto* e = std::get_if<std::string>(&r)) ADD_FAILURE() << url << ": " << *e;
  return std::get_if<db::options>(&r) ? std::get<db::options>(r) : db::options{};
}

std::string refused(std::string_view url) {
  auto r = db::parse_database_url(url);
  EXPECT_TRUE(std::holds_alternative<std::string>(r)) << url;
  return std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : "";
}

TEST(DbUrl, DefaultIsSqliteInDataDir) {
  auto f = db::form_url(inputs());
  EXPECT_EQ(f.url, "sqlite:////srv/data/webui.db");
  EXPECT_TRUE(f.is_default);
  EXPECT_EQ(f.variable, "DATABASE_URL");
  EXPECT_EQ(parsed(f.url).sqlite_path, "/srv/data/webui.db");
}

TEST(DbUrl, ExplicitUrlWins) {
  auto in = inputs();
  in.database_url = "postgres://u:p@db:5432/owui";
  auto f = db::form_url(in);
  EXPECT_EQ(f.url, "postgresql://u:p@db:5432/owui");  // postgres:// rewritten
  EXPECT_FALSE(f.is_default);
}

TEST(DbUrl, PartsOverrideOnlyWhenAllAreSet) {
  auto in = inputs();
  in.database_url = "sqlite:///x.db";
  in.type = "postgresql";
  in.user = "u";
  in.password = "p@ss";  // not encoded: Open WebUI leaves that to the user
  in.host = "h";
  in.port = "5433";
  in.name = "n";
  auto f = db::form_url(in);
  EXPECT_EQ(f.url, "postgresql://u:p@ss@h:5433/n");
  EXPECT_EQ(f.variable, "DATABASE_TYPE");
  in.port.clear();
  EXPECT_EQ(db::form_url(in).url, "sqlite:///x.db");
  in.port = "5433";
  in.password.clear();  // the credentials are the user alone
  EXPECT_EQ(db::form_url(in).url, "postgresql://u@h:5433/n");
  in.user.clear();  // no credentials at all: not all parts set
  EXPECT_EQ(db::form_url(in).url, "sqlite:///x.db");
}

TEST(DbUrl, SqlcipherTypeWithoutUrl) {
  auto in = inputs();
  in.type = "sqlite+sqlcipher";
  auto f = db::form_url(in);
  EXPECT_EQ(f.url, "sqlite+sqlcipher:////srv/data/webui.db");
  EXPECT_NE(refused(f.url).find("SQLCipher"), std::string::npos);
}

TEST(DbUrl, SqliteForms) {
  EXPECT_EQ(parsed("sqlite:///relative/web.db").sqlite_path, "relative/web.db");
  EXPECT_EQ(parsed("sqlite:////abs/web.db").sqlite_path, "/abs/web.db");
  EXPECT_EQ(parsed("sqlite+aiosqlite:////abs/web.db?timeout=5").sqlite_path, "/abs/web.db");
  EXPECT_EQ(parsed("SQLITE:////abs/web.db").kind, db::dialect::sqlite);
  refused("sqlite://");
  refused("sqlite:///:memory:");
  refused("sqlite+pysqlcipher:////x.db");
}

TEST(DbUrl, PostgresDriverSuffixStrippedAndSslNormalised) {
  auto o = parsed("postgresql+psycopg2://u:pw@h:5432/db?ssl=require&sslrootcert=/ca.pem&application_name=x");
  EXPECT_EQ(o.kind, db::dialect::postgresql);
  EXPECT_EQ(o.conninfo, "postgresql://u:pw@h:5432/db?sslmode=require&sslrootcert=/ca.pem&application_name=x");
  EXPECT_EQ(parsed("postgresql+asyncpg://h/db").conninfo, "postgresql://h/db");
  EXPECT_EQ(parsed("postgresql+psycopg://h/db?sslmode=verify-full").conninfo, "postgresql://h/db?sslmode=verify-full");
  refused("postgresql+pg9000://h/db");
}

TEST(DbUrl, OtherSchemesAndGarbageAreRefused) {
  EXPECT_NE(refused("mysql://u:p@h/db").find("not supported"), std::string::npos);
  refused("oracle+cx_oracle://h/db");
  refused("not a url");
  refused("");
  refused("://x");
  refused("postgresql://u:p w@h/db");  // a space in the password, unencoded
}

TEST(DbUrl, PragmaValues) {
  EXPECT_TRUE(db::valid_pragma_value("WAL"));
  EXPECT_TRUE(db::valid_pragma_value("-65536"));
  EXPECT_TRUE(db::valid_pragma_value("268435456"));
  EXPECT_FALSE(db::valid_pragma_value(""));
  EXPECT_FALSE(db::valid_pragma_value("WAL; DROP TABLE user"));
  EXPECT_FALSE(db::valid_pragma_value("1 2"));
  EXPECT_FALSE(db::valid_pragma_value(std::string(33, '1')));
}

TEST(DbCells, IntsAndBools) {
  using c = std::optional<std::string>;
  EXPECT_EQ(db::as_int(c("1712345678")), 1712345678);
  EXPECT_EQ(db::as_int(c("-5")), -5);
  EXPECT_EQ(db::as_int(c("1712345678.0")), 1712345678);  // REAL in an old SQLite row
  EXPECT_FALSE(db::as_int(c("12abc")));
  EXPECT_FALSE(db::as_int(c("")));
  EXPECT_FALSE(db::as_int(std::nullopt));
  EXPECT_FALSE(db::as_int(c("1e300")));
  EXPECT_EQ(db::as_bool(c("t")), true);
  EXPECT_EQ(db::as_bool(c("1")), true);
  EXPECT_EQ(db::as_bool(c("TRUE")), true);
  EXPECT_EQ(db::as_bool(c("f")), false);
  EXPECT_EQ(db::as_bool(c("0")), false);
  EXPECT_FALSE(db::as_bool(c("maybe")));
  EXPECT_FALSE(db::as_bool(std::nullopt));
}

TEST(DbSql, SqlitePlaceholders) {
  EXPECT_EQ(db::sqlite_placeholders("SELECT $1, $12 FROM t WHERE a = $2"), "SELECT ?1, ?12 FROM t WHERE a = ?2");
  EXPECT_EQ(db::sqlite_placeholders("SELECT '$1', \"$2\" FROM t WHERE x = $3"), "SELECT '$1', \"$2\" FROM t WHERE x = ?3");
  EXPECT_EQ(db::sqlite_placeholders("json_extract(meta, '$.a') = $1"), "json_extract(meta, '$.a') = ?1");
  EXPECT_EQ(db::sqlite_placeholders("a $ b"), "a $ b");
}

TEST(DbSchema, KnownHeads) {
  EXPECT_TRUE(db::known_head("f0bd01a18a3d"));
  EXPECT_TRUE(db::known_head("d4c1a8e37b62"));
  EXPECT_FALSE(db::known_head("f1e2d3c4b5a6"));  // the access_grant migration itself is older than 0.11.0
  EXPECT_FALSE(db::known_head(""));
}

// --- settings and the plan ---

app::env_lookup env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

bool has_issue(const std::vector<app::setting_issue>& v, std::string_view variable) {
  for (const auto& i : v)
    if (i.variable == variable) return true;
  return false;
}

TEST(DbSettings, Defaults) {
  auto s = app::load_settings(env({{"DATA_DIR", "/srv/d"}}));
  EXPECT_TRUE(s.errors.empty());
  EXPECT_EQ(s.database.url, "sqlite:////srv/d/webui.db");
  EXPECT_TRUE(s.database.url_is_default);
  EXPECT_TRUE(s.database.sqlite_wal);
  EXPECT_EQ(s.database.sqlite_busy_timeout, "5000");
  EXPECT_EQ(s.database.sqlite_cache_size, "-65536");
  EXPECT_EQ(s.database.pool_size, 5);
  EXPECT_EQ(s.database.writes, "all");
  EXPECT_TRUE(s.database.default_features_channels);
  EXPECT_FALSE(s.database.user_active_interval_s);
  auto j = app::to_json(s);
  EXPECT_EQ(j.at("DATABASE_URL").as_string(), "sqlite:////srv/d/webui.db");
  EXPECT_EQ(j.at("OWCORE_DB_WRITES").as_string(), "all");
}

TEST(DbSettings, RelativeDataDirIsResolved) {
  auto s = app::load_settings(env({{"DATA_DIR", "rel/d/"}}));
  const auto expected = "sqlite:///" + (std::filesystem::current_path() / "rel/d").lexically_normal().string() + "/webui.db";
  EXPECT_EQ(s.database.url, expected);
}

TEST(DbSettings, PasswordMaskedInConfig) {
  auto s = app::load_settings(env({{"DATABASE_URL", "postgresql://u:secret@h/db"}}));
  EXPECT_EQ(std::string(app::to_json(s).at("DATABASE_URL").as_string()), "postgresql://u:***@h/db");
}

TEST(DbSettings, MalformedValues) {
  auto s = app::load_settings(env({{"DATABASE_SQLITE_PRAGMA_SYNCHRONOUS", "OFF; DROP TABLE x"},
                                   {"OWCORE_DB_WRITES", "some"},
                                   {"DATABASE_ENABLE_IAM_TOKEN_AUTH", "true"},
                                   {"DATABASE_POOL_SIZE", "many"},
                                   {"DATABASE_USER_ACTIVE_STATUS_UPDATE_INTERVAL", "-3"},
                                   {"OWCORE_USER_CACHE_TTL", "600"}}));
  EXPECT_TRUE(has_issue(s.errors, "DATABASE_SQLITE_PRAGMA_SYNCHRONOUS"));
  EXPECT_TRUE(has_issue(s.errors, "OWCORE_DB_WRITES"));
  EXPECT_TRUE(has_issue(s.errors, "DATABASE_ENABLE_IAM_TOKEN_AUTH"));
  EXPECT_TRUE(has_issue(s.warnings, "DATABASE_POOL_SIZE"));
  EXPECT_TRUE(has_issue(s.warnings, "DATABASE_USER_ACTIVE_STATUS_UPDATE_INTERVAL"));
  EXPECT_TRUE(has_issue(s.warnings, "OWCORE_USER_CACHE_TTL"));
  EXPECT_EQ(s.database.pool_size, 5);
  EXPECT_EQ(s.database.user_cache_ttl_s, 3);
}

TEST(DbSettings, EmptyPragmaSkipsIt) {
  auto s = app::load_settings(env({{"DATABASE_SQLITE_PRAGMA_MMAP_SIZE", ""}, {"DATABASE_ENABLE_SQLITE_WAL", "false"}}));
  EXPECT_TRUE(s.errors.empty());
  EXPECT_EQ(s.database.sqlite_mmap_size, "");
  EXPECT_FALSE(s.database.sqlite_wal);
}

TEST(DbPlan, OwnedDatabaseOnlyWhenNothingIsConfiguredAndNoWebuiDb) {
  const auto dir = std::filesystem::temp_directory_path() / ("owcore-plan-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto plan = app::plan_database(app::load_settings(env({{"DATA_DIR", dir.string()}})));
  ASSERT_TRUE(std::holds_alternative<app::database_plan>(plan));
  EXPECT_TRUE(std::get<app::database_plan>(plan).owned);
  EXPECT_EQ(std::get<app::database_plan>(plan).options.sqlite_path, (dir / "owcore.db").string());
  { std::ofstream((dir / "webui.db").string()) << ""; }
  plan = app::plan_database(app::load_settings(env({{"DATA_DIR", dir.string()}})));
  ASSERT_TRUE(std::holds_alternative<app::database_plan>(plan));
  EXPECT_FALSE(std::get<app::database_plan>(plan).owned);
  EXPECT_EQ(std::get<app::database_plan>(plan).options.sqlite_path, (dir / "webui.db").string());
  std::filesystem::remove_all(dir);
  // Configured explicitly: never the owned database, even when the file is missing.
  plan = app::plan_database(app::load_settings(env({{"DATABASE_URL", "sqlite:////nowhere/x.db"}})));
  ASSERT_TRUE(std::holds_alternative<app::database_plan>(plan));
  EXPECT_FALSE(std::get<app::database_plan>(plan).owned);
  // A bad URL names the variable that formed it.
  plan = app::plan_database(app::load_settings(env({{"DATABASE_URL", "mysql://h/db"}})));
  ASSERT_TRUE(std::holds_alternative<app::startup_error>(plan));
  EXPECT_EQ(std::get<app::startup_error>(plan).variable, "DATABASE_URL");
  plan = app::plan_database(app::load_settings(env({{"DATABASE_TYPE", "mysql"}, {"DATABASE_USER", "u"},
                                                    {"DATABASE_HOST", "h"}, {"DATABASE_PORT", "1"},
                                                    {"DATABASE_NAME", "n"}})));
  ASSERT_TRUE(std::holds_alternative<app::startup_error>(plan));
  EXPECT_EQ(std::get<app::startup_error>(plan).variable, "DATABASE_TYPE");
}

}  // namespace

}  // namespace db_url_test
