#pragma once
// One SQL database (SQLite or PostgreSQL) behind one interface that never blocks the event loop:
// SQLite statements run on a small bounded worker pool, PostgreSQL statements go through libpq's
// non-blocking API on the caller's executor. Every statement is prepared and parameterised; the
// SQL text is always a compile-time constant (docs/database.md lists each one).

#include "owcore/db/error.hpp"
#include "owcore/net/executor.hpp"

#include <boost/system/result.hpp>
#include <boost/assert/source_location.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace owcore::db {

/// An error with the driver's own words (SQLite errmsg, libpq message), never the password.
struct failure {
  boost::system::error_code code;
  std::string detail;
  /// "code message: detail" for logs and HTTP error bodies.
  std::string message() const;
};

/// Thrown only by result<T>::value() on an error (Boost.System finds it by ADL).
[[noreturn]] void throw_exception_from_error(const failure& f, const boost::source_location& loc);

template <class T>
using result = boost::system::result<T, failure>;

/// Builds a failure; `return fail(error::timeout, "...")` converts to any result<T>.
inline failure fail(error e, std::string detail = {}) { return failure{make_error_code(e), std::move(detail)}; }

enum class dialect { sqlite, postgresql };
std::string_view to_string(dialect d) noexcept;

/// SQLite PRAGMAs applied on every connection, Open WebUI's defaults (docs/database.md). An
/// empty value skips that PRAGMA, as Open WebUI does.
struct sqlite_pragmas {
  std::string journal_mode = "WAL";
  std::string synchronous = "NORMAL";
  std::string busy_timeout = "5000";
  std::string cache_size = "-65536";
  std::string temp_store = "MEMORY";
  std::string mmap_size = "268435456";
  std::string journal_size_limit = "67108864";
};

/// Everything a driver needs; app/ fills it from DATABASE_* (see db/url.hpp).
struct options {
  dialect kind = dialect::sqlite;
  std::string sqlite_path;   ///< SQLite: the database file
  bool sqlite_create = false;///< SQLite: create the file when missing (only for owcore's own owcore.db)
  sqlite_pragmas pragmas;
  std::string conninfo;      ///< PostgreSQL: a libpq URI (driver suffix stripped, SSL keys normalised)
  std::string schema;        ///< DATABASE_SCHEMA: PostgreSQL search_path; empty = the server default
  std::size_t pool_size = 5;  ///< PostgreSQL connections; SQLite workers (at most half the cores, at most 4)
  std::chrono::milliseconds connect_timeout{5000};  ///< per connection attempt
  std::chrono::milliseconds statement_timeout{10000};  ///< per statement, then an error (and, for
                                                       ///< PostgreSQL, the connection is dropped)
  std::chrono::milliseconds pool_timeout{30000};    ///< waiting for a free connection or worker
  std::size_t queue_limit = 10000;                  ///< statements waiting; beyond it queue_full at once
};

/// One parameter. Strings travel as untyped text (the server infers json/varchar from context).
using param = std::variant<std::nullptr_t, std::int64_t, bool, std::string>;
using params = std::vector<param>;

namespace detail {
inline void add_param(params& p, std::string v) { p.emplace_back(std::in_place_type<std::string>, std::move(v)); }
inline void add_param(params& p, std::int64_t v) { p.emplace_back(std::in_place_type<std::int64_t>, v); }
inline void add_param(params& p, bool v) { p.emplace_back(std::in_place_type<bool>, v); }
inline void add_param(params& p, std::nullptr_t) { p.emplace_back(std::in_place_type<std::nullptr_t>, nullptr); }
inline void add_param(params& p, param v) { p.push_back(std::move(v)); }
}  // namespace detail

/// Builds params from values (use instead of a braced list inside coroutines: g++ 12 miscompiles
/// initializer lists in co_await expressions).
template <class... A>
params make_params(A&&... a) {
  params p;
  p.reserve(sizeof...(A));
  (detail::add_param(p, std::forward<A>(a)), ...);
  return p;
}

/// A statement known at compile time. `name` is unique and names the prepared statement.
/// `sql` is PostgreSQL text with $1..$n; `sqlite_sql`, when set, replaces it on SQLite, else
/// SQLite runs `sql` with each $n read as ?n.
struct statement {
  std::string_view name;
  std::string_view sql;
  std::string_view sqlite_sql = {};
};

/// The rows of one statement, every cell as text (NULL = nullopt): integers in decimal, booleans
/// as PostgreSQL's t/f or SQLite's 0/1 (use as_bool), JSON as its text.
class rows {
 public:
  rows() = default;
  rows(std::size_t columns, std::vector<std::optional<std::string>> cells, std::int64_t affected)
      : columns_(columns), cells_(std::move(cells)), affected_(affected) {}
  std::size_t size() const noexcept { return columns_ ? cells_.size() / columns_ : 0; }
  bool empty() const noexcept { return size() == 0; }
  std::size_t columns() const noexcept { return columns_; }
  /// Cell (r, c); r < size(), c < columns().
  const std::optional<std::string>& at(std::size_t r, std::size_t c) const { return cells_.at(r * columns_ + c); }
  /// Rows changed by an INSERT/UPDATE/DELETE; 0 for a SELECT.
  std::int64_t affected() const noexcept { return affected_; }

 private:
  std::size_t columns_ = 0;
  std::vector<std::optional<std::string>> cells_;
  std::int64_t affected_ = 0;
};

/// Integer from a cell: decimal, or a float text (some old SQLite rows hold REAL); nullopt for
/// NULL or garbage.
std::optional<std::int64_t> as_int(const std::optional<std::string>& cell) noexcept;
/// Boolean from a cell: t/true/1 and f/false/0 (any case); nullopt for NULL or garbage.
std::optional<bool> as_bool(const std::optional<std::string>& cell) noexcept;

/// A database. Thread-safe: exec may be called concurrently from any executor; the awaiting
/// coroutine resumes on its own executor. Limits: options::queue_limit waiting statements,
/// options::statement_timeout per statement.
class database {
 public:
  virtual ~database() = default;
  virtual dialect kind() const noexcept = 0;
  /// Runs `st` with `args`. Errors are values (timeout, connection_lost, query_failed, ...);
  /// never an empty result in place of an error. A statement that failed on a connection that
  /// then proved broken is retried once on a fresh connection (every statement owcore runs is
  /// idempotent: reads and absolute or compare-and-set writes).
  virtual net::awaitable<result<rows>> exec(const statement& st, params args) = 0;
  /// Runs several semicolon-separated statements without parameters (DDL for owcore's own
  /// database and for tests). Never used on a database Open WebUI owns.
  virtual net::awaitable<result<void>> exec_script(std::string sql) = 0;
  /// Fails waiting and future statements with `stopped` and closes connections. Idempotent.
  virtual void stop() = 0;
  /// Statements run since start, for benchmarks and metrics.
  virtual std::uint64_t statements_run() const noexcept = 0;
};

/// Opens a database (wrapped so its statements are counted, db/metrics.hpp): connects once (PostgreSQL: one pooled connection; SQLite: opens the file and
/// applies the PRAGMAs) so that a wrong path, host or password is reported now. `ex` is where
/// PostgreSQL sockets are serviced.
net::awaitable<result<std::shared_ptr<database>>> open(net::executor ex, options opts);

/// The driver factories behind open(); exposed for tests.
net::awaitable<result<std::shared_ptr<database>>> open_sqlite(net::executor ex, options opts);
net::awaitable<result<std::shared_ptr<database>>> open_postgres(net::executor ex, options opts);

/// `sql` with every $n outside quotes rewritten to ?n (SQLite's numbered parameters).
std::string sqlite_placeholders(std::string_view sql);

}  // namespace owcore::db
