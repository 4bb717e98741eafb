#pragma once
// libpq helpers of the PostgreSQL driver (postgres.cpp): owning pointers, error text and
// classification, result conversion and conninfo parsing (docs/database.md). Internal to the db
// layer. Pure functions over libpq objects; thread-safe as libpq's own functions are.

#include "owcore/db/database.hpp"

#include <libpq-fe.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace owcore::db::pg {

/// Deleters for libpq's handles and the owning pointers built on them.
struct conn_deleter {
  void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
struct result_deleter {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
struct conninfo_deleter {
  void operator()(PQconninfoOption* o) const noexcept { PQconninfoFree(o); }
};
using conn_ptr = std::unique_ptr<PGconn, conn_deleter>;
using result_ptr = std::unique_ptr<PGresult, result_deleter>;
using conninfo_ptr = std::unique_ptr<PQconninfoOption, conninfo_deleter>;

/// libpq's multi-line messages as one trimmed line, with `secret` (the password, if 4 characters
/// or longer) masked as *** should it appear.
std::string one_line(std::string_view text, const std::string& secret);

/// auth_failed for messages that say the credentials were refused, else unreachable.
error classify_connect_failure(std::string_view message);

/// True for SQLSTATEs that mean the session is gone: class 08 (connection exceptions) and
/// 57P01-57P03 (operator intervention; a shutting-down server sends 57P01 before closing).
bool session_ended(std::string_view sqlstate);

/// The first error result of a command sequence (later ones are consequences of it).
struct first_error {
  std::string text;
  std::string sqlstate;

  /// Records `r`'s error unless one is already recorded.
  void note(const PGresult* r, const std::string& secret);
  bool empty() const noexcept { return text.empty(); }
  /// The error ended the session (the server went away or shut the connection down).
  bool lost(PGconn* pc) const;
  /// connection_lost when lost(pc), else query_failed, with the recorded text.
  failure as_failure(PGconn* pc) const;
};

/// The rows of a tuples result (text format), with the affected-row count of non-SELECT commands.
rows to_rows(PGresult* r);

/// The parsed conninfo, ready for PQconnectStartParams; the password is kept only to mask it.
struct connect_params {
  std::vector<std::string> keys;
  std::vector<std::string> values;
  std::string password;
  std::string resolve_host;  ///< a single host name to resolve off the loop; empty = libpq's own
};

/// Parses a conninfo string or URL with libpq, adds fallback_application_name=owcore, and picks the
/// host name owcore resolves itself (libpq would block in getaddrinfo). Errors never echo the text.
result<connect_params> parse_conninfo(const std::string& conninfo);

}  // namespace owcore::db::pg
