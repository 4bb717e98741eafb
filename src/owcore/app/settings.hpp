#pragma once
// The effective configuration of one owcore process, read from the environment.
//
// This is the only place in owcore that knows environment variable names. Everything below `app`
// receives option structs built from these settings (see startup.hpp). Parsing follows Open
// WebUI v0.11's env.py exactly (docs/wire.md, "Environment") so that one environment file
// configures a mixed Python/owcore fleet identically; where Python fails silently, `errors` records
// a fatal problem naming the variable and `owcore serve` exits with status 2.

#include <boost/json/object.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace owcore::app {

/// Looks up one environment variable; nullopt when it is unset. Injected so tests need no
/// process environment. Implementations must be callable concurrently (load only reads).
using env_lookup = std::function<std::optional<std::string>(std::string_view name)>;

/// The real process environment (`getenv`).
env_lookup process_env();

/// A problem found while reading the environment. `variable` is the exact variable name.
struct setting_issue {
  std::string variable;
  std::string message;
};

/// One sentinel host:port pair, as `get_sentinels_from_env` produces it.
struct sentinel_address {
  std::string host;
  std::uint16_t port = 26379;
  friend bool operator==(const sentinel_address&, const sentinel_address&) = default;
};

/// Settings of one Redis client (the App client or the WS client, docs/wire.md, "Redis clients").
struct redis_client_settings {
  std::string url;                            ///< raw URL; empty = not configured
  bool cluster = false;                       ///< REDIS_CLUSTER / WEBSOCKET_REDIS_CLUSTER
  std::vector<sentinel_address> sentinels;    ///< non-empty = Sentinel mode
  std::string url_variable;                   ///< "REDIS_URL" or "WEBSOCKET_REDIS_URL" (for errors)
  std::string sentinel_variable;              ///< "REDIS_SENTINEL_HOSTS" or "WEBSOCKET_SENTINEL_HOSTS"
  /// REDIS_SENTINEL_PORT / WEBSOCKET_SENTINEL_PORT: the effective port (default 26379), kept even
  /// when no sentinel host is set so `owcore config` can show it. Every entry of `sentinels`
  /// carries this port.
  std::uint16_t sentinel_port = 26379;

  /// True when this client is configured (a URL or sentinel hosts are set).
  bool configured() const noexcept { return !url.empty() || !sentinels.empty(); }
};

/// Socket options applied to Open WebUI-built clients (docs/wire.md). nullopt = unset.
struct redis_socket_settings {
  std::optional<double> connect_timeout_s;      ///< REDIS_SOCKET_CONNECT_TIMEOUT
  std::optional<double> socket_timeout_s;       ///< REDIS_SOCKET_TIMEOUT
  bool keepalive = false;                       ///< REDIS_SOCKET_KEEPALIVE
  std::optional<int> health_check_interval_s;   ///< REDIS_HEALTH_CHECK_INTERVAL (> 0 or unset)
};

/// Open WebUI's database (docs/database.md) and owcore's use of it.
struct database_settings {
  std::string url;                 ///< the effective DATABASE_URL as Open WebUI forms it (may hold a password)
  std::string url_variable = "DATABASE_URL";  ///< the variable to name in errors (DATABASE_TYPE when built by parts)
  bool url_is_default = true;      ///< neither DATABASE_URL nor the parts are set
  std::string schema;              ///< DATABASE_SCHEMA
  bool iam_token_auth = false;     ///< DATABASE_ENABLE_IAM_TOKEN_AUTH (unsupported: start-up error)
  bool sqlite_wal = true;          ///< DATABASE_ENABLE_SQLITE_WAL
  std::string sqlite_synchronous = "NORMAL";       ///< DATABASE_SQLITE_PRAGMA_SYNCHRONOUS
  std::string sqlite_busy_timeout = "5000";        ///< DATABASE_SQLITE_PRAGMA_BUSY_TIMEOUT
  std::string sqlite_cache_size = "-65536";        ///< DATABASE_SQLITE_PRAGMA_CACHE_SIZE
  std::string sqlite_temp_store = "MEMORY";        ///< DATABASE_SQLITE_PRAGMA_TEMP_STORE
  std::string sqlite_mmap_size = "268435456";      ///< DATABASE_SQLITE_PRAGMA_MMAP_SIZE
  std::string sqlite_journal_size_limit = "67108864";  ///< DATABASE_SQLITE_PRAGMA_JOURNAL_SIZE_LIMIT
  int pool_size = 5;                               ///< DATABASE_POOL_SIZE (PostgreSQL connections)
  double pool_timeout_s = 30;                      ///< DATABASE_POOL_TIMEOUT
  double connect_timeout_s = 5;                    ///< OWCORE_DB_CONNECT_TIMEOUT
  double statement_timeout_s = 10;                 ///< OWCORE_DB_STATEMENT_TIMEOUT
  std::optional<double> user_active_interval_s;    ///< DATABASE_USER_ACTIVE_STATUS_UPDATE_INTERVAL
  std::string writes = "all";                      ///< OWCORE_DB_WRITES: all | presence | none
  double user_cache_ttl_s = 3;                     ///< OWCORE_USER_CACHE_TTL (0 = no cache)
  bool default_features_channels = true;           ///< USER_PERMISSIONS_FEATURES_CHANNELS
};

/// Every variable of docs/wire.md, "Environment", plus owcore's own. Field comments name the
/// variable and default.
struct settings {
  // --- Redis (docs/wire.md, "Environment", "Redis clients") ---
  redis_client_settings app_redis;   ///< REDIS_URL, REDIS_CLUSTER, REDIS_SENTINEL_HOSTS/_PORT
  redis_client_settings ws_redis;    ///< WEBSOCKET_REDIS_URL (inherits REDIS_URL),
                                     ///< WEBSOCKET_REDIS_CLUSTER (inherits REDIS_CLUSTER),
                                     ///< WEBSOCKET_SENTINEL_HOSTS/_PORT (no inheritance)
  std::string key_prefix = "open-webui";                ///< REDIS_KEY_PREFIX
  int sentinel_max_retry_count = 2;                     ///< REDIS_SENTINEL_MAX_RETRY_COUNT (>= 1)
  std::optional<double> reconnect_delay_ms;             ///< REDIS_RECONNECT_DELAY
  redis_socket_settings socket;                         ///< REDIS_SOCKET_* / HEALTH_CHECK
  std::string sentinel_username;                        ///< REDIS_SENTINEL_USERNAME (owcore)
  std::string sentinel_password;                        ///< REDIS_SENTINEL_PASSWORD (owcore)
  boost::json::object websocket_redis_options;          ///< WEBSOCKET_REDIS_OPTIONS (effective)
  int websocket_redis_lock_timeout_s = 60;              ///< WEBSOCKET_REDIS_LOCK_TIMEOUT

  // --- Workers and Socket.IO (docs/wire.md, "Socket.IO") ---
  int uvicorn_workers = 1;                              ///< UVICORN_WORKERS (>= 1)
  bool enable_websocket_support = true;                 ///< ENABLE_WEBSOCKET_SUPPORT
  std::string websocket_manager;                        ///< WEBSOCKET_MANAGER (raw)
  bool redis_manager() const noexcept { return websocket_manager == "redis"; }
  int websocket_ping_interval_s = 25;                   ///< WEBSOCKET_SERVER_PING_INTERVAL
  int websocket_ping_timeout_s = 20;                    ///< WEBSOCKET_SERVER_PING_TIMEOUT
  bool websocket_server_logging = false;                ///< WEBSOCKET_SERVER_LOGGING
  bool websocket_engineio_logging = false;              ///< WEBSOCKET_SERVER_ENGINEIO_LOGGING
  std::optional<int> websocket_event_caller_timeout_s;  ///< WEBSOCKET_EVENT_CALLER_TIMEOUT
  std::vector<std::string> cors_allow_origin{"*"};      ///< CORS_ALLOW_ORIGIN (split on ';')
  int chat_response_stream_delta_chunk_size = 1;        ///< CHAT_RESPONSE_STREAM_DELTA_CHUNK_SIZE
  bool enable_orjson = false;                           ///< ENABLE_ORJSON

  // --- Open WebUI 0.11.1 to 0.11.5 realtime and task variables (docs/wire.md) ---
  /// WEBSOCKET_REDIS_ROOM_CHANNELS (0.11.5, default true): room emits go on
  /// `socketio#<namespace>#<room>`, received through PSUBSCRIBE `socketio#*`; false keeps every
  /// message on the shared channel (v0.11.0). The whole fleet must run one mode.
  bool websocket_redis_room_channels = true;
  /// WEBSOCKET_HEARTBEAT_INTERVAL (0.11.1, seconds): the browser's check-in period. Unset by
  /// default (Open WebUI's default was not found; its code allows None), which keeps the
  /// session-pool timeout at 120 s; otherwise that timeout is max(4 x this, 120).
  std::optional<double> websocket_heartbeat_interval_s;
  /// REDIS_RESPONSE_STREAM_TTL (0.11.1, seconds, default 3600; 0 or less = no TTL): the per-field
  /// TTL Python sets on P:tasks:response_streams. owcore never writes that hash; shown only.
  long long redis_response_stream_ttl_s = 3600;

  // --- Sessions and auth (docs/wire.md, "Sessions", "Tokens and revocation") ---
  bool enable_star_sessions_middleware = false;         ///< ENABLE_STAR_SESSIONS_MIDDLEWARE
  std::string session_cookie_same_site = "lax";         ///< WEBUI_SESSION_COOKIE_SAME_SITE
  bool session_cookie_secure = false;                   ///< WEBUI_SESSION_COOKIE_SECURE
  std::string auth_cookie_same_site = "lax";            ///< WEBUI_AUTH_COOKIE_SAME_SITE (inherits)
  bool auth_cookie_secure = false;                      ///< WEBUI_AUTH_COOKIE_SECURE (inherits)
  std::string webui_secret_key;        ///< WEBUI_SECRET_KEY, else legacy WEBUI_JWT_SECRET_KEY
  std::string jwt_expires_in = "4w";                    ///< JWT_EXPIRES_IN (raw duration)
  bool enable_oauth_backchannel_logout = false;         ///< ENABLE_OAUTH_BACKCHANNEL_LOGOUT
  std::optional<int> oauth_token_exchange_rate_limit;   ///< OAUTH_TOKEN_EXCHANGE_RATE_LIMIT
  std::optional<int> oauth_token_exchange_rate_limit_window_s = 180;
                                                        ///< OAUTH_TOKEN_EXCHANGE_RATE_LIMIT_WINDOW

  // --- Open WebUI's database ---
  database_settings database;   ///< DATABASE_* and the owcore database variables

  // --- owcore's own ---
  std::string host = "127.0.0.1";                       ///< HOST (HOST=0.0.0.0 in containers)
  std::uint16_t port = 8080;                            ///< PORT
  std::string log_format = "text";                      ///< LOG_FORMAT: text | json
  std::string log_level = "INFO";                       ///< GLOBAL_LOG_LEVEL (Python level names)
  std::string data_dir = "./data";                      ///< DATA_DIR
  int threads = 0;                                      ///< OWCORE_THREADS (0 = hardware)
  std::size_t http_body_limit = 1024 * 1024;            ///< OWCORE_HTTP_BODY_LIMIT (bytes)
  double http_request_timeout_s = 30;                   ///< OWCORE_HTTP_REQUEST_TIMEOUT
  double http_idle_timeout_s = 65;                      ///< OWCORE_HTTP_IDLE_TIMEOUT (keep-alive)
  double shutdown_timeout_s = 10;                       ///< OWCORE_SHUTDOWN_TIMEOUT
  double task_lease_ttl_s = 15;                         ///< OWCORE_TASK_LEASE_TTL
  double task_reaper_period_s = 10;                     ///< OWCORE_TASK_REAPER_PERIOD
  /// OWCORE_TASK_REAP_FOREIGN_AFTER: opt-in maximum age (s) of task entries without an owcore
  /// lease (written by Python instances); unset = never reap them.
  std::optional<double> task_reap_foreign_after_s;
  /// OWCORE_REALTIME_LEASE_TTL (s, 1..3600, default 30): how long after an owcore instance dies
  /// the others clean its sockets' pool entries, usage and Yjs presence.
  double realtime_lease_ttl_s = 30;
  /// OWCORE_YDOC_ANY_DOCUMENT (default false): the openwebui profile also accepts Yjs documents
  /// other than `note:<id>` (never authorised, as in Python).
  bool ydoc_any_document = false;

  /// Non-fatal findings (a bad number replaced by its default, ...); logged at warning level.
  std::vector<setting_issue> warnings;
  /// Fatal findings (a malformed sentinel port, an unknown LOG_FORMAT, ...): `serve` exits 2.
  std::vector<setting_issue> errors;
};

/// Reads every variable through `env`. Never throws for bad values: problems land in
/// `warnings` (Open WebUI's documented fallback applied) or `errors` (owcore refuses to start).
settings load_settings(const env_lookup& env);

/// The effective settings as JSON for `owcore config`, keyed by variable name. Every secret is
/// masked as "***": passwords inside Redis URLs, REDIS_SENTINEL_PASSWORD, WEBUI_SECRET_KEY, and
/// any `password`-like key of WEBSOCKET_REDIS_OPTIONS.
boost::json::object to_json(const settings& s);

/// `url` with the password (and nothing else) replaced by "***"; unparsable input is returned
/// with everything between "://" and the last '@' masked. The value of any query parameter whose
/// name contains "password" (case-insensitive, e.g. redis-py's `?password=`) is masked too.
/// A URL without a password is returned unchanged. Never throws.
std::string mask_url_password(std::string_view url);

}  // namespace owcore::app
