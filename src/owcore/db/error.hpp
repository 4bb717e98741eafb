#pragma once
// The `db` layer's error codes. A failed query is always one of these, never an empty result.

#include <boost/system/error_code.hpp>

#include <type_traits>

namespace owcore::db {

/// Errors produced by owcore's SQL code. The driver's own message (SQLite's errmsg, libpq's
/// PQerrorMessage) travels beside the code in `db::failure::detail`.
enum class error {
  invalid_url = 1,   ///< DATABASE_URL does not parse, or names a form owcore does not support
  unsupported,       ///< a supported scheme with an unsupported option (sqlcipher, IAM tokens)
  unreachable,       ///< cannot connect (refused, DNS, file missing or unreadable)
  auth_failed,       ///< the server refused the credentials
  query_failed,      ///< the statement ran and the server or SQLite reported an error
  timeout,           ///< connect or statement deadline passed; the connection was dropped
  busy,              ///< SQLite: the file stayed locked past busy_timeout
  pool_exhausted,    ///< no connection became free within the pool timeout
  queue_full,        ///< the worker queue is at its limit; nothing was run
  connection_lost,   ///< the connection broke while the statement was in flight
  schema_too_old,    ///< the database predates the access_grant migration
  schema_missing,    ///< the tables owcore reads are not there
  stopped,           ///< the database object was stopped
  bad_row,           ///< a row lacks a required column or holds an unparsable value
  conflict,          ///< a compare-and-set write kept losing to concurrent writers
};

/// The category of `db::error`; safe to call from any thread.
const boost::system::error_category& db_category() noexcept;

inline boost::system::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), db_category()};
}

}  // namespace owcore::db

template <>
struct boost::system::is_error_code_enum<owcore::db::error> : std::true_type {};
