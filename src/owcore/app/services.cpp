#include "owcore/app/services.hpp"

#include "owcore/app/options.hpp"

#include <optional>

namespace owcore::app {

services make_services(const settings& s, net::executor ex, const std::string& secret_key,
                       std::shared_ptr<redis::client> app_redis, std::shared_ptr<db::database> db) {
  services out;
  const coord::redis_backend app_backend{app_redis, s.key_prefix};
  out.readiness =
      app_redis ? coord::make_redis_readiness(app_redis) : coord::make_memory_readiness();

  // Authentication and tasks live on the App Redis (docs/wire.md), or in memory without one.
  out.authenticator = std::make_shared<const coord::auth::authenticator>(
      secret_key, app_redis ? coord::auth::make_redis_revocations(app_backend)
                            : coord::auth::make_memory_revocations());
  // Identity and permissions from the database (docs/identity.md).
  out.identity = std::make_shared<coord::identity::identity_service>(
      std::move(db), out.authenticator, identity_options_from(s));

  auto topts = task_options_from(s);
  if (s.task_reap_foreign_after_s)
    topts.python_max_age =
        std::chrono::seconds(static_cast<std::int64_t>(*s.task_reap_foreign_after_s));
  out.tasks = app_redis ? coord::tasks::make_redis_task_service(ex, app_backend, topts)
                        : coord::tasks::make_memory_task_service(ex, topts);
  out.tasks->start();

  // The owui-session cookie (docs/wire.md, "Sessions"): starsessions JSON in the App Redis, or
  // Starlette's signed cookie.
  auto sess = session_options_from(s, secret_key, app_redis != nullptr);
  std::optional<coord::redis_backend> sess_redis;
  if (sess.redis_mode) sess_redis = app_backend;
  out.sessions = http::make_session_middleware(std::move(sess), std::move(sess_redis));
  return out;
}

}  // namespace owcore::app
