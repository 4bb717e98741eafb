#pragma once
// DATABASE_URL exactly as Open WebUI forms it, and its translation into driver options
// (docs/database.md, "Which database"). Pure functions: no I/O, no environment access; app/
// reads the variables and passes them in.

#include "owcore/db/database.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace owcore::db {

/// The variables Open WebUI's env.py combines into DATABASE_URL. nullopt/empty = unset.
struct url_inputs {
  std::optional<std::string> database_url;  ///< DATABASE_URL
  std::string type;      ///< DATABASE_TYPE
  std::string user;      ///< DATABASE_USER
  std::string password;  ///< DATABASE_PASSWORD
  std::string host;      ///< DATABASE_HOST
  std::string port;      ///< DATABASE_PORT
  std::string name;      ///< DATABASE_NAME
  std::string data_dir;  ///< DATA_DIR, already made absolute (env.py resolves it)
};

/// The URL Open WebUI would use, and where it came from.
struct formed_url {
  std::string url;
  std::string variable;     ///< the variable to name in errors: DATABASE_URL or DATABASE_TYPE
  bool is_default = false;  ///< neither DATABASE_URL nor the parts were set: sqlite in DATA_DIR
};

/// env.py: DATABASE_URL (default sqlite:///$DATA_DIR/webui.db); replaced by
/// TYPE://USER[:PASSWORD]@HOST:PORT/NAME when all parts are non-empty (nothing encoded);
/// sqlite+sqlcipher:///$DATA_DIR/webui.db for DATABASE_TYPE=sqlite+sqlcipher without a URL;
/// then every "postgres://" becomes "postgresql://".
formed_url form_url(const url_inputs& in);

/// Translates a formed URL into `options` (kind, sqlite_path or conninfo); every other field
/// keeps its default. Accepted: sqlite[+aiosqlite|+pysqlite]:///path, and
/// postgresql[+psycopg|+psycopg2|+asyncpg|+pg8000]://..., whose driver suffix is stripped and
/// whose `ssl=` query key becomes libpq's `sslmode=`. Anything else (sqlite+sqlcipher, an
/// in-memory SQLite, other schemes, an unparsable URL) is an error message saying why.
std::variant<options, std::string> parse_database_url(std::string_view url);

/// `dir` made absolute and normalised, without a trailing slash (env.py's Path(...).resolve(),
/// minus symlink resolution). Returned unchanged when the working directory is unknown.
std::string absolute_dir(const std::string& dir);

/// True when `value` is a safe PRAGMA argument (letters, digits, '-', '_'; 1..32 characters).
bool valid_pragma_value(std::string_view value) noexcept;

}  // namespace owcore::db
