#pragma once
// Which database this process uses and the start-up checks that make a bad one an exit-2 error
// naming the variable (docs/database.md). The one place that decides between Open WebUI's
// database and owcore's own standalone owcore.db.

#include "owcore/app/settings.hpp"
#include "owcore/app/startup.hpp"
#include "owcore/db/database.hpp"
#include "owcore/db/schema.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <variant>

namespace owcore::app {

/// The database to open: driver options, the variable that configures it, and whether it is
/// owcore's own (created and owned by owcore; Open WebUI's databases are never written to by DDL).
struct database_plan {
  db::options options;
  std::string variable;     ///< DATABASE_URL, DATABASE_TYPE or DATA_DIR (owned database)
  std::string display;      ///< the URL with its password masked, or the owned file's path
  bool owned = false;
};

/// Decides the database: DATABASE_URL as Open WebUI forms it; when that is the default and
/// $DATA_DIR/webui.db does not exist, owcore's own $DATA_DIR/owcore.db. Pure except for one
/// existence check. Errors: unparsable or unsupported URL, bad option values.
std::variant<database_plan, startup_error> plan_database(const settings& s);

/// An open, checked database.
struct opened_database {
  std::shared_ptr<db::database> db;
  db::schema_info schema;
  std::chrono::microseconds latency{0};  ///< one round trip (SELECT of the schema head)
};

/// Opens the planned database (creating the owned schema when owned), then runs the schema guard.
/// Every failure is an error naming plan.variable: unreachable, wrong password, locked or
/// unreadable file, schema older than access_grant, missing tables.
net::awaitable<std::variant<opened_database, startup_error>> open_database(net::executor ex, database_plan plan);

}  // namespace owcore::app
