#include "owcore/app/settings.hpp"

#include "owcore/base/ascii.hpp"

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <cmath>
#include <cstdint>
#include <string>

// `owcore config`: the effective settings as JSON, every password masked.

namespace owcore::app {
namespace {

bool contains_ci(std::string_view haystack, std::string_view needle) {
  return base::ascii_lower(haystack).find(needle) != std::string::npos;
}

boost::json::value number(double v) {
  // Integral values print as integers ("5" rather than Boost.JSON's "5E0").
  constexpr double exact_limit = 9007199254740992.0;  // 2^53
  if (std::isfinite(v) && std::trunc(v) == v && std::fabs(v) < exact_limit) {
    return static_cast<std::int64_t>(v);
  }
  return v;
}

template <class T>
boost::json::value optional_number(const std::optional<T>& v) {
  if (!v) return nullptr;
  return number(static_cast<double>(*v));
}

boost::json::array string_array(const std::vector<std::string>& items) {
  boost::json::array a;
  for (const auto& i : items) a.emplace_back(i);
  return a;
}

boost::json::array sentinel_array(const std::vector<sentinel_address>& sentinels) {
  boost::json::array a;
  for (const auto& x : sentinels) a.emplace_back(x.host + ":" + std::to_string(x.port));
  return a;
}

boost::json::array issue_array(const std::vector<setting_issue>& issues) {
  boost::json::array a;
  for (const auto& i : issues) {
    a.emplace_back(boost::json::object{{"variable", i.variable}, {"message", i.message}});
  }
  return a;
}

// Masks every non-null value under a key containing "password" (any case, any depth) and
// prints integral doubles as integers, like the scalar settings.
void present_options(boost::json::value& v) {
  if (auto* o = v.if_object()) {
    for (auto& kv : *o) {
      if (contains_ci(kv.key(), "password") && !kv.value().is_null()) {
        kv.value() = "***";
      } else {
        present_options(kv.value());
      }
    }
  } else if (auto* a = v.if_array()) {
    for (auto& item : *a) present_options(item);
  } else if (const auto* d = v.if_double()) {
    v = number(*d);
  }
}

std::string mask_secret(const std::string& s) { return s.empty() ? std::string() : "***"; }

}  // namespace

std::string mask_url_password(std::string_view url) {
  try {
    // The user information as redis-py and SQLAlchemy find it (urllib.parse): the authority runs
    // from "://" to the first '/', '?' or '#'; the user information is everything before its
    // last '@'. A strict parser may read such a URL differently (two '@', say) and see no
    // password where Python sees one, so the raw view decides what is secret.
    std::optional<std::string_view> userinfo;
    std::size_t start = 0;
    if (const auto scheme_end = url.find("://"); scheme_end != std::string_view::npos) {
      start = scheme_end + 3;
      const auto authority = url.substr(start, url.find_first_of("/?#", start) - start);
      if (const auto at = authority.rfind('@'); at != std::string_view::npos) userinfo = authority.substr(0, at);
    }
    auto parsed = boost::urls::parse_uri(url);
    if (parsed && (!userinfo || (parsed->has_userinfo() && parsed->encoded_userinfo() == *userinfo))) {
      boost::urls::url u(*parsed);
      bool changed = false;
      if (u.has_password() && !u.encoded_password().empty()) {
        u.set_encoded_password("***");
        changed = true;
      }
      auto params = u.encoded_params();
      for (auto it = params.begin(); it != params.end(); ++it) {
        const auto param = *it;
        if (param.has_value && !param.value.empty() && param.value != "***" &&
            contains_ci(param.key.decode(), "password")) {
          it = params.set(it, "***");
          changed = true;
        }
      }
      return changed ? std::string(u.buffer()) : std::string(url);
    }
    // Unparsable, or read differently by the strict parser: the whole user information goes.
    if (!userinfo || userinfo->empty()) return std::string(url);
    std::string out(url.substr(0, start));
    out += "***";
    out += url.substr(start + userinfo->size());
    return out;
  } catch (...) {
    // Only allocation can fail here; never hand back anything that may hold the password.
    return "***";
  }
}

boost::json::object to_json(const settings& s) {
  boost::json::object j;
  const auto& app = s.app_redis;
  const auto& ws = s.ws_redis;

  j["REDIS_URL"] = mask_url_password(app.url);
  j["REDIS_CLUSTER"] = app.cluster;
  j["REDIS_KEY_PREFIX"] = s.key_prefix;
  j["REDIS_SENTINEL_HOSTS"] = sentinel_array(app.sentinels);
  j["REDIS_SENTINEL_PORT"] = app.sentinel_port;
  j["REDIS_SENTINEL_MAX_RETRY_COUNT"] = s.sentinel_max_retry_count;
  j["REDIS_RECONNECT_DELAY"] = optional_number(s.reconnect_delay_ms);
  j["REDIS_SOCKET_CONNECT_TIMEOUT"] = optional_number(s.socket.connect_timeout_s);
  j["REDIS_SOCKET_TIMEOUT"] = optional_number(s.socket.socket_timeout_s);
  j["REDIS_SOCKET_KEEPALIVE"] = s.socket.keepalive;
  j["REDIS_HEALTH_CHECK_INTERVAL"] = optional_number(s.socket.health_check_interval_s);
  j["REDIS_SENTINEL_USERNAME"] = s.sentinel_username;
  j["REDIS_SENTINEL_PASSWORD"] = mask_secret(s.sentinel_password);

  j["UVICORN_WORKERS"] = s.uvicorn_workers;
  j["ENABLE_WEBSOCKET_SUPPORT"] = s.enable_websocket_support;
  j["WEBSOCKET_MANAGER"] = s.websocket_manager;
  j["WEBSOCKET_REDIS_URL"] = mask_url_password(ws.url);
  j["WEBSOCKET_REDIS_CLUSTER"] = ws.cluster;
  j["WEBSOCKET_SENTINEL_HOSTS"] = sentinel_array(ws.sentinels);
  j["WEBSOCKET_SENTINEL_PORT"] = ws.sentinel_port;
  boost::json::value options = s.websocket_redis_options;
  present_options(options);
  j["WEBSOCKET_REDIS_OPTIONS"] = std::move(options);
  j["WEBSOCKET_REDIS_LOCK_TIMEOUT"] = s.websocket_redis_lock_timeout_s;
  j["WEBSOCKET_SERVER_PING_INTERVAL"] = s.websocket_ping_interval_s;
  j["WEBSOCKET_SERVER_PING_TIMEOUT"] = s.websocket_ping_timeout_s;
  j["WEBSOCKET_SERVER_LOGGING"] = s.websocket_server_logging;
  j["WEBSOCKET_SERVER_ENGINEIO_LOGGING"] = s.websocket_engineio_logging;
  j["WEBSOCKET_EVENT_CALLER_TIMEOUT"] = optional_number(s.websocket_event_caller_timeout_s);
  j["CORS_ALLOW_ORIGIN"] = string_array(s.cors_allow_origin);
  j["CHAT_RESPONSE_STREAM_DELTA_CHUNK_SIZE"] = s.chat_response_stream_delta_chunk_size;
  j["ENABLE_ORJSON"] = s.enable_orjson;

  j["WEBSOCKET_REDIS_ROOM_CHANNELS"] = s.websocket_redis_room_channels;
  j["WEBSOCKET_HEARTBEAT_INTERVAL"] = optional_number(s.websocket_heartbeat_interval_s);
  j["REDIS_RESPONSE_STREAM_TTL"] = s.redis_response_stream_ttl_s;

  j["ENABLE_STAR_SESSIONS_MIDDLEWARE"] = s.enable_star_sessions_middleware;
  j["WEBUI_SESSION_COOKIE_SAME_SITE"] = s.session_cookie_same_site;
  j["WEBUI_SESSION_COOKIE_SECURE"] = s.session_cookie_secure;
  j["WEBUI_AUTH_COOKIE_SAME_SITE"] = s.auth_cookie_same_site;
  j["WEBUI_AUTH_COOKIE_SECURE"] = s.auth_cookie_secure;
  j["WEBUI_SECRET_KEY"] = mask_secret(s.webui_secret_key);
  j["JWT_EXPIRES_IN"] = s.jwt_expires_in;
  j["ENABLE_OAUTH_BACKCHANNEL_LOGOUT"] = s.enable_oauth_backchannel_logout;
  j["OAUTH_TOKEN_EXCHANGE_RATE_LIMIT"] = optional_number(s.oauth_token_exchange_rate_limit);
  j["OAUTH_TOKEN_EXCHANGE_RATE_LIMIT_WINDOW"] =
      optional_number(s.oauth_token_exchange_rate_limit_window_s);

  const auto& d = s.database;
  j["DATABASE_URL"] = mask_url_password(d.url);
  j["DATABASE_SCHEMA"] = d.schema;
  j["DATABASE_ENABLE_IAM_TOKEN_AUTH"] = d.iam_token_auth;
  j["DATABASE_ENABLE_SQLITE_WAL"] = d.sqlite_wal;
  j["DATABASE_SQLITE_PRAGMA_SYNCHRONOUS"] = d.sqlite_synchronous;
  j["DATABASE_SQLITE_PRAGMA_BUSY_TIMEOUT"] = d.sqlite_busy_timeout;
  j["DATABASE_SQLITE_PRAGMA_CACHE_SIZE"] = d.sqlite_cache_size;
  j["DATABASE_SQLITE_PRAGMA_TEMP_STORE"] = d.sqlite_temp_store;
  j["DATABASE_SQLITE_PRAGMA_MMAP_SIZE"] = d.sqlite_mmap_size;
  j["DATABASE_SQLITE_PRAGMA_JOURNAL_SIZE_LIMIT"] = d.sqlite_journal_size_limit;
  j["DATABASE_POOL_SIZE"] = d.pool_size;
  j["DATABASE_POOL_TIMEOUT"] = number(d.pool_timeout_s);
  j["DATABASE_USER_ACTIVE_STATUS_UPDATE_INTERVAL"] = optional_number(d.user_active_interval_s);
  j["USER_PERMISSIONS_FEATURES_CHANNELS"] = d.default_features_channels;
  j["OWCORE_DB_CONNECT_TIMEOUT"] = number(d.connect_timeout_s);
  j["OWCORE_DB_STATEMENT_TIMEOUT"] = number(d.statement_timeout_s);
  j["OWCORE_DB_WRITES"] = d.writes;
  j["OWCORE_USER_CACHE_TTL"] = number(d.user_cache_ttl_s);

  j["HOST"] = s.host;
  j["PORT"] = s.port;
  j["LOG_FORMAT"] = s.log_format;
  j["GLOBAL_LOG_LEVEL"] = s.log_level;
  j["DATA_DIR"] = s.data_dir;
  j["OWCORE_THREADS"] = s.threads;
  j["OWCORE_HTTP_BODY_LIMIT"] = s.http_body_limit;
  j["OWCORE_HTTP_REQUEST_TIMEOUT"] = number(s.http_request_timeout_s);
  j["OWCORE_HTTP_IDLE_TIMEOUT"] = number(s.http_idle_timeout_s);
  j["OWCORE_SHUTDOWN_TIMEOUT"] = number(s.shutdown_timeout_s);
  j["OWCORE_TASK_LEASE_TTL"] = number(s.task_lease_ttl_s);
  j["OWCORE_TASK_REAPER_PERIOD"] = number(s.task_reaper_period_s);
  j["OWCORE_REALTIME_LEASE_TTL"] = number(s.realtime_lease_ttl_s);
  j["OWCORE_YDOC_ANY_DOCUMENT"] = s.ydoc_any_document;
  j["OWCORE_METRICS"] = s.metrics;
  j["OWCORE_TASK_REAP_FOREIGN_AFTER"] =
      s.task_reap_foreign_after_s ? boost::json::value(number(*s.task_reap_foreign_after_s))
                                  : nullptr;

  j["warnings"] = issue_array(s.warnings);
  j["errors"] = issue_array(s.errors);
  return j;
}

}  // namespace owcore::app
