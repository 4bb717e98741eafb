#pragma once
// The database part of `owcore doctor`: which database, its kind, schema head and latency, or
// why it cannot be used. Facts in database_report; the verdict in database_report::verdict.

#include "owcore/app/settings.hpp"
#include "owcore/net/executor.hpp"

#include <boost/json/object.hpp>

#include <optional>
#include <ostream>
#include <string>

namespace owcore::app {

struct database_report {
  std::string variable;        ///< the variable that chose it (DATABASE_URL, DATABASE_TYPE, DATA_DIR)
  std::string kind;            ///< sqlite | postgresql
  std::string location;        ///< masked URL or file path
  bool owned = false;          ///< owcore's own owcore.db
  bool exists = true;          ///< false: the owned file is not created yet (serve creates it)
  std::string schema_head;
  bool schema_known = false;
  std::optional<double> latency_ms;
  std::string error;           ///< non-empty: unusable (exit 2)
  std::string warning;         ///< non-empty: usable with a caveat (exit 1)
};

/// Plans and (unless the owned file does not exist yet, which doctor never creates) opens the
/// database read-only in effect: the schema guard and one timed round trip, nothing written.
net::awaitable<database_report> check_database(settings s);

boost::json::object database_json(const database_report& r);
void print_database(std::ostream& os, const database_report& r);

}  // namespace owcore::app
