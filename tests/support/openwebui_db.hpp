// A fresh Open WebUI database for tests, of either kind, created from Open WebUI's own DDL
// (tests/fixtures/openwebui/schema_{sqlite,postgres}.sql), never from owcore's owned schema:
// - SQLite: a file in a private temp directory, opened with sqlite_create = true;
// - PostgreSQL: a new database on one PostgreSQL server shared by the test binary (or on a server
//   the test passes in, for tests that kill it).
// Fixtures go in as plain SQL (exec_script); reads back use select(), which runs any constant SQL
// text through the driver. Blocking helpers: call them from the test thread, never from a
// coroutine running on the io_runner.
#pragma once

#include "owcore/db/database.hpp"

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "support/io_runner.hpp"
#include "support/postgres_server.hpp"
#include "support/process.hpp"

namespace owcore::test {

class openwebui_db {
 public:
  /// Creates and opens the database, then runs the fixture DDL. `server` (PostgreSQL only) is the
  /// server to use instead of the shared one; it must outlive this object. Throws
  /// std::runtime_error with the driver's message on any failure.
  openwebui_db(io_runner& runner, db::dialect kind, postgres_server* server = nullptr);
  /// Stops the database (the SQLite file and the PostgreSQL database are left to their owners).
  ~openwebui_db();
  openwebui_db(const openwebui_db&) = delete;
  openwebui_db& operator=(const openwebui_db&) = delete;

  db::dialect kind() const noexcept { return kind_; }
  const std::shared_ptr<db::database>& database() const noexcept { return db_; }
  /// The options the database was opened with (open another handle on the same data with them).
  const db::options& options() const noexcept { return options_; }

  /// Runs several statements without parameters; throws on failure.
  void exec_script(const std::string& sql);
  /// Runs one statement (any SQL text; both dialects read it as is) and returns its rows; throws
  /// on failure. Each distinct text is prepared once under a name of its own.
  db::rows select(const std::string& sql);
  /// The single cell of a one-row, one-column select (nullopt for SQL NULL); throws when the
  /// result has another shape.
  std::optional<std::string> scalar(const std::string& sql);

  /// The PostgreSQL server shared by every test of the binary, started on first use.
  static postgres_server& shared_postgres();

  /// Open WebUI's fixture DDL (one text for both databases), read from the source tree.
  static std::string schema_sql();

 private:
  io_runner& runner_;
  db::dialect kind_;
  std::optional<temp_dir> dir_;
  db::options options_;
  std::shared_ptr<db::database> db_;
};

}  // namespace owcore::test
