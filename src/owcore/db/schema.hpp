#pragma once
// The schema guard (docs/database.md, "Schema guard"): owcore reads Open WebUI's tables and never
// creates, alters or migrates them. The one exception is owcore's own standalone database
// (owcore.db), which it creates with the same table subset when no Open WebUI database exists.

#include "owcore/db/database.hpp"

#include <string>
#include <string_view>

namespace owcore::db {

/// Alembic heads of the Open WebUI releases owcore was built against (0.11.0 .. 0.11.5).
bool known_head(std::string_view version_num) noexcept;

/// The head that introduced access_grant (Open WebUI's migration f1e2d3c4b5a6); older databases
/// keep permissions in access_control columns owcore does not read.
inline constexpr std::string_view access_grant_revision = "f1e2d3c4b5a6";
/// The v0.11.0 head; owcore's own database is stamped with it.
inline constexpr std::string_view v0_11_0_head = "f0bd01a18a3d";

/// What the guard found.
struct schema_info {
  std::string head;       ///< alembic_version.version_num ("" when the table is empty)
  bool known = false;     ///< a v0.11.x head
  bool owned = false;     ///< owcore's own database (the owcore_owned marker table exists)
};

/// Reads alembic_version and checks that every table owcore reads exists. Errors:
/// schema_missing (no alembic_version or a table missing), schema_too_old (no access_grant
/// table: older than the access_grant migration). An unknown head with every table present is
/// accepted with known = false (the caller warns).
net::awaitable<result<schema_info>> check_schema(database& db);

/// Creates owcore's own database tables (the subset of Open WebUI's schema owcore reads, same
/// column names, types and units), stamps alembic_version with the v0.11.0 head and adds the
/// owcore_owned marker. Idempotent. Only ever called on a file owcore created.
net::awaitable<result<void>> create_owned_schema(database& db);

/// The DDL create_owned_schema runs (SQLite dialect).
std::string_view owned_schema_sql() noexcept;

}  // namespace owcore::db
