#include "owcore/db/error.hpp"

#include <string>

namespace owcore::db {
namespace {

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "owcore.db"; }
  std::string message(int ev) const override {
    switch (static_cast<error>(ev)) {
      case error::invalid_url: return "invalid database URL";
      case error::unsupported: return "unsupported database configuration";
      case error::unreachable: return "database unreachable";
      case error::auth_failed: return "database authentication failed";
      case error::query_failed: return "query failed";
      case error::timeout: return "database timeout";
      case error::busy: return "database is locked";
      case error::pool_exhausted: return "no database connection available";
      case error::queue_full: return "database queue full";
      case error::connection_lost: return "database connection lost";
      case error::schema_too_old: return "database schema too old";
      case error::schema_missing: return "database schema missing";
      case error::stopped: return "database stopped";
      case error::bad_row: return "unexpected row content";
      case error::conflict: return "concurrent update conflict";
    }
    return "unknown database error";
  }
};

}  // namespace

const boost::system::error_category& db_category() noexcept {
  static const category c;
  return c;
}

}  // namespace owcore::db
