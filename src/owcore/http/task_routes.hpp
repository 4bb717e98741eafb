#pragma once
// The task endpoints: Open WebUI's (`GET /api/tasks`, `POST /api/tasks/stop/{id}`,
// `GET /api/tasks/chat/{chat_id}`) and owcore's `POST /api/owcore/tasks` (a built-in `sleep` task
// for operators, tests and benchmarks).

#include "owcore/coord/identity/identity_service.hpp"
#include "owcore/coord/tasks/task_service.hpp"
#include "owcore/http/router.hpp"

#include <memory>

namespace owcore::http {

/// Registers the task routes. Admin-only (the database role) except the per-chat listing (any
/// verified user).
void add_task_routes(router& r, std::shared_ptr<coord::identity::identity_service> auth,
                     std::shared_ptr<coord::tasks::task_service> tasks);

}  // namespace owcore::http
