#include "owcore/app/settings.hpp"

#include "owcore/app/python_literals.hpp"

#include "owcore/base/ascii.hpp"
#include "owcore/db/url.hpp"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <initializer_list>
#include <limits>
#include <system_error>

namespace owcore::app {
namespace {

using base::ascii_lower;

// Reads variables through the injected lookup and collects issues into the settings.
class loader {
 public:
  loader(const env_lookup& env, settings& s) : env_(env), s_(s) {}

  std::optional<std::string> raw(std::string_view name) const {
    if (!env_) return std::nullopt;
    return env_(name);
  }

  // os.environ.get(name, def)
  std::string text(std::string_view name, std::string_view def) const {
    auto v = raw(name);
    return v ? std::move(*v) : std::string(def);
  }

  // os.environ.get(name, def).lower() == "true". A set value other than true/false reads as
  // false exactly as in Python, but warns: "1", "yes" and "on" look true and are not. An empty
  // value warns only when it turns a true default off.
  bool flag(std::string_view name, std::string_view def) {
    const auto v = raw(name);
    if (!v) return python_true(def);
    const std::string lower = ascii_lower(*v);
    if (lower == "true") return true;
    if (lower != "false" && (!lower.empty() || python_true(def))) {
      warn(name, std::string(name) + "=" + quoted(*v) +
                     " is read as false: only \"true\" (any case) is true, as in Open WebUI");
    }
    return false;
  }

  void warn(std::string_view name, std::string message) {
    s_.warnings.push_back({std::string(name), std::move(message)});
  }

  void fail(std::string_view name, std::string message) {
    s_.errors.push_back({std::string(name), std::move(message)});
  }

  // An int with a default: unset or empty gives `def` silently; a non-integer or a value
  // outside [lo, hi] gives `def` with a warning (`why` explains the bound, may be empty).
  long long integer(std::string_view name, long long def, long long lo, long long hi,
                    std::string_view why = {}) {
    const auto v = raw(name);
    if (!v || v->empty()) return def;
    const auto p = parse_python_int(*v);
    const std::string fallback = "; using " + std::to_string(def);
    if (p.status != number_status::ok) {
      warn(name, std::string(name) + "=" + quoted(*v) + " " +
                     describe(p.status, "an integer") + fallback);
      return def;
    }
    if (p.value < lo || p.value > hi) {
      std::string bound = p.value < lo ? "is below " + std::to_string(lo)
                                       : "is above " + std::to_string(hi);
      warn(name, std::string(name) + "=" + quoted(*v) + " " + bound +
                     (why.empty() ? "" : " (" + std::string(why) + ")") + fallback);
      return def;
    }
    return p.value;
  }

  // A positive float of seconds with a default (owcore's own timeouts).
  double positive_seconds(std::string_view name, double def) {
    const auto v = raw(name);
    if (!v || v->empty()) return def;
    const auto p = parse_python_float(*v);
    const std::string fallback = "; using " + format_number(def);
    if (p.status != number_status::ok) {
      warn(name, std::string(name) + "=" + quoted(*v) + " " +
                     describe(p.status, "a number of seconds") + fallback);
      return def;
    }
    if (p.value <= 0) {
      warn(name, std::string(name) + "=" + quoted(*v) + " is not positive" + fallback);
      return def;
    }
    return p.value;
  }

  // get_sentinels_from_env: comma list, hosts stripped, empty items dropped; one port for all.
  void sentinels(redis_client_settings& c, std::string_view hosts_var, std::string_view port_var) {
    c.sentinel_variable = std::string(hosts_var);
    const std::string hosts = text(hosts_var, "");
    std::vector<std::string> names;
    std::string_view rest = hosts;
    while (true) {
      const auto comma = rest.find(',');
      const auto item = strip(rest.substr(0, comma));
      if (!item.empty()) names.emplace_back(item);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }

    const auto port_text = raw(port_var);
    if (port_text && !port_text->empty()) {
      const auto p = parse_python_int(*port_text);
      if (p.status == number_status::ok && p.value >= 1 && p.value <= 65535) {
        c.sentinel_port = static_cast<std::uint16_t>(p.value);
      } else {
        std::string msg = std::string(port_var) + "=" + quoted(*port_text) +
                          " is not a port number (an integer in 1..65535)";
        if (names.empty()) {
          warn(port_var, msg + "; it is unused because " + std::string(hosts_var) +
                             " is empty; using 26379");
        } else {
          fail(port_var, msg + "; Open WebUI cannot build the Sentinel client (" +
                             std::string(hosts_var) + " is set)");
        }
      }
    }
    for (auto& n : names) c.sentinels.push_back({std::move(n), c.sentinel_port});
  }

 private:
  const env_lookup& env_;
  settings& s_;
};

void load_redis(loader& in, settings& s) {
  auto& app = s.app_redis;
  app.url_variable = "REDIS_URL";
  app.url = in.text("REDIS_URL", "");
  app.cluster = in.flag("REDIS_CLUSTER", "False");
  in.sentinels(app, "REDIS_SENTINEL_HOSTS", "REDIS_SENTINEL_PORT");

  auto& ws = s.ws_redis;
  ws.url_variable = "WEBSOCKET_REDIS_URL";
  ws.url = in.text("WEBSOCKET_REDIS_URL", app.url);
  // env.py defaults this to str(REDIS_CLUSTER), i.e. "True"/"False", so it follows the App flag.
  ws.cluster = in.flag("WEBSOCKET_REDIS_CLUSTER", app.cluster ? "True" : "False");
  in.sentinels(ws, "WEBSOCKET_SENTINEL_HOSTS", "WEBSOCKET_SENTINEL_PORT");

  s.key_prefix = in.text("REDIS_KEY_PREFIX", "open-webui");
  s.sentinel_username = in.text("REDIS_SENTINEL_USERNAME", "");
  s.sentinel_password = in.text("REDIS_SENTINEL_PASSWORD", "");

  s.sentinel_max_retry_count = static_cast<int>(in.integer(
      "REDIS_SENTINEL_MAX_RETRY_COUNT", 2, 1, std::numeric_limits<int>::max(),
      "it counts attempts, so at least one is needed"));

  if (const auto v = in.raw("REDIS_RECONNECT_DELAY"); v && !v->empty()) {
    const auto p = parse_python_float(*v);
    if (p.status != number_status::ok) {
      in.warn("REDIS_RECONNECT_DELAY",
              "REDIS_RECONNECT_DELAY=" + quoted(*v) + " " +
                  describe(p.status, "a number of milliseconds") +
                  "; using no delay between Sentinel retries");
    } else if (p.value < 0) {
      in.warn("REDIS_RECONNECT_DELAY", "REDIS_RECONNECT_DELAY=" + quoted(*v) +
                                           " is negative; using no delay between Sentinel "
                                           "retries");
    } else {
      s.reconnect_delay_ms = p.value;
    }
  }

  // Python passes socket_connect_timeout whenever it is not None (0 included) and
  // socket_timeout only when truthy. Negative values make redis-py's settimeout() raise, so
  // owcore treats them as invalid instead of reproducing the failure.
  if (const auto v = in.raw("REDIS_SOCKET_CONNECT_TIMEOUT"); v && !v->empty()) {
    const auto p = parse_python_float(*v);
    if (p.status != number_status::ok || p.value < 0) {
      in.warn("REDIS_SOCKET_CONNECT_TIMEOUT",
              "REDIS_SOCKET_CONNECT_TIMEOUT=" + quoted(*v) + " " +
                  (p.status == number_status::ok
                       ? std::string("is negative")
                       : describe(p.status, "a number of seconds")) +
                  "; using no connect timeout");
    } else {
      s.socket.connect_timeout_s = p.value;
      if (p.value == 0) {
        in.warn("REDIS_SOCKET_CONNECT_TIMEOUT",
                "REDIS_SOCKET_CONNECT_TIMEOUT=0 is passed to redis-py as a zero connect "
                "timeout, which makes every connect of Python instances fail; unset it or use "
                "a positive value");
      }
    }
  }
  if (const auto v = in.raw("REDIS_SOCKET_TIMEOUT"); v && !v->empty()) {
    const auto p = parse_python_float(*v);
    if (p.status != number_status::ok || p.value < 0) {
      in.warn("REDIS_SOCKET_TIMEOUT",
              "REDIS_SOCKET_TIMEOUT=" + quoted(*v) + " " +
                  (p.status == number_status::ok
                       ? std::string("is negative")
                       : describe(p.status, "a number of seconds")) +
                  "; using no socket timeout");
    } else if (p.value > 0) {
      s.socket.socket_timeout_s = p.value;
    }
  }
  s.socket.keepalive = in.flag("REDIS_SOCKET_KEEPALIVE", "False");
  if (const auto v = in.raw("REDIS_HEALTH_CHECK_INTERVAL"); v && !v->empty()) {
    const auto p = parse_python_int(*v);
    if (p.status != number_status::ok) {
      in.warn("REDIS_HEALTH_CHECK_INTERVAL",
              "REDIS_HEALTH_CHECK_INTERVAL=" + quoted(*v) + " " +
                  describe(p.status, "an integer") + "; using no health check");
    } else if (p.value < 0) {
      in.warn("REDIS_HEALTH_CHECK_INTERVAL", "REDIS_HEALTH_CHECK_INTERVAL=" + quoted(*v) +
                                                 " is negative; using no health check");
    } else if (p.value > std::numeric_limits<int>::max()) {
      in.warn("REDIS_HEALTH_CHECK_INTERVAL", "REDIS_HEALTH_CHECK_INTERVAL=" + quoted(*v) +
                                                 " is out of range; using no health check");
    } else if (p.value > 0) {  // 0 means "no health check" in redis-py too: unset, silently
      s.socket.health_check_interval_s = static_cast<int>(p.value);
    }
  }

  // WEBSOCKET_REDIS_OPTIONS: v0.11 always sends socket_timeout (None unless given) so the
  // Socket.IO pub/sub connection never times out while idle.
  const std::string options_text = in.text("WEBSOCKET_REDIS_OPTIONS", "");
  boost::json::object options;
  if (options_text.empty()) {
    if (s.socket.connect_timeout_s && *s.socket.connect_timeout_s != 0) {
      options["socket_connect_timeout"] = *s.socket.connect_timeout_s;
    }
  } else {
    boost::system::error_code ec;
    boost::json::value parsed = boost::json::parse(options_text, ec);
    if (ec) {
      // The value may hold credentials: never echo it.
      in.warn("WEBSOCKET_REDIS_OPTIONS", "WEBSOCKET_REDIS_OPTIONS is not valid JSON (" +
                                             ec.message() +
                                             "); using {\"socket_timeout\": null}");
    } else if (!parsed.is_object()) {
      in.warn("WEBSOCKET_REDIS_OPTIONS",
              "WEBSOCKET_REDIS_OPTIONS is JSON but not an object; using "
              "{\"socket_timeout\": null}");
    } else {
      options = std::move(parsed.as_object());
    }
  }
  if (!options.contains("socket_timeout")) options["socket_timeout"] = nullptr;
  s.websocket_redis_options = std::move(options);

  s.websocket_redis_lock_timeout_s = static_cast<int>(
      in.integer("WEBSOCKET_REDIS_LOCK_TIMEOUT", 60, 1, std::numeric_limits<int>::max(),
                 "Redis rejects a lock TTL that is not positive"));
}

// Variables added by Open WebUI 0.11.1 to 0.11.5 (room channels, heartbeat, response streams).
void load_owui_0115(loader& in, settings& s) {
  s.websocket_redis_room_channels = in.flag("WEBSOCKET_REDIS_ROOM_CHANNELS", "True");
  if (const auto v = in.raw("WEBSOCKET_HEARTBEAT_INTERVAL"); v && !v->empty()) {
    const auto p = parse_python_float(*v);
    if (p.status != number_status::ok) {
      in.warn("WEBSOCKET_HEARTBEAT_INTERVAL", "WEBSOCKET_HEARTBEAT_INTERVAL=" + quoted(*v) + " " +
                                                  describe(p.status, "a number of seconds") +
                                                  "; leaving it unset");
    } else if (p.value <= 0) {
      in.warn("WEBSOCKET_HEARTBEAT_INTERVAL",
              "WEBSOCKET_HEARTBEAT_INTERVAL=" + quoted(*v) + " is not positive; leaving it unset");
    } else {
      s.websocket_heartbeat_interval_s = p.value;
    }
  }
  s.redis_response_stream_ttl_s =
      in.integer("REDIS_RESPONSE_STREAM_TTL", 3600, std::numeric_limits<long long>::min(),
                 std::numeric_limits<long long>::max());
}

void load_socketio(loader& in, settings& s) {
  s.uvicorn_workers = static_cast<int>(
      in.integer("UVICORN_WORKERS", 1, 1, std::numeric_limits<int>::max()));
  s.enable_websocket_support = in.flag("ENABLE_WEBSOCKET_SUPPORT", "True");
  s.websocket_manager = in.text("WEBSOCKET_MANAGER", "");
  if (!s.redis_manager() && ascii_lower(strip(s.websocket_manager)) == "redis") {
    in.warn("WEBSOCKET_MANAGER", "WEBSOCKET_MANAGER=" + quoted(s.websocket_manager) +
                                     " is not exactly \"redis\" (Open WebUI compares it "
                                     "verbatim); Socket.IO state stays process-local");
  }
  s.websocket_ping_interval_s =
      static_cast<int>(in.integer("WEBSOCKET_SERVER_PING_INTERVAL", 25, 1,
                                  std::numeric_limits<int>::max(), "a ping needs a period"));
  s.websocket_ping_timeout_s =
      static_cast<int>(in.integer("WEBSOCKET_SERVER_PING_TIMEOUT", 20, 1,
                                  std::numeric_limits<int>::max(), "a ping needs a timeout"));
  s.websocket_server_logging = in.flag("WEBSOCKET_SERVER_LOGGING", "False");
  const std::string logging_text = in.text("WEBSOCKET_SERVER_LOGGING", "False");
  // env.py inherits the raw string of WEBSOCKET_SERVER_LOGGING, which parses identically.
  s.websocket_engineio_logging = in.flag("WEBSOCKET_SERVER_ENGINEIO_LOGGING", logging_text);

  // Empty means "wait forever" (None); anything unparsable becomes 300 as in env.py.
  if (const auto v = in.raw("WEBSOCKET_EVENT_CALLER_TIMEOUT"); v && !v->empty()) {
    s.websocket_event_caller_timeout_s = static_cast<int>(in.integer(
        "WEBSOCKET_EVENT_CALLER_TIMEOUT", 300, 1, std::numeric_limits<int>::max(),
        "every call would time out at once"));
  }

  // CORS_ALLOW_ORIGIN.split(";"): items are kept verbatim, empty ones included.
  const std::string cors = in.text("CORS_ALLOW_ORIGIN", "*");
  s.cors_allow_origin.clear();
  std::string_view rest = cors;
  while (true) {
    const auto semi = rest.find(';');
    s.cors_allow_origin.emplace_back(rest.substr(0, semi));
    if (semi == std::string_view::npos) break;
    rest.remove_prefix(semi + 1);
  }

  // Open WebUI takes max(this, 1) per request, so values below 1 behave as 1.
  s.chat_response_stream_delta_chunk_size = static_cast<int>(in.integer(
      "CHAT_RESPONSE_STREAM_DELTA_CHUNK_SIZE", 1, 1, std::numeric_limits<int>::max()));
  s.enable_orjson = in.flag("ENABLE_ORJSON", "False");
  load_owui_0115(in, s);
}

void load_auth(loader& in, settings& s) {
  s.enable_star_sessions_middleware = in.flag("ENABLE_STAR_SESSIONS_MIDDLEWARE", "False");
  s.session_cookie_same_site = in.text("WEBUI_SESSION_COOKIE_SAME_SITE", "lax");
  s.session_cookie_secure = in.flag("WEBUI_SESSION_COOKIE_SECURE", "false");
  const std::string secure_text = in.text("WEBUI_SESSION_COOKIE_SECURE", "false");
  s.auth_cookie_same_site = in.text("WEBUI_AUTH_COOKIE_SAME_SITE", s.session_cookie_same_site);
  s.auth_cookie_secure = in.flag("WEBUI_AUTH_COOKIE_SECURE", secure_text);

  // The legacy name is consulted only when WEBUI_SECRET_KEY is unset (an empty value wins).
  if (auto key = in.raw("WEBUI_SECRET_KEY")) {
    s.webui_secret_key = std::move(*key);
  } else {
    s.webui_secret_key = in.text("WEBUI_JWT_SECRET_KEY", "");
  }
  s.jwt_expires_in = in.text("JWT_EXPIRES_IN", "4w");
  s.enable_oauth_backchannel_logout = in.flag("ENABLE_OAUTH_BACKCHANNEL_LOGOUT", "False");

  if (const auto v = in.raw("OAUTH_TOKEN_EXCHANGE_RATE_LIMIT");
      v && !v->empty() && ascii_lower(strip(*v)) != "none") {
    const auto p = parse_python_int(*v);
    if (p.status != number_status::ok || p.value < 0 ||
        p.value > std::numeric_limits<int>::max()) {
      in.warn("OAUTH_TOKEN_EXCHANGE_RATE_LIMIT",
              "OAUTH_TOKEN_EXCHANGE_RATE_LIMIT=" + quoted(*v) +
                  " is not a non-negative integer or \"none\"; using none (no limit)");
    } else {
      s.oauth_token_exchange_rate_limit = static_cast<int>(p.value);
    }
  }
  if (const auto v = in.raw("OAUTH_TOKEN_EXCHANGE_RATE_LIMIT_WINDOW");
      v && ascii_lower(strip(*v)) == "none") {
    s.oauth_token_exchange_rate_limit_window_s.reset();
  } else {
    s.oauth_token_exchange_rate_limit_window_s = static_cast<int>(
        in.integer("OAUTH_TOKEN_EXCHANGE_RATE_LIMIT_WINDOW", 180, 1,
                   std::numeric_limits<int>::max(), "a window needs a length"));
  }
}

void load_owcore(loader& in, settings& s) {
  auto non_empty = [&](std::string_view name, std::string_view def) {
    auto v = in.text(name, def);
    return v.empty() ? std::string(def) : v;
  };
  s.host = non_empty("HOST", "127.0.0.1");
  s.data_dir = non_empty("DATA_DIR", "./data");

  if (const auto v = in.raw("PORT"); v && !v->empty()) {
    const auto p = parse_python_int(*v);
    if (p.status == number_status::ok && p.value >= 1 && p.value <= 65535) {
      s.port = static_cast<std::uint16_t>(p.value);
    } else {
      in.fail("PORT", "PORT=" + quoted(*v) + " is not a port number (an integer in 1..65535)");
    }
  }

  if (const auto v = in.raw("LOG_FORMAT"); v && !v->empty()) {
    const std::string f = ascii_lower(*v);
    if (f == "text" || f == "json") {
      s.log_format = f;
    } else {
      in.fail("LOG_FORMAT", "LOG_FORMAT=" + quoted(*v) + " is neither \"text\" nor \"json\"");
    }
  }

  // env.py: GLOBAL_LOG_LEVEL.upper() must be one of these, else INFO (silently in Python).
  if (const auto v = in.raw("GLOBAL_LOG_LEVEL"); v && !v->empty()) {
    std::string level(*v);
    for (char& c : level) {
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
    constexpr std::array<std::string_view, 5> levels{"CRITICAL", "ERROR", "WARNING", "INFO",
                                                     "DEBUG"};
    if (std::find(levels.begin(), levels.end(), level) != levels.end()) {
      s.log_level = level;
    } else {
      in.warn("GLOBAL_LOG_LEVEL",
              "GLOBAL_LOG_LEVEL=" + quoted(*v) +
                  " is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL; using INFO");
    }
  }

  s.threads = static_cast<int>(
      in.integer("OWCORE_THREADS", 0, 0, std::numeric_limits<int>::max()));
  s.http_body_limit = static_cast<std::size_t>(
      in.integer("OWCORE_HTTP_BODY_LIMIT", static_cast<long long>(s.http_body_limit), 1,
                 std::numeric_limits<long long>::max()));
  s.http_request_timeout_s = in.positive_seconds("OWCORE_HTTP_REQUEST_TIMEOUT", 30);
  s.http_idle_timeout_s = in.positive_seconds("OWCORE_HTTP_IDLE_TIMEOUT", 65);
  s.shutdown_timeout_s = in.positive_seconds("OWCORE_SHUTDOWN_TIMEOUT", 10);
  s.task_lease_ttl_s = in.positive_seconds("OWCORE_TASK_LEASE_TTL", 15);
  s.task_reaper_period_s = in.positive_seconds("OWCORE_TASK_REAPER_PERIOD", 10);
  if (auto v = in.raw("OWCORE_TASK_REAP_FOREIGN_AFTER"); v && !v->empty())
    s.task_reap_foreign_after_s = in.positive_seconds("OWCORE_TASK_REAP_FOREIGN_AFTER", 0);
  s.realtime_lease_ttl_s = in.positive_seconds("OWCORE_REALTIME_LEASE_TTL", 30);
  if (s.realtime_lease_ttl_s < 1 || s.realtime_lease_ttl_s > 3600) {
    in.warn("OWCORE_REALTIME_LEASE_TTL", "OWCORE_REALTIME_LEASE_TTL is not a number of seconds in 1..3600; using 30");
    s.realtime_lease_ttl_s = 30;
  }
  s.ydoc_any_document = in.flag("OWCORE_YDOC_ANY_DOCUMENT", "False");
}

void load_database(loader& in, settings& s) {
  auto& d = s.database;
  db::url_inputs u;
  u.database_url = in.raw("DATABASE_URL");
  u.type = in.text("DATABASE_TYPE", "");
  u.user = in.text("DATABASE_USER", "");
  u.password = in.text("DATABASE_PASSWORD", "");
  u.host = in.text("DATABASE_HOST", "");
  u.port = in.text("DATABASE_PORT", "");
  u.name = in.text("DATABASE_NAME", "");
  // env.py resolves DATA_DIR to an absolute path before building the default URL.
  u.data_dir = db::absolute_dir(s.data_dir);
  auto formed = db::form_url(u);
  d.url = std::move(formed.url);
  d.url_variable = std::move(formed.variable);
  d.url_is_default = formed.is_default;
  d.schema = in.text("DATABASE_SCHEMA", "");
  d.iam_token_auth = in.flag("DATABASE_ENABLE_IAM_TOKEN_AUTH", "False");
  d.sqlite_wal = in.flag("DATABASE_ENABLE_SQLITE_WAL", "True");
  const std::pair<const char*, std::string*> pragmas[] = {
      {"DATABASE_SQLITE_PRAGMA_SYNCHRONOUS", &d.sqlite_synchronous},
      {"DATABASE_SQLITE_PRAGMA_BUSY_TIMEOUT", &d.sqlite_busy_timeout},
      {"DATABASE_SQLITE_PRAGMA_CACHE_SIZE", &d.sqlite_cache_size},
      {"DATABASE_SQLITE_PRAGMA_TEMP_STORE", &d.sqlite_temp_store},
      {"DATABASE_SQLITE_PRAGMA_MMAP_SIZE", &d.sqlite_mmap_size},
      {"DATABASE_SQLITE_PRAGMA_JOURNAL_SIZE_LIMIT", &d.sqlite_journal_size_limit}};
  for (const auto& [name, field] : pragmas) {
    auto v = in.raw(name);
    if (!v) continue;
    const std::string value(strip(*v));
    // Empty skips the PRAGMA, as in Open WebUI; anything else must be a plain token because it
    // is spliced into a PRAGMA statement.
    if (!value.empty() && !db::valid_pragma_value(value)) {
      in.fail(name, std::string(name) + "=" + quoted(*v) +
                        " is not a PRAGMA value (letters, digits, '-' or '_', at most 32 characters)");
      continue;
    }
    *field = value;
  }
  d.pool_size = static_cast<int>(in.integer("DATABASE_POOL_SIZE", 5, 1, 1000));
  d.pool_timeout_s = in.positive_seconds("DATABASE_POOL_TIMEOUT", 30);
  d.connect_timeout_s = in.positive_seconds("OWCORE_DB_CONNECT_TIMEOUT", 5);
  d.statement_timeout_s = in.positive_seconds("OWCORE_DB_STATEMENT_TIMEOUT", 10);
  if (auto v = in.raw("DATABASE_USER_ACTIVE_STATUS_UPDATE_INTERVAL"); v && !strip(*v).empty()) {
    const auto p = parse_python_float(strip(*v));
    if (p.status != number_status::ok || p.value < 0) {
      in.warn("DATABASE_USER_ACTIVE_STATUS_UPDATE_INTERVAL",
              "DATABASE_USER_ACTIVE_STATUS_UPDATE_INTERVAL=" + quoted(*v) +
                  " is not a non-negative number of seconds; every heartbeat writes last_active_at");
    } else {
      d.user_active_interval_s = p.value;
    }
  }
  d.writes = ascii_lower(strip(in.text("OWCORE_DB_WRITES", "all")));
  if (d.writes.empty()) d.writes = "all";
  if (d.writes != "all" && d.writes != "presence" && d.writes != "none") {
    in.fail("OWCORE_DB_WRITES", "OWCORE_DB_WRITES=" + quoted(d.writes) + " is not one of all, presence, none");
    d.writes = "all";
  }
  if (auto v = in.raw("OWCORE_USER_CACHE_TTL"); v && !v->empty()) {
    const auto p = parse_python_float(*v);
    if (p.status != number_status::ok || p.value < 0 || p.value > 60)
      in.warn("OWCORE_USER_CACHE_TTL", "OWCORE_USER_CACHE_TTL=" + quoted(*v) +
                                           " is not a number of seconds in 0..60; using 3");
    else
      d.user_cache_ttl_s = p.value;
  }
  d.default_features_channels = in.flag("USER_PERMISSIONS_FEATURES_CHANNELS", "True");
  if (d.iam_token_auth)
    in.fail("DATABASE_ENABLE_IAM_TOKEN_AUTH",
            "DATABASE_ENABLE_IAM_TOKEN_AUTH=true (AWS RDS IAM tokens) is not supported by owcore; use a "
            "password in DATABASE_URL");
}

// Cross-variable checks: configurations on which Python crashes or silently runs without Redis.
void validate(loader& in, const settings& s) {
  for (const auto* c : {&s.app_redis, &s.ws_redis}) {
    if (!c->sentinels.empty() && c->url.empty()) {
      in.fail(c->url_variable,
              c->sentinel_variable + " is set but " + c->url_variable +
                  " is empty; in Sentinel mode the URL names the master service "
                  "(redis://[user:password@]<service>[:port]/<db>). Open WebUI's "
                  "parse_redis_url('') raises here (" +
                  (c == &s.app_redis ? std::string("App Redis silently becomes None")
                                     : std::string("startup crashes with the Redis manager")) +
                  ")");
    }
  }

  const auto& app = s.app_redis;
  if (app.cluster && app.url.empty() && app.sentinels.empty()) {
    in.fail("REDIS_CLUSTER",
            "REDIS_CLUSTER=true needs REDIS_URL (a cluster node URL), which is empty; Open "
            "WebUI would silently run without App Redis");
  } else if (app.cluster && !app.sentinels.empty()) {
    in.warn("REDIS_CLUSTER", "REDIS_CLUSTER is ignored because REDIS_SENTINEL_HOSTS is set");
  }

  const auto& ws = s.ws_redis;
  if (s.redis_manager() && ws.url.empty() && ws.sentinels.empty()) {
    if (ws.cluster) {
      in.fail("WEBSOCKET_REDIS_CLUSTER",
              "WEBSOCKET_REDIS_CLUSTER=true (it defaults to REDIS_CLUSTER) with "
              "WEBSOCKET_MANAGER=redis needs WEBSOCKET_REDIS_URL (it defaults to REDIS_URL), "
              "which is empty; Open WebUI crashes at startup");
    } else {
      in.fail("WEBSOCKET_REDIS_URL",
              "WEBSOCKET_MANAGER=redis needs WEBSOCKET_REDIS_URL (it defaults to REDIS_URL) or "
              "WEBSOCKET_SENTINEL_HOSTS, and both are empty; Open WebUI crashes at startup");
    }
  }

  if (s.enable_star_sessions_middleware && app.url.empty()) {
    in.warn("ENABLE_STAR_SESSIONS_MIDDLEWARE",
            "ENABLE_STAR_SESSIONS_MIDDLEWARE=true but REDIS_URL is empty; sessions use the "
            "signed cookie instead, as in Open WebUI");
  }
}

}  // namespace

env_lookup process_env() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

settings load_settings(const env_lookup& env) {
  settings s;
  loader in(env, s);
  load_redis(in, s);
  load_socketio(in, s);
  load_auth(in, s);
  load_owcore(in, s);
  load_database(in, s);
  validate(in, s);
  return s;
}

}  // namespace owcore::app
