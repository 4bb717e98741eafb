#pragma once
// The backends of Open WebUI's Socket.IO handlers (realtime/openwebui), chosen as Open WebUI
// chooses them (docs/wire.md, "Shared dicts and locks", "Yjs documents", "Tasks"):
// - WEBSOCKET_MANAGER=redis with a WS Redis: P:session_pool, P:usage_pool and the Yjs store on
//   the WS Redis; note saves registered as tasks in the WS Redis's registry (where Python's
//   debounced saves live), reusing the App task service when both URLs name one client;
// - otherwise: process-local pools, store and task registry (Python's local dicts).
// SQL (identity, permissions, writes) comes from the database opened by database_wiring.

#include "owcore/app/settings.hpp"
#include "owcore/coord/identity/identity_service.hpp"
#include "owcore/coord/tasks/task_service.hpp"
#include "owcore/net/executor.hpp"
#include "owcore/realtime/openwebui/handlers.hpp"
#include "owcore/realtime/openwebui/pool_jobs.hpp"

#include <memory>

namespace owcore::redis {
class client;
}

namespace owcore::app {

/// The handlers' services and what must be stopped at shutdown.
struct openwebui_backends {
  std::shared_ptr<realtime::openwebui::services> services;
  /// A task service created here (null when the App one is reused); stop it at shutdown.
  std::shared_ptr<coord::tasks::task_service> own_tasks;
  bool redis = false;  ///< the pools, the store and the note-save registry are on the WS Redis
  /// The usage cleaner and the session reaper (under Python's cleanup locks); stop at shutdown.
  realtime::openwebui::pool_jobs jobs;
  /// Stops what this module started (the jobs, its own task service). Idempotent.
  void stop() {
    jobs.stop();
    if (own_tasks) own_tasks->stop();
    if (services && services->lease) services->lease->stop();
  }
  /// True once everything stop() stopped has finished (the lease withdrawn).
  bool stopped() const { return !(services && services->lease) || services->lease->finished(); }
};

/// Builds the services on the open database `db`. `app_tasks` is the App task service (reused
/// for note saves when the WS and App Redis are the same client). Starts any task service it
/// creates, and the usage cleaner and session reaper, whose timeout is
/// max(4 x WEBSOCKET_HEARTBEAT_INTERVAL, 120) s. With Redis, also starts this instance's lease
/// (OWCORE_REALTIME_LEASE_TTL): a killed instance's sockets are cleaned by the others.
/// Set-up only.
openwebui_backends make_openwebui_backends(const settings& s, net::executor ex, std::shared_ptr<db::database> db,
                                           std::shared_ptr<coord::identity::identity_service> identity,
                                           std::shared_ptr<redis::client> app_redis,
                                           std::shared_ptr<redis::client> ws_redis,
                                           std::shared_ptr<coord::tasks::task_service> app_tasks);

}  // namespace owcore::app
