#pragma once
// Settings to the option structs of the services `serve` builds (docs/architecture.md, app):
// each mapping written once. Pure functions; thread-safe.

#include "owcore/app/settings.hpp"
#include "owcore/coord/identity/identity_service.hpp"
#include "owcore/coord/tasks/task_service.hpp"
#include "owcore/http/session_middleware.hpp"

#include <string>

namespace owcore::app {

/// Task leases and the reaper (OWCORE_TASK_LEASE_TTL, OWCORE_TASK_REAPER_PERIOD), logging to
/// "tasks". Python's entries are never reaped here: the App task service adds
/// OWCORE_TASK_REAP_FOREIGN_AFTER itself (services.cpp).
coord::tasks::task_options task_options_from(const settings& s);

/// The identity cache (the database's user cache TTL), logging to "identity".
coord::identity::identity_options identity_options_from(const settings& s);

/// The owui-session cookie: starsessions in the App Redis when ENABLE_STAR_SESSIONS_MIDDLEWARE
/// is set and `app_redis` is true, else Starlette's signed cookie (Python falls back the same
/// way without a REDIS_URL).
http::session_options session_options_from(const settings& s, const std::string& secret_key,
                                           bool app_redis);

}  // namespace owcore::app
