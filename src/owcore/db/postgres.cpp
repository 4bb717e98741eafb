// Placeholder until the PostgreSQL driver lands (branch db-postgres).
#include "owcore/db/database.hpp"

namespace owcore::db {

net::awaitable<result<std::shared_ptr<database>>> open_postgres(net::executor, options) {
  co_return fail(error::unsupported, "the PostgreSQL driver is not built yet");
}

}  // namespace owcore::db
