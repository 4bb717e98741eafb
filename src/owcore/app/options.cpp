#include "owcore/app/options.hpp"

#include "owcore/app/logging.hpp"

#include <chrono>
#include <cstdint>

namespace owcore::app {
namespace {

std::chrono::milliseconds milliseconds_of(double seconds) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
}

}  // namespace

coord::tasks::task_options task_options_from(const settings& s) {
  coord::tasks::task_options o;
  o.lease_ttl = milliseconds_of(s.task_lease_ttl_s);
  o.reaper_period = milliseconds_of(s.task_reaper_period_s);
  o.log = get_logger("tasks");
  return o;
}

coord::identity::identity_options identity_options_from(const settings& s) {
  coord::identity::identity_options o;
  o.cache_ttl = milliseconds_of(s.database.user_cache_ttl_s);
  o.log = get_logger("identity");
  return o;
}

http::session_options session_options_from(const settings& s, const std::string& secret_key,
                                           bool app_redis) {
  http::session_options o;
  o.redis_mode = s.enable_star_sessions_middleware && app_redis;
  o.secret_key = secret_key;
  o.same_site = s.session_cookie_same_site;
  o.secure = s.session_cookie_secure;
  return o;
}

}  // namespace owcore::app
