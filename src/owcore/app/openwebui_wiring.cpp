#include "owcore/app/openwebui_wiring.hpp"

#include "owcore/app/logging.hpp"
#include "owcore/app/options.hpp"
#include "owcore/coord/identity/db_writes.hpp"
#include "owcore/coord/identity/permissions.hpp"
#include "owcore/coord/shared/keys.hpp"
#include "owcore/coord/shared/lock.hpp"
#include "owcore/coord/shared/shared_dict.hpp"
#include "owcore/coord/ydoc/document_store.hpp"

#include <spdlog/logger.h>

#include <algorithm>
#include <optional>
#include <string>

namespace owcore::app {

namespace identity = coord::identity;

openwebui_backends make_openwebui_backends(const settings& s, net::executor ex, std::shared_ptr<db::database> db,
                                           std::shared_ptr<identity::identity_service> ids,
                                           std::shared_ptr<redis::client> app_redis,
                                           std::shared_ptr<redis::client> ws_redis,
                                           std::shared_ptr<coord::tasks::task_service> app_tasks) {
  openwebui_backends out;
  auto svc = std::make_shared<realtime::openwebui::services>();
  svc->log = get_logger("openwebui");
  svc->identity = ids;

  const auto ttl = std::chrono::milliseconds(static_cast<std::int64_t>(s.database.user_cache_ttl_s * 1000));
  identity::permission_options popts;
  popts.default_features_channels = s.database.default_features_channels;
  popts.note_cache_ttl = ttl;
  svc->permissions = std::make_shared<identity::permission_service>(db, popts);

  identity::write_options wopts;
  wopts.mode = identity::parse_write_mode(s.database.writes).value_or(identity::write_mode::all);
  if (s.database.user_active_interval_s)
    wopts.active_interval =
        std::chrono::milliseconds(static_cast<std::int64_t>(*s.database.user_active_interval_s * 1000));
  auto gate = app_redis ? identity::make_redis_activity_gate(coord::redis_backend{app_redis, s.key_prefix})
                        : identity::make_memory_activity_gate();
  svc->writes = std::make_shared<identity::write_service>(db, svc->permissions, gate, wopts);

  coord::ydoc::store_options yopts;
  yopts.log = get_logger("ydoc");
  out.redis = s.redis_manager() && ws_redis != nullptr;
  if (out.redis) {
    const coord::redis_backend ws{ws_redis, s.key_prefix};
    svc->session_pool = coord::shared::make_redis_shared_dict(ws, coord::shared::keys::session_pool);
    svc->usage_pool = coord::shared::make_redis_shared_dict(ws, coord::shared::keys::usage_pool);
    svc->documents = coord::ydoc::make_redis_document_store(ws, yopts);
  } else {
    svc->session_pool = coord::shared::make_memory_shared_dict(std::string(coord::shared::keys::session_pool));
    svc->usage_pool = coord::shared::make_memory_shared_dict(std::string(coord::shared::keys::usage_pool));
    svc->documents = coord::ydoc::make_memory_document_store(yopts);
  }

  // Python registers note saves with the WS client (docs/wire.md, "Tasks"), so the registries
  // must match.
  const auto topts = task_options_from(s);
  if (out.redis && ws_redis == app_redis && app_tasks) {
    svc->note_tasks = app_tasks;
  } else {
    out.own_tasks = out.redis
                        ? coord::tasks::make_redis_task_service(ex, coord::redis_backend{ws_redis, s.key_prefix}, topts)
                        : coord::tasks::make_memory_task_service(ex, topts);
    out.own_tasks->start();
    svc->note_tasks = out.own_tasks;
  }
  // The usage cleaner and the session reaper, contending for Python's locks (docs/wire.md,
  // "Locks").
  realtime::openwebui::pool_job_options jopts;
  jopts.log = svc->log;
  jopts.session_timeout = realtime::openwebui::session_pool_timeout(s.websocket_heartbeat_interval_s);
  const auto lock_ttl = std::chrono::milliseconds(std::int64_t{std::max(1, s.websocket_redis_lock_timeout_s)} * 1000);
  std::shared_ptr<coord::shared::owner_lock> usage_lock, session_lock;
  if (out.redis) {
    const coord::redis_backend ws{ws_redis, s.key_prefix};
    usage_lock = coord::shared::make_redis_lock(ws, coord::shared::keys::usage_cleanup_lock, lock_ttl);
    session_lock = coord::shared::make_redis_lock(ws, coord::shared::keys::session_cleanup_lock, lock_ttl);
  } else {
    auto table = std::make_shared<coord::shared::memory_lock_table>();
    usage_lock = coord::shared::make_memory_lock(table, std::string(coord::shared::keys::usage_cleanup_lock), lock_ttl);
    session_lock =
        coord::shared::make_memory_lock(table, std::string(coord::shared::keys::session_cleanup_lock), lock_ttl);
  }
  out.jobs = realtime::openwebui::start_pool_jobs(ex, svc->usage_pool, svc->session_pool, std::move(usage_lock),
                                                  std::move(session_lock), jopts);
  // Leases (fleet only): what a killed instance held is cleaned by the others.
  if (out.redis) {
    realtime::openwebui::lease_options lopts;
    lopts.log = svc->log;
    lopts.ttl = std::chrono::milliseconds(static_cast<std::int64_t>(s.realtime_lease_ttl_s * 1000));
    const coord::redis_backend ws{ws_redis, s.key_prefix};
    auto instances = coord::shared::make_redis_shared_dict(ws, realtime::openwebui::instances_key);
    realtime::openwebui::instance_lease::sids_factory sids_of = [ws](const std::string& id) {
      return coord::shared::make_redis_shared_dict(ws, realtime::openwebui::instance_sids_key(id));
    };
    realtime::openwebui::sid_cleanup cleanup{svc->session_pool, svc->usage_pool, svc->documents};
    svc->lease = std::make_shared<realtime::openwebui::instance_lease>(ex, svc->note_tasks->instance_id(), instances,
                                                                       std::move(sids_of), std::move(cleanup), lopts);
    svc->lease->start();
  }
  out.services = std::move(svc);
  return out;
}

}  // namespace owcore::app
