// The SQLite driver on a temporary file: parameters and NULLs, errors as values, prepared
// statement reuse, the worker pool under concurrency, the queue limit, statement deadlines,
// a lock held past busy_timeout, stop(), and owcore's own schema. No network; runs under ASan.

#include "../support/io_runner.hpp"
#include "owcore/db/database.hpp"
#include "owcore/db/queries.hpp"
#include "owcore/db/schema.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include <unistd.h>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace db_sqlite_test {

namespace {

namespace db = owcore::db;
namespace net = owcore::net;
using owcore::test::io_runner;

struct temp_file {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("owcore-sqlite-" + std::to_string(::getpid()) + "-" +
                               std::to_string(reinterpret_cast<std::uintptr_t>(this)));
  temp_file() { std::filesystem::create_directories(dir); }
  ~temp_file() { std::filesystem::remove_all(dir); }
  std::filesystem::path path(const std::string& name = "t.db") const { return dir / name; }
};

db::options sqlite_options(const std::filesystem::path& p, bool create = true) {
  db::options o;
  o.kind = db::dialect::sqlite;
  o.sqlite_path = p.string();
  o.sqlite_create = create;
  o.pool_size = 2;
  return o;
}

std::shared_ptr<db::database> open_or_fail(io_runner& io, db::options o) {
  auto r = io.run(db::open(io.io.get_executor(), std::move(o)));
  if (!r) throw std::runtime_error(r.error().message());
  return *r;
}

constexpr db::statement create_t{"t_create", "CREATE TABLE IF NOT EXISTS t (id TEXT PRIMARY KEY, n BIGINT, b BOOLEAN, j JSON)"};
constexpr db::statement insert_t{"t_insert", "INSERT INTO t (id, n, b, j) VALUES ($1, $2, $3, $4)"};
constexpr db::statement select_t{"t_select", "SELECT id, n, b, j FROM t WHERE id = $1"};
constexpr db::statement count_t{"t_count", "SELECT count(*) FROM t"};
constexpr db::statement bad_sql{"t_bad", "SELECT * FROM no_such_table"};
constexpr db::statement slow_sql{
    "t_slow", "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"};

TEST(DbSqlite, ParamsNullsAndCells) {
  io_runner io;
  temp_file f;
  auto d = open_or_fail(io, sqlite_options(f.path()));
  ASSERT_TRUE(io.run(d->exec(create_t, {})));
  auto ins = io.run(d->exec(insert_t, db::make_params(std::string("a"), std::int64_t{1700000000123456789}, true,
                                                       std::string(R"({"k":[1,2]})"))));
  ASSERT_TRUE(ins) << ins.error().message();
  EXPECT_EQ(ins->affected(), 1);
  ASSERT_TRUE(io.run(d->exec(insert_t, db::make_params(std::string("b"), nullptr, false, nullptr))));
  auto a = io.run(d->exec(select_t, db::make_params(std::string("a"))));
  ASSERT_TRUE(a);
  ASSERT_EQ(a->size(), 1u);
  ASSERT_EQ(a->columns(), 4u);
  EXPECT_EQ(db::as_int(a->at(0, 1)), 1700000000123456789);  // nanoseconds survive exactly
  EXPECT_EQ(db::as_bool(a->at(0, 2)), true);
  EXPECT_EQ(a->at(0, 3), std::optional<std::string>(R"({"k":[1,2]})"));
  auto b = io.run(d->exec(select_t, db::make_params(std::string("b"))));
  ASSERT_TRUE(b);
  EXPECT_FALSE(b->at(0, 1).has_value());
  EXPECT_EQ(db::as_bool(b->at(0, 2)), false);
  EXPECT_FALSE(b->at(0, 3).has_value());
  auto none = io.run(d->exec(select_t, db::make_params(std::string("zz"))));
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST(DbSqlite, ErrorsAreValuesNeverEmptyResults) {
  io_runner io;
  temp_file f;
  auto d = open_or_fail(io, sqlite_options(f.path()));
  auto r = io.run(d->exec(bad_sql, {}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, db::error::query_failed);
  EXPECT_NE(r.error().detail.find("no_such_table"), std::string::npos);
  // A wrong parameter count is refused before running.
  ASSERT_TRUE(io.run(d->exec(create_t, {})));
  auto wrong = io.run(d->exec(select_t, {}));
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, db::error::query_failed);
  // A duplicate key is an error too.
  ASSERT_TRUE(io.run(d->exec(insert_t, db::make_params(std::string("x"), nullptr, nullptr, nullptr))));
  auto dup = io.run(d->exec(insert_t, db::make_params(std::string("x"), nullptr, nullptr, nullptr)));
  ASSERT_FALSE(dup);
  EXPECT_NE(dup.error().detail.find("UNIQUE"), std::string::npos);
}

TEST(DbSqlite, OpenFailures) {
  io_runner io;
  temp_file f;
  auto missing = io.run(db::open(io.io.get_executor(), sqlite_options(f.path("missing.db"), false)));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, db::error::unreachable);
  { std::ofstream(f.path("junk.db")) << std::string(8192, 'j'); }
  auto junk = io.run(db::open(io.io.get_executor(), sqlite_options(f.path("junk.db"), false)));
  ASSERT_FALSE(junk);
  EXPECT_EQ(junk.error().code, db::error::unreachable);
  EXPECT_NE(junk.error().detail.find("not a database"), std::string::npos);
}

TEST(DbSqlite, ConcurrentStatementsOnThePool) {
  io_runner io;
  temp_file f;
  auto d = open_or_fail(io, sqlite_options(f.path()));
  ASSERT_TRUE(io.run(d->exec(create_t, {})));
  const auto before = d->statements_run();
  std::atomic<int> ok{0};
  auto one = [&](int i) -> net::awaitable<void> {
    auto r = co_await d->exec(insert_t, db::make_params("k" + std::to_string(i), std::int64_t{i}, nullptr, nullptr));
    if (r) ++ok;
  };
  auto all = [&]() -> net::awaitable<int> {
    for (int i = 0; i < 300; ++i) boost::asio::co_spawn(io.io, one(i), boost::asio::detached);
    co_return 0;
  };
  io.run(all());
  for (int spin = 0; spin < 1000 && ok.load() < 300; ++spin) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(ok.load(), 300);
  auto n = io.run(d->exec(count_t, {}));
  ASSERT_TRUE(n);
  EXPECT_EQ(db::as_int(n->at(0, 0)), 300);
  EXPECT_EQ(d->statements_run() - before, 301u);
}

TEST(DbSqlite, QueueLimitRefusesAtOnce) {
  io_runner io;
  temp_file f;
  auto o = sqlite_options(f.path());
  o.pool_size = 1;
  o.queue_limit = 2;
  o.statement_timeout = std::chrono::milliseconds(1500);
  auto d = open_or_fail(io, o);
  std::atomic<int> full{0}, done{0};
  auto one = [&]() -> net::awaitable<void> {
    auto r = co_await d->exec(slow_sql, {});
    if (!r && r.error().code == db::error::queue_full) ++full;
    ++done;
  };
  auto all = [&]() -> net::awaitable<int> {
    for (int i = 0; i < 8; ++i) boost::asio::co_spawn(io.io, one(), boost::asio::detached);
    co_return 0;
  };
  io.run(all());
  for (int spin = 0; spin < 2000 && done.load() < 8; ++spin) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(done.load(), 8);
  EXPECT_GE(full.load(), 5);  // one running, at most two waiting
}

TEST(DbSqlite, StatementDeadlineInterrupts) {
  io_runner io;
  temp_file f;
  auto o = sqlite_options(f.path());
  o.statement_timeout = std::chrono::milliseconds(200);
  auto d = open_or_fail(io, o);
  auto r = io.run(d->exec(slow_sql, {}), std::chrono::seconds(20));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, db::error::timeout);
  auto after = io.run(d->exec(bad_sql, {}));  // the worker answers again
  EXPECT_FALSE(after);
  EXPECT_EQ(after.error().code, db::error::query_failed);
}

TEST(DbSqlite, LockHeldPastBusyTimeoutIsBusy) {
  io_runner io;
  temp_file f;
  auto o = sqlite_options(f.path());
  o.pragmas.busy_timeout = "100";
  o.pragmas.journal_mode = "DELETE";
  // One worker: a second connection opened before CREATE TABLE would prepare against its cached
  // (stale) schema and say "no such table" instead of waiting for the lock.
  o.pool_size = 1;
  auto d = open_or_fail(io, o);
  ASSERT_TRUE(io.run(d->exec(create_t, {})));
  sqlite3* holder = nullptr;
  ASSERT_EQ(sqlite3_open(f.path().c_str(), &holder), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(holder, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  auto r = io.run(d->exec(insert_t, db::make_params(std::string("z"), nullptr, nullptr, nullptr)));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, db::error::busy) << r.error().message();
  sqlite3_exec(holder, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(holder);
  EXPECT_TRUE(io.run(d->exec(insert_t, db::make_params(std::string("z"), nullptr, nullptr, nullptr))));
}

// Several processes opening one new file at once (a fleet's instances started together): each
// asks for journal_mode=WAL, and SQLite answers some of them SQLITE_BUSY at once, without the busy
// handler; opening retries for up to busy_timeout, so every one opens.
TEST(DbSqlite, OpeningsRacingOnANewFileAllSucceed) {
  temp_file f;
  for (int round = 0; round < 10; ++round) {
    const auto path = f.path("race" + std::to_string(round) + ".db");
    constexpr int openers = 4;
    std::atomic<int> ready{0}, opened{0};
    std::vector<std::string> errors(openers);
    std::vector<std::thread> threads;
    for (int i = 0; i < openers; ++i) {
      threads.emplace_back([&, i] {
        io_runner io;
        ++ready;
        while (ready.load() < openers) std::this_thread::yield();
        auto r = io.run(db::open(io.io.get_executor(), sqlite_options(path)));
        if (r) {
          ++opened;
          (*r)->stop();
        } else {
          errors[static_cast<std::size_t>(i)] = r.error().message();
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(opened.load(), openers) << "round " << round << ": " << errors[0] << " | " << errors[1] << " | "
                                      << errors[2] << " | " << errors[3];
  }
}

TEST(DbSqlite, StopFailsLaterStatements) {
  io_runner io;
  temp_file f;
  auto d = open_or_fail(io, sqlite_options(f.path()));
  d->stop();
  d->stop();
  auto r = io.run(d->exec(count_t, {}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, db::error::stopped);
}

TEST(DbSqlite, OwnedSchemaPassesTheGuardAndHoldsUsers) {
  io_runner io;
  temp_file f;
  auto d = open_or_fail(io, sqlite_options(f.path("owcore.db")));
  ASSERT_TRUE(io.run(db::create_owned_schema(*d)));
  ASSERT_TRUE(io.run(db::create_owned_schema(*d)));  // idempotent
  auto info = io.run(db::check_schema(*d));
  ASSERT_TRUE(info) << info.error().message();
  EXPECT_TRUE(info->owned);
  EXPECT_TRUE(info->known);
  EXPECT_EQ(info->head, "f0bd01a18a3d");
  db::user_row u;
  u.id = "u1";
  u.email = "u1@example.org";
  u.name = "U";
  u.role = "admin";
  u.created_at = 1700000000;
  ASSERT_TRUE(io.run(db::insert_user(*d, u)));
  auto found = io.run(db::load_user(*d, "u1"));
  ASSERT_TRUE(found);
  EXPECT_EQ(found->state, db::user_lookup::status::found);
  EXPECT_EQ(found->user.last_active_at, 1700000000);
  EXPECT_FALSE(found->user.settings.has_value());
  auto listed = io.run(db::list_users(*d));
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].role, "admin");
}

}  // namespace

}  // namespace db_sqlite_test
