#pragma once
// The coordination services of one `serve` (docs/architecture.md, app), built once for the
// memory backend (no App Redis) or the Redis backend: the only place that chooses.

#include "owcore/app/settings.hpp"
#include "owcore/coord/auth/authenticator.hpp"
#include "owcore/coord/backend.hpp"
#include "owcore/coord/identity/identity_service.hpp"
#include "owcore/coord/readiness.hpp"
#include "owcore/coord/tasks/task_service.hpp"
#include "owcore/db/database.hpp"
#include "owcore/http/session_middleware.hpp"
#include "owcore/net/executor.hpp"
#include "owcore/redis/client.hpp"

#include <memory>
#include <string>

namespace owcore::app {

/// What `serve` hands to its routes. Every member is thread-safe and shared.
struct services {
  std::shared_ptr<coord::readiness> readiness;  ///< /health/db
  /// Tokens and their revocations (App Redis, or memory).
  std::shared_ptr<const coord::auth::authenticator> authenticator;
  std::shared_ptr<coord::identity::identity_service> identity;  ///< callers from the database
  std::shared_ptr<coord::tasks::task_service> tasks;            ///< started
  std::shared_ptr<http::session_middleware> sessions;           ///< the owui-session cookie
};

/// Builds the services: Redis-backed on `app_redis` (prefix REDIS_KEY_PREFIX) when it is set,
/// in memory otherwise; starts the task service. `db` is the opened database; `secret_key` is
/// WEBUI_SECRET_KEY as resolved.
services make_services(const settings& s, net::executor ex, const std::string& secret_key,
                       std::shared_ptr<redis::client> app_redis, std::shared_ptr<db::database> db);

}  // namespace owcore::app
