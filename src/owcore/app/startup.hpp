#pragma once
// Turning settings into the option structs of the lower layers, and the start-up checks that make
// a misconfigured or unreachable Redis a loud error (exit 2) instead of Open WebUI's silent None.

#include "owcore/app/settings.hpp"
#include "owcore/http/server.hpp"
#include "owcore/net/executor.hpp"
#include "owcore/redis/client.hpp"
#include "owcore/redis/client_cache.hpp"
#include "owcore/redis/probe.hpp"

#include <optional>
#include <string>
#include <variant>

namespace owcore::app {

/// A fatal start-up problem: the variable to fix and why.
struct startup_error {
  std::string variable;
  std::string reason;
  /// "VARIABLE: reason", the single line printed before exiting with status 2.
  std::string line() const { return variable + ": " + reason; }
};

/// One configured Redis client: its options, its cache key, and the variable that configures it.
struct redis_target {
  redis::client_options options;
  redis::client_key key;
  std::string variable;   ///< REDIS_URL, REDIS_SENTINEL_HOSTS, WEBSOCKET_REDIS_URL, ...
};

/// Which Redis clients this process needs. Absent = not configured / not used.
struct redis_plan {
  std::optional<redis_target> app;   ///< App Redis (REDIS_URL / REDIS_SENTINEL_HOSTS)
  std::optional<redis_target> ws;    ///< WS Redis, only when WEBSOCKET_MANAGER=redis
};

/// Validates the Redis settings (URL syntax, topology combination) and builds the plan, mapping
/// every REDIS_* variable onto client options (docs/wire.md, "Redis clients"). The error names the
/// variable to fix. Pure; thread-safe.
std::variant<redis_plan, startup_error> plan_redis(const settings& s);

/// The probe for a target (start-up check and `owcore doctor`).
redis::probe_options probe_options_for(const redis_target& t);

/// Probes every client of `plan`; the first unreachable one yields an error naming its variable.
net::awaitable<std::optional<startup_error>> check_redis(redis_plan plan);

/// The HTTP server options from the settings (HOST, PORT, OWCORE_HTTP_*).
http::server_options http_options(const settings& s);

}  // namespace owcore::app
