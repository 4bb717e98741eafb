// Unit tests of owcore::app::load_settings / to_json / mask_url_password against docs/wire.md:
// every variable's default, its inheritance, and a malformed value, plus owcore's own variables.

#include <owcore/app/settings.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <vector>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace settings_test {

namespace {

using owcore::app::env_lookup;
using owcore::app::load_settings;
using owcore::app::mask_url_password;
using owcore::app::sentinel_address;
using owcore::app::setting_issue;
using owcore::app::settings;
using owcore::app::to_json;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Optional;

using env_map = std::map<std::string, std::string, std::less<>>;

env_lookup map_env(env_map vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

settings load(env_map vars) { return load_settings(map_env(std::move(vars))); }

auto names(std::string_view variable) {
  return Contains(Field(&setting_issue::variable, std::string(variable)));
}

std::vector<std::string> variables(const std::vector<setting_issue>& issues) {
  std::vector<std::string> out;
  for (const auto& i : issues) out.push_back(i.variable);
  return out;
}

const setting_issue* find_issue(const std::vector<setting_issue>& issues,
                                std::string_view variable) {
  for (const auto& i : issues) {
    if (i.variable == variable) return &i;
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// Defaults

TEST(settings_defaults, empty_environment_gives_every_documented_default) {
  const settings s = load({});

  EXPECT_EQ(s.app_redis.url, "");
  EXPECT_FALSE(s.app_redis.cluster);
  EXPECT_THAT(s.app_redis.sentinels, IsEmpty());
  EXPECT_EQ(s.app_redis.sentinel_port, 26379);
  EXPECT_EQ(s.app_redis.url_variable, "REDIS_URL");
  EXPECT_EQ(s.app_redis.sentinel_variable, "REDIS_SENTINEL_HOSTS");
  EXPECT_FALSE(s.app_redis.configured());

  EXPECT_EQ(s.ws_redis.url, "");
  EXPECT_FALSE(s.ws_redis.cluster);
  EXPECT_THAT(s.ws_redis.sentinels, IsEmpty());
  EXPECT_EQ(s.ws_redis.sentinel_port, 26379);
  EXPECT_EQ(s.ws_redis.url_variable, "WEBSOCKET_REDIS_URL");
  EXPECT_EQ(s.ws_redis.sentinel_variable, "WEBSOCKET_SENTINEL_HOSTS");
  EXPECT_FALSE(s.ws_redis.configured());

  EXPECT_EQ(s.key_prefix, "open-webui");
  EXPECT_EQ(s.sentinel_max_retry_count, 2);
  EXPECT_EQ(s.reconnect_delay_ms, std::nullopt);
  EXPECT_EQ(s.socket.connect_timeout_s, std::nullopt);
  EXPECT_EQ(s.socket.socket_timeout_s, std::nullopt);
  EXPECT_FALSE(s.socket.keepalive);
  EXPECT_EQ(s.socket.health_check_interval_s, std::nullopt);
  EXPECT_EQ(s.sentinel_username, "");
  EXPECT_EQ(s.sentinel_password, "");
  EXPECT_EQ(s.websocket_redis_options, (boost::json::object{{"socket_timeout", nullptr}}));
  EXPECT_EQ(s.websocket_redis_lock_timeout_s, 60);

  EXPECT_EQ(s.uvicorn_workers, 1);
  EXPECT_TRUE(s.enable_websocket_support);
  EXPECT_EQ(s.websocket_manager, "");
  EXPECT_FALSE(s.redis_manager());
  EXPECT_EQ(s.websocket_ping_interval_s, 25);
  EXPECT_EQ(s.websocket_ping_timeout_s, 20);
  EXPECT_FALSE(s.websocket_server_logging);
  EXPECT_FALSE(s.websocket_engineio_logging);
  EXPECT_EQ(s.websocket_event_caller_timeout_s, std::nullopt);
  EXPECT_THAT(s.cors_allow_origin, ElementsAre("*"));
  EXPECT_EQ(s.chat_response_stream_delta_chunk_size, 1);
  EXPECT_FALSE(s.enable_orjson);

  EXPECT_FALSE(s.enable_star_sessions_middleware);
  EXPECT_EQ(s.session_cookie_same_site, "lax");
  EXPECT_FALSE(s.session_cookie_secure);
  EXPECT_EQ(s.auth_cookie_same_site, "lax");
  EXPECT_FALSE(s.auth_cookie_secure);
  EXPECT_EQ(s.webui_secret_key, "");
  EXPECT_EQ(s.jwt_expires_in, "4w");
  EXPECT_FALSE(s.enable_oauth_backchannel_logout);
  EXPECT_EQ(s.oauth_token_exchange_rate_limit, std::nullopt);
  EXPECT_THAT(s.oauth_token_exchange_rate_limit_window_s, Optional(180));

  EXPECT_EQ(s.host, "127.0.0.1");
  EXPECT_EQ(s.port, 8080);
  EXPECT_EQ(s.log_format, "text");
  EXPECT_EQ(s.log_level, "INFO");
  EXPECT_EQ(s.data_dir, "./data");
  EXPECT_EQ(s.threads, 0);
  EXPECT_EQ(s.http_body_limit, 1024u * 1024u);
  EXPECT_DOUBLE_EQ(s.http_request_timeout_s, 30);
  EXPECT_DOUBLE_EQ(s.http_idle_timeout_s, 65);
  EXPECT_DOUBLE_EQ(s.shutdown_timeout_s, 10);

  EXPECT_THAT(s.warnings, IsEmpty());
  EXPECT_THAT(s.errors, IsEmpty());
}

TEST(settings_defaults, empty_lookup_function_is_an_empty_environment) {
  const settings s = load_settings(env_lookup{});
  EXPECT_EQ(s.key_prefix, "open-webui");
  EXPECT_EQ(s.port, 8080);
  EXPECT_THAT(s.warnings, IsEmpty());
  EXPECT_THAT(s.errors, IsEmpty());
}

// ---------------------------------------------------------------------------------------------
// Booleans: true only when value.lower() == "true"

struct bool_case {
  const char* variable;
  bool default_value;
  std::function<bool(const settings&)> get;
};

void PrintTo(const bool_case& c, std::ostream* os) { *os << c.variable; }

class settings_bool : public ::testing::TestWithParam<bool_case> {
 protected:
  // REDIS_URL is set so that no cross-variable check fires for REDIS_CLUSTER or star sessions.
  settings with(const std::string& value) const {
    return load({{"REDIS_URL", "redis://localhost:6379/0"}, {GetParam().variable, value}});
  }
};

TEST_P(settings_bool, default_when_unset) {
  const settings s = load({{"REDIS_URL", "redis://localhost:6379/0"}});
  EXPECT_EQ(GetParam().get(s), GetParam().default_value);
  EXPECT_THAT(s.warnings, IsEmpty());
}

TEST_P(settings_bool, true_in_any_case) {
  for (const char* v : {"true", "TRUE", "True", "tRuE"}) {
    const settings s = with(v);
    EXPECT_TRUE(GetParam().get(s)) << v;
    EXPECT_THAT(s.warnings, Not(names(GetParam().variable))) << v;
    EXPECT_THAT(s.errors, IsEmpty()) << v;
  }
}

TEST_P(settings_bool, false_spelled_false_is_silent) {
  for (const char* v : {"false", "False", "FALSE"}) {
    const settings s = with(v);
    EXPECT_FALSE(GetParam().get(s)) << v;
    EXPECT_THAT(s.warnings, Not(names(GetParam().variable))) << v;
  }
}

TEST_P(settings_bool, one_yes_on_are_false_with_a_warning) {
  for (const char* v : {"1", "yes", "on", "Y", " true", "true "}) {
    const settings s = with(v);
    EXPECT_FALSE(GetParam().get(s)) << v;
    const auto* w = find_issue(s.warnings, GetParam().variable);
    ASSERT_NE(w, nullptr) << v;
    EXPECT_THAT(w->message, HasSubstr("false")) << v;
  }
}

TEST_P(settings_bool, empty_is_false_and_warns_only_against_a_true_default) {
  const settings s = with("");
  EXPECT_FALSE(GetParam().get(s));
  if (GetParam().default_value) {
    EXPECT_THAT(s.warnings, names(GetParam().variable));
  } else {
    EXPECT_THAT(s.warnings, Not(names(GetParam().variable)));
  }
}

INSTANTIATE_TEST_SUITE_P(
    every_boolean, settings_bool,
    ::testing::Values(
        bool_case{"REDIS_CLUSTER", false, [](const settings& s) { return s.app_redis.cluster; }},
        bool_case{"REDIS_SOCKET_KEEPALIVE", false,
                  [](const settings& s) { return s.socket.keepalive; }},
        bool_case{"ENABLE_WEBSOCKET_SUPPORT", true,
                  [](const settings& s) { return s.enable_websocket_support; }},
        bool_case{"WEBSOCKET_REDIS_CLUSTER", false,
                  [](const settings& s) { return s.ws_redis.cluster; }},
        bool_case{"WEBSOCKET_SERVER_LOGGING", false,
                  [](const settings& s) { return s.websocket_server_logging; }},
        bool_case{"WEBSOCKET_SERVER_ENGINEIO_LOGGING", false,
                  [](const settings& s) { return s.websocket_engineio_logging; }},
        bool_case{"ENABLE_ORJSON", false, [](const settings& s) { return s.enable_orjson; }},
        bool_case{"ENABLE_STAR_SESSIONS_MIDDLEWARE", false,
                  [](const settings& s) { return s.enable_star_sessions_middleware; }},
        bool_case{"WEBUI_SESSION_COOKIE_SECURE", false,
                  [](const settings& s) { return s.session_cookie_secure; }},
        bool_case{"WEBUI_AUTH_COOKIE_SECURE", false,
                  [](const settings& s) { return s.auth_cookie_secure; }},
        bool_case{"ENABLE_OAUTH_BACKCHANNEL_LOGOUT", false,
                  [](const settings& s) { return s.enable_oauth_backchannel_logout; }}),
    [](const auto& test_info) { return std::string(test_info.param.variable); });

// ---------------------------------------------------------------------------------------------
// Open WebUI 0.11.1 to 0.11.5: WEBSOCKET_REDIS_ROOM_CHANNELS, WEBSOCKET_HEARTBEAT_INTERVAL,
// REDIS_RESPONSE_STREAM_TTL

TEST(settings_owui_0115, defaults) {
  const settings s = load({});
  EXPECT_TRUE(s.websocket_redis_room_channels);
  EXPECT_EQ(s.websocket_heartbeat_interval_s, std::nullopt);
  EXPECT_EQ(s.redis_response_stream_ttl_s, 3600);
  EXPECT_THAT(s.warnings, IsEmpty());
  const boost::json::object j = to_json(s);
  EXPECT_EQ(j.at("WEBSOCKET_REDIS_ROOM_CHANNELS"), true);
  EXPECT_TRUE(j.at("WEBSOCKET_HEARTBEAT_INTERVAL").is_null());
  EXPECT_EQ(j.at("REDIS_RESPONSE_STREAM_TTL").to_number<long long>(), 3600);
}

TEST(settings_owui_0115, room_channels_parse_like_other_booleans) {
  EXPECT_FALSE(load({{"WEBSOCKET_REDIS_ROOM_CHANNELS", "False"}}).websocket_redis_room_channels);
  EXPECT_TRUE(load({{"WEBSOCKET_REDIS_ROOM_CHANNELS", "TRUE"}}).websocket_redis_room_channels);
  for (const char* bad : {"0", "no", "yes", ""}) {
    const settings s = load({{"WEBSOCKET_REDIS_ROOM_CHANNELS", bad}});
    EXPECT_FALSE(s.websocket_redis_room_channels) << bad;
    EXPECT_THAT(s.warnings, names("WEBSOCKET_REDIS_ROOM_CHANNELS")) << bad;
  }
  EXPECT_EQ(to_json(load({{"WEBSOCKET_REDIS_ROOM_CHANNELS", "false"}})).at("WEBSOCKET_REDIS_ROOM_CHANNELS"),
            false);
}

TEST(settings_owui_0115, heartbeat_interval) {
  EXPECT_THAT(load({{"WEBSOCKET_HEARTBEAT_INTERVAL", "30"}}).websocket_heartbeat_interval_s, Optional(30.0));
  EXPECT_THAT(load({{"WEBSOCKET_HEARTBEAT_INTERVAL", "12.5"}}).websocket_heartbeat_interval_s, Optional(12.5));
  EXPECT_EQ(load({{"WEBSOCKET_HEARTBEAT_INTERVAL", ""}}).websocket_heartbeat_interval_s, std::nullopt);
  for (const char* bad : {"abc", "30s", "0", "-5", "nan", "inf"}) {
    const settings s = load({{"WEBSOCKET_HEARTBEAT_INTERVAL", bad}});
    EXPECT_EQ(s.websocket_heartbeat_interval_s, std::nullopt) << bad;
    EXPECT_THAT(s.warnings, names("WEBSOCKET_HEARTBEAT_INTERVAL")) << bad;
  }
  EXPECT_EQ(to_json(load({{"WEBSOCKET_HEARTBEAT_INTERVAL", "45"}})).at("WEBSOCKET_HEARTBEAT_INTERVAL").to_number<double>(),
            45.0);
}

TEST(settings_owui_0115, response_stream_ttl) {
  EXPECT_EQ(load({{"REDIS_RESPONSE_STREAM_TTL", "600"}}).redis_response_stream_ttl_s, 600);
  // 0 or less disables the TTL in Open WebUI; the value is kept as given.
  EXPECT_EQ(load({{"REDIS_RESPONSE_STREAM_TTL", "0"}}).redis_response_stream_ttl_s, 0);
  EXPECT_EQ(load({{"REDIS_RESPONSE_STREAM_TTL", "-1"}}).redis_response_stream_ttl_s, -1);
  for (const char* bad : {"abc", "1.5", "1h"}) {
    const settings s = load({{"REDIS_RESPONSE_STREAM_TTL", bad}});
    EXPECT_EQ(s.redis_response_stream_ttl_s, 3600) << bad;
    EXPECT_THAT(s.warnings, names("REDIS_RESPONSE_STREAM_TTL")) << bad;
  }
}

// ---------------------------------------------------------------------------------------------
// Raw strings

TEST(settings_strings, redis_url_is_raw) {
  const settings s = load({{"REDIS_URL", "rediss://u:p@redis.example:6380/2?ssl_cert_reqs=none"}});
  EXPECT_EQ(s.app_redis.url, "rediss://u:p@redis.example:6380/2?ssl_cert_reqs=none");
  EXPECT_TRUE(s.app_redis.configured());
  EXPECT_THAT(s.errors, IsEmpty());
}

TEST(settings_strings, key_prefix_is_raw_and_may_be_empty) {
  EXPECT_EQ(load({{"REDIS_KEY_PREFIX", "team-a"}}).key_prefix, "team-a");
  EXPECT_EQ(load({{"REDIS_KEY_PREFIX", "{owui}"}}).key_prefix, "{owui}");
  EXPECT_EQ(load({{"REDIS_KEY_PREFIX", ""}}).key_prefix, "");
}

TEST(settings_strings, websocket_manager_is_compared_verbatim) {
  EXPECT_TRUE(load({{"WEBSOCKET_MANAGER", "redis"}, {"REDIS_URL", "redis://h"}}).redis_manager());
  const settings s = load({{"WEBSOCKET_MANAGER", "Redis"}, {"REDIS_URL", "redis://h"}});
  EXPECT_FALSE(s.redis_manager());
  EXPECT_EQ(s.websocket_manager, "Redis");
  EXPECT_THAT(s.warnings, names("WEBSOCKET_MANAGER"));
  EXPECT_THAT(s.errors, IsEmpty());
  const settings local = load({{"WEBSOCKET_MANAGER", "local"}});
  EXPECT_FALSE(local.redis_manager());
  EXPECT_THAT(local.warnings, IsEmpty());
}

TEST(settings_strings, session_cookie_same_site_is_raw) {
  const settings s = load({{"WEBUI_SESSION_COOKIE_SAME_SITE", "strict"}});
  EXPECT_EQ(s.session_cookie_same_site, "strict");
}

TEST(settings_strings, jwt_expires_in_is_raw) {
  EXPECT_EQ(load({{"JWT_EXPIRES_IN", "1h30m"}}).jwt_expires_in, "1h30m");
  EXPECT_EQ(load({{"JWT_EXPIRES_IN", "-1"}}).jwt_expires_in, "-1");
}

TEST(settings_strings, sentinel_credentials_are_raw) {
  const settings s =
      load({{"REDIS_SENTINEL_USERNAME", "sentinel-user"}, {"REDIS_SENTINEL_PASSWORD", " p w "}});
  EXPECT_EQ(s.sentinel_username, "sentinel-user");
  EXPECT_EQ(s.sentinel_password, " p w ");
}

TEST(settings_strings, cors_allow_origin_is_split_on_semicolons_verbatim) {
  EXPECT_THAT(load({{"CORS_ALLOW_ORIGIN", "https://a.example;http://b.example:3000"}})
                  .cors_allow_origin,
              ElementsAre("https://a.example", "http://b.example:3000"));
  EXPECT_THAT(load({{"CORS_ALLOW_ORIGIN", "https://a.example"}}).cors_allow_origin,
              ElementsAre("https://a.example"));
  // str.split(";") keeps empty items and does not strip.
  EXPECT_THAT(load({{"CORS_ALLOW_ORIGIN", "a;;b; c"}}).cors_allow_origin,
              ElementsAre("a", "", "b", " c"));
  EXPECT_THAT(load({{"CORS_ALLOW_ORIGIN", ""}}).cors_allow_origin, ElementsAre(""));
}

// ---------------------------------------------------------------------------------------------
// Inheritance, both directions

TEST(settings_inheritance, websocket_redis_url_defaults_to_redis_url) {
  const settings s = load({{"REDIS_URL", "redis://app:6379/0"}});
  EXPECT_EQ(s.ws_redis.url, "redis://app:6379/0");
  EXPECT_TRUE(s.ws_redis.configured());
}

TEST(settings_inheritance, websocket_redis_url_overrides_redis_url) {
  const settings s =
      load({{"REDIS_URL", "redis://app:6379/0"}, {"WEBSOCKET_REDIS_URL", "redis://ws:6379/1"}});
  EXPECT_EQ(s.app_redis.url, "redis://app:6379/0");
  EXPECT_EQ(s.ws_redis.url, "redis://ws:6379/1");
  // And WEBSOCKET_REDIS_URL alone does not configure the App Redis.
  const settings only_ws = load({{"WEBSOCKET_REDIS_URL", "redis://ws:6379/1"}});
  EXPECT_EQ(only_ws.app_redis.url, "");
  EXPECT_EQ(only_ws.ws_redis.url, "redis://ws:6379/1");
}

TEST(settings_inheritance, websocket_redis_url_set_empty_does_not_inherit) {
  const settings s = load({{"REDIS_URL", "redis://app"}, {"WEBSOCKET_REDIS_URL", ""}});
  EXPECT_EQ(s.ws_redis.url, "");
}

TEST(settings_inheritance, websocket_redis_cluster_follows_redis_cluster) {
  const settings s = load({{"REDIS_URL", "redis://n1:7000"}, {"REDIS_CLUSTER", "TRUE"}});
  EXPECT_TRUE(s.app_redis.cluster);
  EXPECT_TRUE(s.ws_redis.cluster);
  const settings off = load({{"REDIS_URL", "redis://n1:7000"}, {"REDIS_CLUSTER", "yes"}});
  EXPECT_FALSE(off.ws_redis.cluster);
}

TEST(settings_inheritance, websocket_redis_cluster_overrides_redis_cluster) {
  const settings off = load({{"REDIS_URL", "redis://n1:7000"},
                             {"REDIS_CLUSTER", "true"},
                             {"WEBSOCKET_REDIS_CLUSTER", "false"}});
  EXPECT_TRUE(off.app_redis.cluster);
  EXPECT_FALSE(off.ws_redis.cluster);
  const settings on = load({{"REDIS_URL", "redis://n1:7000"}, {"WEBSOCKET_REDIS_CLUSTER", "true"}});
  EXPECT_FALSE(on.app_redis.cluster);
  EXPECT_TRUE(on.ws_redis.cluster);
  // An empty value overrides an inherited true, which deserves a warning.
  const settings empty = load({{"REDIS_URL", "redis://n1:7000"},
                               {"REDIS_CLUSTER", "true"},
                               {"WEBSOCKET_REDIS_CLUSTER", ""}});
  EXPECT_FALSE(empty.ws_redis.cluster);
  EXPECT_THAT(empty.warnings, names("WEBSOCKET_REDIS_CLUSTER"));
}

TEST(settings_inheritance, websocket_sentinel_hosts_do_not_inherit) {
  const settings s = load({{"REDIS_URL", "redis://mymaster/0"},
                           {"REDIS_SENTINEL_HOSTS", "s1,s2"},
                           {"REDIS_SENTINEL_PORT", "26380"}});
  EXPECT_EQ(s.app_redis.sentinels.size(), 2u);
  EXPECT_THAT(s.ws_redis.sentinels, IsEmpty());
  EXPECT_EQ(s.ws_redis.sentinel_port, 26379);  // nor does the port
  EXPECT_THAT(s.errors, IsEmpty());
}

TEST(settings_inheritance, websocket_sentinel_hosts_are_their_own) {
  const settings s = load({{"REDIS_URL", "redis://mymaster/0"},
                           {"WEBSOCKET_SENTINEL_HOSTS", "w1"},
                           {"WEBSOCKET_SENTINEL_PORT", "26390"}});
  EXPECT_THAT(s.app_redis.sentinels, IsEmpty());
  EXPECT_THAT(s.ws_redis.sentinels, ElementsAre(sentinel_address{"w1", 26390}));
  EXPECT_EQ(s.ws_redis.url, "redis://mymaster/0");
  EXPECT_THAT(s.errors, IsEmpty());
}

TEST(settings_inheritance, engineio_logging_follows_server_logging) {
  EXPECT_TRUE(load({{"WEBSOCKET_SERVER_LOGGING", "True"}}).websocket_engineio_logging);
  const settings s = load({{"WEBSOCKET_SERVER_LOGGING", "on"}});
  EXPECT_FALSE(s.websocket_engineio_logging);
  // Only the variable that was actually set is blamed.
  EXPECT_THAT(variables(s.warnings), ElementsAre("WEBSOCKET_SERVER_LOGGING"));
}

TEST(settings_inheritance, engineio_logging_overrides_server_logging) {
  const settings a = load(
      {{"WEBSOCKET_SERVER_LOGGING", "true"}, {"WEBSOCKET_SERVER_ENGINEIO_LOGGING", "false"}});
  EXPECT_TRUE(a.websocket_server_logging);
  EXPECT_FALSE(a.websocket_engineio_logging);
  const settings b = load({{"WEBSOCKET_SERVER_ENGINEIO_LOGGING", "true"}});
  EXPECT_FALSE(b.websocket_server_logging);
  EXPECT_TRUE(b.websocket_engineio_logging);
}

TEST(settings_inheritance, auth_cookie_follows_session_cookie) {
  const settings s =
      load({{"WEBUI_SESSION_COOKIE_SAME_SITE", "none"}, {"WEBUI_SESSION_COOKIE_SECURE", "TRUE"}});
  EXPECT_EQ(s.auth_cookie_same_site, "none");
  EXPECT_TRUE(s.auth_cookie_secure);
}

TEST(settings_inheritance, auth_cookie_overrides_session_cookie) {
  const settings s = load({{"WEBUI_SESSION_COOKIE_SAME_SITE", "none"},
                           {"WEBUI_SESSION_COOKIE_SECURE", "true"},
                           {"WEBUI_AUTH_COOKIE_SAME_SITE", "strict"},
                           {"WEBUI_AUTH_COOKIE_SECURE", "false"}});
  EXPECT_EQ(s.session_cookie_same_site, "none");
  EXPECT_TRUE(s.session_cookie_secure);
  EXPECT_EQ(s.auth_cookie_same_site, "strict");
  EXPECT_FALSE(s.auth_cookie_secure);
  const settings only_auth = load({{"WEBUI_AUTH_COOKIE_SECURE", "true"}});
  EXPECT_FALSE(only_auth.session_cookie_secure);
  EXPECT_TRUE(only_auth.auth_cookie_secure);
}

TEST(settings_inheritance, secret_key_falls_back_to_legacy_jwt_secret_key) {
  EXPECT_EQ(load({{"WEBUI_JWT_SECRET_KEY", "legacy"}}).webui_secret_key, "legacy");
}

TEST(settings_inheritance, secret_key_wins_over_legacy_even_when_empty) {
  EXPECT_EQ(load({{"WEBUI_SECRET_KEY", "new"}, {"WEBUI_JWT_SECRET_KEY", "legacy"}})
                .webui_secret_key,
            "new");
  EXPECT_EQ(load({{"WEBUI_SECRET_KEY", ""}, {"WEBUI_JWT_SECRET_KEY", "legacy"}}).webui_secret_key,
            "");
}

// ---------------------------------------------------------------------------------------------
// Sentinel hosts and ports (docs/wire.md, "Redis clients")

TEST(settings_sentinels, hosts_are_stripped_and_empty_items_dropped) {
  const settings s = load({{"REDIS_URL", "redis://mymaster/0"},
                           {"REDIS_SENTINEL_HOSTS", " a , ,b "},
                           {"REDIS_SENTINEL_PORT", "26380"}});
  EXPECT_THAT(s.app_redis.sentinels,
              ElementsAre(sentinel_address{"a", 26380}, sentinel_address{"b", 26380}));
  EXPECT_EQ(s.app_redis.sentinel_port, 26380);
  EXPECT_TRUE(s.app_redis.configured());
  EXPECT_THAT(s.errors, IsEmpty());
  EXPECT_THAT(s.warnings, IsEmpty());
}

TEST(settings_sentinels, default_port_applies_to_every_host) {
  const settings s =
      load({{"REDIS_URL", "redis://mymaster/0"}, {"REDIS_SENTINEL_HOSTS", "s1,s2,s3"}});
  EXPECT_THAT(s.app_redis.sentinels,
              ElementsAre(sentinel_address{"s1", 26379}, sentinel_address{"s2", 26379},
                          sentinel_address{"s3", 26379}));
}

TEST(settings_sentinels, only_separators_means_no_sentinels) {
  const settings s = load({{"REDIS_SENTINEL_HOSTS", " , ,"}});
  EXPECT_THAT(s.app_redis.sentinels, IsEmpty());
  EXPECT_FALSE(s.app_redis.configured());
  EXPECT_THAT(s.errors, IsEmpty());
}

TEST(settings_sentinels, port_accepts_what_python_int_accepts) {
  for (const auto& [text, port] : std::vector<std::pair<std::string, std::uint16_t>>{
           {" 26381 ", 26381}, {"+26382", 26382}, {"26_383", 26383}, {"", 26379}}) {
    const settings s = load({{"REDIS_URL", "redis://mymaster"},
                             {"REDIS_SENTINEL_HOSTS", "s1"},
                             {"REDIS_SENTINEL_PORT", text}});
    EXPECT_THAT(s.app_redis.sentinels, ElementsAre(sentinel_address{"s1", port})) << text;
    EXPECT_THAT(s.errors, IsEmpty()) << text;
  }
}

TEST(settings_sentinels, malformed_port_with_hosts_is_fatal) {
  for (const char* bad : {"abc", "0", "65536", "-1", "26379.0", "2637 9", "1__0"}) {
    const settings s = load({{"REDIS_URL", "redis://mymaster"},
                             {"REDIS_SENTINEL_HOSTS", "s1"},
                             {"REDIS_SENTINEL_PORT", bad}});
    const auto* e = find_issue(s.errors, "REDIS_SENTINEL_PORT");
    ASSERT_NE(e, nullptr) << bad;
    EXPECT_THAT(e->message, HasSubstr(bad));
  }
}

TEST(settings_sentinels, malformed_port_without_hosts_only_warns) {
  const settings s = load({{"REDIS_SENTINEL_PORT", "abc"}});
  EXPECT_THAT(s.errors, IsEmpty());
  EXPECT_THAT(s.warnings, names("REDIS_SENTINEL_PORT"));
  EXPECT_EQ(s.app_redis.sentinel_port, 26379);
}

TEST(settings_sentinels, websocket_port_malformed_with_hosts_is_fatal) {
  const settings s = load({{"REDIS_URL", "redis://mymaster"},
                           {"WEBSOCKET_SENTINEL_HOSTS", "w1"},
                           {"WEBSOCKET_SENTINEL_PORT", "x"}});
  EXPECT_THAT(s.errors, names("WEBSOCKET_SENTINEL_PORT"));
  EXPECT_THAT(s.errors, Not(names("REDIS_SENTINEL_PORT")));
}

TEST(settings_sentinels, websocket_port_malformed_without_hosts_only_warns) {
  const settings s = load({{"WEBSOCKET_SENTINEL_PORT", "x"}});
  EXPECT_THAT(s.errors, IsEmpty());
  EXPECT_THAT(s.warnings, names("WEBSOCKET_SENTINEL_PORT"));
}

TEST(settings_sentinels, websocket_hosts_are_parsed_like_app_hosts) {
  const settings s = load({{"REDIS_URL", "redis://mymaster"},
                           {"WEBSOCKET_SENTINEL_HOSTS", "x ,, y"},
                           {"WEBSOCKET_SENTINEL_PORT", "5000"}});
  EXPECT_THAT(s.ws_redis.sentinels,
              ElementsAre(sentinel_address{"x", 5000}, sentinel_address{"y", 5000}));
}

// ---------------------------------------------------------------------------------------------
// Fatal cross-variable checks

TEST(settings_errors, sentinel_hosts_without_url_names_both_variables) {
  const settings s = load({{"REDIS_SENTINEL_HOSTS", "s1"}});
  const auto* e = find_issue(s.errors, "REDIS_URL");
  ASSERT_NE(e, nullptr);
  EXPECT_THAT(e->message, HasSubstr("REDIS_SENTINEL_HOSTS"));
  EXPECT_THAT(e->message, HasSubstr("REDIS_URL"));
}

TEST(settings_errors, websocket_sentinel_hosts_without_url_names_both_variables) {
  const settings s = load({{"WEBSOCKET_SENTINEL_HOSTS", "w1"}});
  const auto* e = find_issue(s.errors, "WEBSOCKET_REDIS_URL");
  ASSERT_NE(e, nullptr);
  EXPECT_THAT(e->message, HasSubstr("WEBSOCKET_SENTINEL_HOSTS"));
  EXPECT_THAT(e->message, HasSubstr("WEBSOCKET_REDIS_URL"));
  // The App client is not configured at all, which is fine.
  EXPECT_THAT(s.errors, Not(names("REDIS_URL")));
}

TEST(settings_errors, cluster_without_url_is_fatal) {
  const settings s = load({{"REDIS_CLUSTER", "true"}});
  EXPECT_THAT(s.errors, names("REDIS_CLUSTER"));
  EXPECT_THAT(load({{"REDIS_CLUSTER", "true"}, {"REDIS_URL", "redis://n1:7000"}}).errors,
              IsEmpty());
}

TEST(settings_errors, cluster_is_ignored_with_sentinels) {
  const settings s = load({{"REDIS_CLUSTER", "true"},
                           {"REDIS_URL", "redis://mymaster"},
                           {"REDIS_SENTINEL_HOSTS", "s1"}});
  EXPECT_THAT(s.errors, IsEmpty());
  EXPECT_THAT(s.warnings, names("REDIS_CLUSTER"));
}

TEST(settings_errors, websocket_cluster_with_redis_manager_needs_a_url) {
  const settings s = load({{"WEBSOCKET_REDIS_CLUSTER", "true"}, {"WEBSOCKET_MANAGER", "redis"}});
  EXPECT_THAT(variables(s.errors), ElementsAre("WEBSOCKET_REDIS_CLUSTER"));
  // Not fatal without the Redis manager: the WS client is never built.
  EXPECT_THAT(load({{"WEBSOCKET_REDIS_CLUSTER", "true"}}).errors, IsEmpty());
  // Fine with a URL.
  EXPECT_THAT(load({{"WEBSOCKET_REDIS_CLUSTER", "true"},
                    {"WEBSOCKET_MANAGER", "redis"},
                    {"WEBSOCKET_REDIS_URL", "redis://n1:7000"}})
                  .errors,
              IsEmpty());
}

TEST(settings_errors, redis_manager_without_any_websocket_redis_is_fatal) {
  EXPECT_THAT(load({{"WEBSOCKET_MANAGER", "redis"}}).errors, names("WEBSOCKET_REDIS_URL"));
  EXPECT_THAT(load({{"WEBSOCKET_MANAGER", "redis"}, {"REDIS_URL", "redis://h"}}).errors,
              IsEmpty());
  EXPECT_THAT(load({{"WEBSOCKET_MANAGER", "redis"},
                    {"REDIS_URL", "redis://h"},
                    {"WEBSOCKET_REDIS_URL", ""}})
                  .errors,
              names("WEBSOCKET_REDIS_URL"));
}

TEST(settings_errors, star_sessions_without_redis_url_warns) {
  const settings s = load({{"ENABLE_STAR_SESSIONS_MIDDLEWARE", "true"}});
  EXPECT_TRUE(s.enable_star_sessions_middleware);
  EXPECT_THAT(s.warnings, names("ENABLE_STAR_SESSIONS_MIDDLEWARE"));
  EXPECT_THAT(s.errors, IsEmpty());
}

// ---------------------------------------------------------------------------------------------
// Integers and floats with their documented fallbacks

TEST(settings_numbers, sentinel_max_retry_count) {
  EXPECT_EQ(load({{"REDIS_SENTINEL_MAX_RETRY_COUNT", "5"}}).sentinel_max_retry_count, 5);
  EXPECT_EQ(load({{"REDIS_SENTINEL_MAX_RETRY_COUNT", " +1 "}}).sentinel_max_retry_count, 1);
  EXPECT_EQ(load({{"REDIS_SENTINEL_MAX_RETRY_COUNT", "1_0"}}).sentinel_max_retry_count, 10);
  const settings empty = load({{"REDIS_SENTINEL_MAX_RETRY_COUNT", ""}});
  EXPECT_EQ(empty.sentinel_max_retry_count, 2);
  EXPECT_THAT(empty.warnings, IsEmpty());
  for (const char* bad : {"0", "-3", "abc", "3.0", "10s", "99999999999999999999"}) {
    const settings s = load({{"REDIS_SENTINEL_MAX_RETRY_COUNT", bad}});
    EXPECT_EQ(s.sentinel_max_retry_count, 2) << bad;
    const auto* w = find_issue(s.warnings, "REDIS_SENTINEL_MAX_RETRY_COUNT");
    ASSERT_NE(w, nullptr) << bad;
    EXPECT_THAT(w->message, HasSubstr("using 2"));
  }
}

TEST(settings_numbers, reconnect_delay) {
  EXPECT_THAT(load({{"REDIS_RECONNECT_DELAY", "250"}}).reconnect_delay_ms, Optional(250.0));
  EXPECT_THAT(load({{"REDIS_RECONNECT_DELAY", " 1.5 "}}).reconnect_delay_ms, Optional(1.5));
  EXPECT_THAT(load({{"REDIS_RECONNECT_DELAY", "1e3"}}).reconnect_delay_ms, Optional(1000.0));
  const settings zero = load({{"REDIS_RECONNECT_DELAY", "0"}});
  EXPECT_THAT(zero.reconnect_delay_ms, Optional(0.0));
  EXPECT_THAT(zero.warnings, IsEmpty());
  const settings empty = load({{"REDIS_RECONNECT_DELAY", ""}});
  EXPECT_EQ(empty.reconnect_delay_ms, std::nullopt);
  EXPECT_THAT(empty.warnings, IsEmpty());
  for (const char* bad : {"-5", "abc", "10ms", "inf", "nan", "-inf", "1e999"}) {
    const settings s = load({{"REDIS_RECONNECT_DELAY", bad}});
    EXPECT_EQ(s.reconnect_delay_ms, std::nullopt) << bad;
    EXPECT_THAT(s.warnings, names("REDIS_RECONNECT_DELAY")) << bad;
  }
}

TEST(settings_numbers, socket_connect_timeout) {
  EXPECT_THAT(load({{"REDIS_SOCKET_CONNECT_TIMEOUT", "5"}}).socket.connect_timeout_s,
              Optional(5.0));
  EXPECT_THAT(load({{"REDIS_SOCKET_CONNECT_TIMEOUT", "2.5"}}).socket.connect_timeout_s,
              Optional(2.5));
  const settings empty = load({{"REDIS_SOCKET_CONNECT_TIMEOUT", ""}});
  EXPECT_EQ(empty.socket.connect_timeout_s, std::nullopt);
  EXPECT_THAT(empty.warnings, IsEmpty());
  // 0 is kept (Python passes it) but flagged, since it breaks every connect in Python.
  const settings zero = load({{"REDIS_SOCKET_CONNECT_TIMEOUT", "0"}});
  EXPECT_THAT(zero.socket.connect_timeout_s, Optional(0.0));
  EXPECT_THAT(zero.warnings, names("REDIS_SOCKET_CONNECT_TIMEOUT"));
  for (const char* bad : {"abc", "5s", "-1", "inf", "nan"}) {
    const settings s = load({{"REDIS_SOCKET_CONNECT_TIMEOUT", bad}});
    EXPECT_EQ(s.socket.connect_timeout_s, std::nullopt) << bad;
    EXPECT_THAT(s.warnings, names("REDIS_SOCKET_CONNECT_TIMEOUT")) << bad;
  }
}

TEST(settings_numbers, socket_timeout) {
  EXPECT_THAT(load({{"REDIS_SOCKET_TIMEOUT", "7.5"}}).socket.socket_timeout_s, Optional(7.5));
  // Python passes socket_timeout only when truthy: 0 is the same as unset.
  const settings zero = load({{"REDIS_SOCKET_TIMEOUT", "0"}});
  EXPECT_EQ(zero.socket.socket_timeout_s, std::nullopt);
  EXPECT_THAT(zero.warnings, IsEmpty());
  for (const char* bad : {"abc", "-2", "inf"}) {
    const settings s = load({{"REDIS_SOCKET_TIMEOUT", bad}});
    EXPECT_EQ(s.socket.socket_timeout_s, std::nullopt) << bad;
    EXPECT_THAT(s.warnings, names("REDIS_SOCKET_TIMEOUT")) << bad;
  }
}

TEST(settings_numbers, health_check_interval) {
  EXPECT_THAT(load({{"REDIS_HEALTH_CHECK_INTERVAL", "30"}}).socket.health_check_interval_s,
              Optional(30));
  const settings zero = load({{"REDIS_HEALTH_CHECK_INTERVAL", "0"}});
  EXPECT_EQ(zero.socket.health_check_interval_s, std::nullopt);
  EXPECT_THAT(zero.warnings, IsEmpty());
  for (const char* bad : {"-1", "abc", "1.5", "30s"}) {
    const settings s = load({{"REDIS_HEALTH_CHECK_INTERVAL", bad}});
    EXPECT_EQ(s.socket.health_check_interval_s, std::nullopt) << bad;
    EXPECT_THAT(s.warnings, names("REDIS_HEALTH_CHECK_INTERVAL")) << bad;
  }
}

TEST(settings_numbers, websocket_redis_lock_timeout) {
  EXPECT_EQ(load({{"WEBSOCKET_REDIS_LOCK_TIMEOUT", "30"}}).websocket_redis_lock_timeout_s, 30);
  for (const char* bad : {"abc", "0", "-5", "60s"}) {
    const settings s = load({{"WEBSOCKET_REDIS_LOCK_TIMEOUT", bad}});
    EXPECT_EQ(s.websocket_redis_lock_timeout_s, 60) << bad;
    EXPECT_THAT(s.warnings, names("WEBSOCKET_REDIS_LOCK_TIMEOUT")) << bad;
  }
}

TEST(settings_numbers, uvicorn_workers) {
  EXPECT_EQ(load({{"UVICORN_WORKERS", "4"}}).uvicorn_workers, 4);
  for (const char* bad : {"0", "-2", "four"}) {
    const settings s = load({{"UVICORN_WORKERS", bad}});
    EXPECT_EQ(s.uvicorn_workers, 1) << bad;
    EXPECT_THAT(s.warnings, names("UVICORN_WORKERS")) << bad;
  }
}

TEST(settings_numbers, ping_interval_and_timeout) {
  const settings s =
      load({{"WEBSOCKET_SERVER_PING_INTERVAL", "10"}, {"WEBSOCKET_SERVER_PING_TIMEOUT", "5"}});
  EXPECT_EQ(s.websocket_ping_interval_s, 10);
  EXPECT_EQ(s.websocket_ping_timeout_s, 5);
  for (const char* bad : {"abc", "2.5", "0"}) {
    const settings b =
        load({{"WEBSOCKET_SERVER_PING_INTERVAL", bad}, {"WEBSOCKET_SERVER_PING_TIMEOUT", bad}});
    EXPECT_EQ(b.websocket_ping_interval_s, 25) << bad;
    EXPECT_EQ(b.websocket_ping_timeout_s, 20) << bad;
    EXPECT_THAT(b.warnings, names("WEBSOCKET_SERVER_PING_INTERVAL")) << bad;
    EXPECT_THAT(b.warnings, names("WEBSOCKET_SERVER_PING_TIMEOUT")) << bad;
  }
}

TEST(settings_numbers, event_caller_timeout) {
  EXPECT_THAT(load({{"WEBSOCKET_EVENT_CALLER_TIMEOUT", "30"}}).websocket_event_caller_timeout_s,
              Optional(30));
  const settings empty = load({{"WEBSOCKET_EVENT_CALLER_TIMEOUT", ""}});
  EXPECT_EQ(empty.websocket_event_caller_timeout_s, std::nullopt);  // wait forever
  EXPECT_THAT(empty.warnings, IsEmpty());
  for (const char* bad : {"abc", "30s", "1.5", "0", "-1"}) {
    const settings s = load({{"WEBSOCKET_EVENT_CALLER_TIMEOUT", bad}});
    EXPECT_THAT(s.websocket_event_caller_timeout_s, Optional(300)) << bad;
    EXPECT_THAT(s.warnings, names("WEBSOCKET_EVENT_CALLER_TIMEOUT")) << bad;
  }
}

TEST(settings_numbers, chat_response_stream_delta_chunk_size) {
  EXPECT_EQ(load({{"CHAT_RESPONSE_STREAM_DELTA_CHUNK_SIZE", "8"}})
                .chat_response_stream_delta_chunk_size,
            8);
  for (const char* bad : {"eight", "0", "-4"}) {
    const settings s = load({{"CHAT_RESPONSE_STREAM_DELTA_CHUNK_SIZE", bad}});
    EXPECT_EQ(s.chat_response_stream_delta_chunk_size, 1) << bad;
    EXPECT_THAT(s.warnings, names("CHAT_RESPONSE_STREAM_DELTA_CHUNK_SIZE")) << bad;
  }
}

TEST(settings_numbers, oauth_token_exchange_rate_limit) {
  EXPECT_THAT(load({{"OAUTH_TOKEN_EXCHANGE_RATE_LIMIT", "10"}}).oauth_token_exchange_rate_limit,
              Optional(10));
  EXPECT_THAT(load({{"OAUTH_TOKEN_EXCHANGE_RATE_LIMIT", "0"}}).oauth_token_exchange_rate_limit,
              Optional(0));
  for (const char* none : {"none", "None", "NONE", ""}) {
    const settings s = load({{"OAUTH_TOKEN_EXCHANGE_RATE_LIMIT", none}});
    EXPECT_EQ(s.oauth_token_exchange_rate_limit, std::nullopt) << none;
    EXPECT_THAT(s.warnings, IsEmpty()) << none;
  }
  for (const char* bad : {"ten", "-1", "10/min"}) {
    const settings s = load({{"OAUTH_TOKEN_EXCHANGE_RATE_LIMIT", bad}});
    EXPECT_EQ(s.oauth_token_exchange_rate_limit, std::nullopt) << bad;
    EXPECT_THAT(s.warnings, names("OAUTH_TOKEN_EXCHANGE_RATE_LIMIT")) << bad;
  }
}

TEST(settings_numbers, oauth_token_exchange_rate_limit_window) {
  EXPECT_THAT(load({{"OAUTH_TOKEN_EXCHANGE_RATE_LIMIT_WINDOW", "60"}})
                  .oauth_token_exchange_rate_limit_window_s,
              Optional(60));
  EXPECT_EQ(load({{"OAUTH_TOKEN_EXCHANGE_RATE_LIMIT_WINDOW", "none"}})
                .oauth_token_exchange_rate_limit_window_s,
            std::nullopt);
  EXPECT_THAT(load({{"OAUTH_TOKEN_EXCHANGE_RATE_LIMIT_WINDOW", ""}})
                  .oauth_token_exchange_rate_limit_window_s,
              Optional(180));
  for (const char* bad : {"3m", "0", "-60"}) {
    const settings s = load({{"OAUTH_TOKEN_EXCHANGE_RATE_LIMIT_WINDOW", bad}});
    EXPECT_THAT(s.oauth_token_exchange_rate_limit_window_s, Optional(180)) << bad;
    EXPECT_THAT(s.warnings, names("OAUTH_TOKEN_EXCHANGE_RATE_LIMIT_WINDOW")) << bad;
  }
}

TEST(settings_numbers, warning_says_what_was_wrong_and_what_was_used) {
  const settings s = load({{"WEBSOCKET_SERVER_PING_INTERVAL", "10s"}});
  ASSERT_EQ(s.warnings.size(), 1u);
  EXPECT_EQ(s.warnings[0].variable, "WEBSOCKET_SERVER_PING_INTERVAL");
  EXPECT_THAT(s.warnings[0].message, HasSubstr("'10s'"));
  EXPECT_THAT(s.warnings[0].message, HasSubstr("not an integer"));
  EXPECT_THAT(s.warnings[0].message, HasSubstr("using 25"));
}

// ---------------------------------------------------------------------------------------------
// WEBSOCKET_REDIS_OPTIONS

TEST(settings_websocket_options, empty_gives_null_socket_timeout) {
  EXPECT_EQ(load({{"WEBSOCKET_REDIS_OPTIONS", ""}}).websocket_redis_options,
            (boost::json::object{{"socket_timeout", nullptr}}));
}

TEST(settings_websocket_options, empty_picks_up_a_truthy_connect_timeout) {
  const settings s = load({{"REDIS_SOCKET_CONNECT_TIMEOUT", "5"}});
  EXPECT_EQ(s.websocket_redis_options,
            (boost::json::object{{"socket_timeout", nullptr}, {"socket_connect_timeout", 5.0}}));
  const settings zero = load({{"REDIS_SOCKET_CONNECT_TIMEOUT", "0"}});
  EXPECT_EQ(zero.websocket_redis_options, (boost::json::object{{"socket_timeout", nullptr}}));
}

TEST(settings_websocket_options, explicit_object_is_used_as_is_without_connect_timeout) {
  const settings s = load({{"REDIS_SOCKET_CONNECT_TIMEOUT", "5"},
                           {"WEBSOCKET_REDIS_OPTIONS", R"({"health_check_interval": 10})"}});
  EXPECT_EQ(s.websocket_redis_options,
            (boost::json::object{{"health_check_interval", 10}, {"socket_timeout", nullptr}}));
  EXPECT_THAT(s.warnings, IsEmpty());
}

TEST(settings_websocket_options, explicit_socket_timeout_is_kept) {
  const settings s = load({{"WEBSOCKET_REDIS_OPTIONS", R"( {"socket_timeout": 30} )"}});
  EXPECT_EQ(s.websocket_redis_options, (boost::json::object{{"socket_timeout", 30}}));
  EXPECT_EQ(load({{"WEBSOCKET_REDIS_OPTIONS", "{}"}}).websocket_redis_options,
            (boost::json::object{{"socket_timeout", nullptr}}));
}

TEST(settings_websocket_options, invalid_json_or_non_object_falls_back_with_a_warning) {
  for (const char* bad : {"{not json", "[1, 2]", "5", "\"x\"", "null", "socket_timeout=5"}) {
    const settings s =
        load({{"REDIS_SOCKET_CONNECT_TIMEOUT", "5"}, {"WEBSOCKET_REDIS_OPTIONS", bad}});
    EXPECT_EQ(s.websocket_redis_options, (boost::json::object{{"socket_timeout", nullptr}}))
        << bad;
    EXPECT_THAT(s.warnings, names("WEBSOCKET_REDIS_OPTIONS")) << bad;
  }
}

TEST(settings_websocket_options, warning_never_echoes_the_value) {
  const settings s = load({{"WEBSOCKET_REDIS_OPTIONS", R"({"password": "hunter2-secret")"}});
  const auto* w = find_issue(s.warnings, "WEBSOCKET_REDIS_OPTIONS");
  ASSERT_NE(w, nullptr);
  EXPECT_THAT(w->message, Not(HasSubstr("hunter2")));
}

// ---------------------------------------------------------------------------------------------
// owcore's own variables

TEST(settings_owcore, host) {
  EXPECT_EQ(load({{"HOST", "0.0.0.0"}}).host, "0.0.0.0");
  EXPECT_EQ(load({{"HOST", "::"}}).host, "::");
  EXPECT_EQ(load({{"HOST", ""}}).host, "127.0.0.1");
}

TEST(settings_owcore, port) {
  EXPECT_EQ(load({{"PORT", "3000"}}).port, 3000);
  EXPECT_EQ(load({{"PORT", " 65535 "}}).port, 65535);
  const settings empty = load({{"PORT", ""}});
  EXPECT_EQ(empty.port, 8080);
  EXPECT_THAT(empty.errors, IsEmpty());
  for (const char* bad : {"0", "65536", "-1", "http", "80.0", "8080x"}) {
    const settings s = load({{"PORT", bad}});
    EXPECT_THAT(variables(s.errors), ElementsAre("PORT")) << bad;
  }
}

TEST(settings_owcore, log_format) {
  EXPECT_EQ(load({{"LOG_FORMAT", "json"}}).log_format, "json");
  EXPECT_EQ(load({{"LOG_FORMAT", "JSON"}}).log_format, "json");
  EXPECT_EQ(load({{"LOG_FORMAT", "Text"}}).log_format, "text");
  EXPECT_EQ(load({{"LOG_FORMAT", ""}}).log_format, "text");
  for (const char* bad : {"xml", "logfmt", " json"}) {
    const settings s = load({{"LOG_FORMAT", bad}});
    EXPECT_THAT(variables(s.errors), ElementsAre("LOG_FORMAT")) << bad;
  }
}

TEST(settings_owcore, global_log_level) {
  EXPECT_EQ(load({{"GLOBAL_LOG_LEVEL", "debug"}}).log_level, "DEBUG");
  EXPECT_EQ(load({{"GLOBAL_LOG_LEVEL", "Warning"}}).log_level, "WARNING");
  EXPECT_EQ(load({{"GLOBAL_LOG_LEVEL", "CRITICAL"}}).log_level, "CRITICAL");
  EXPECT_EQ(load({{"GLOBAL_LOG_LEVEL", "error"}}).log_level, "ERROR");
  EXPECT_EQ(load({{"GLOBAL_LOG_LEVEL", "info"}}).log_level, "INFO");
  for (const char* bad : {"verbose", "WARN", "trace"}) {
    const settings s = load({{"GLOBAL_LOG_LEVEL", bad}});
    EXPECT_EQ(s.log_level, "INFO") << bad;
    EXPECT_THAT(s.warnings, names("GLOBAL_LOG_LEVEL")) << bad;
    EXPECT_THAT(s.errors, IsEmpty()) << bad;
  }
}

TEST(settings_owcore, data_dir) {
  EXPECT_EQ(load({{"DATA_DIR", "/var/lib/owcore"}}).data_dir, "/var/lib/owcore");
  EXPECT_EQ(load({{"DATA_DIR", ""}}).data_dir, "./data");
}

TEST(settings_owcore, threads) {
  EXPECT_EQ(load({{"OWCORE_THREADS", "4"}}).threads, 4);
  EXPECT_EQ(load({{"OWCORE_THREADS", "0"}}).threads, 0);
  for (const char* bad : {"-1", "many", "2.5"}) {
    const settings s = load({{"OWCORE_THREADS", bad}});
    EXPECT_EQ(s.threads, 0) << bad;
    EXPECT_THAT(s.warnings, names("OWCORE_THREADS")) << bad;
  }
}

TEST(settings_owcore, http_body_limit) {
  EXPECT_EQ(load({{"OWCORE_HTTP_BODY_LIMIT", "2048"}}).http_body_limit, 2048u);
  EXPECT_EQ(load({{"OWCORE_HTTP_BODY_LIMIT", "10_485_760"}}).http_body_limit, 10485760u);
  for (const char* bad : {"0", "-1", "1MB", "1e6"}) {
    const settings s = load({{"OWCORE_HTTP_BODY_LIMIT", bad}});
    EXPECT_EQ(s.http_body_limit, 1024u * 1024u) << bad;
    EXPECT_THAT(s.warnings, names("OWCORE_HTTP_BODY_LIMIT")) << bad;
  }
}

struct seconds_case {
  const char* variable;
  double default_value;
  std::function<double(const settings&)> get;
};

void PrintTo(const seconds_case& c, std::ostream* os) { *os << c.variable; }

class settings_seconds : public ::testing::TestWithParam<seconds_case> {};

TEST_P(settings_seconds, accepts_positive_floats) {
  const auto& p = GetParam();
  EXPECT_DOUBLE_EQ(p.get(load({})), p.default_value);
  EXPECT_DOUBLE_EQ(p.get(load({{p.variable, "2.5"}})), 2.5);
  EXPECT_DOUBLE_EQ(p.get(load({{p.variable, " 120 "}})), 120);
  EXPECT_DOUBLE_EQ(p.get(load({{p.variable, "1e2"}})), 100);
  EXPECT_DOUBLE_EQ(p.get(load({{p.variable, ".5"}})), 0.5);
  EXPECT_DOUBLE_EQ(p.get(load({{p.variable, ""}})), p.default_value);
}

TEST_P(settings_seconds, malformed_gives_default_with_a_warning) {
  const auto& p = GetParam();
  for (const char* bad : {"0", "-1", "abc", "30s", "inf", "nan", "1e", "1..2", "_1"}) {
    const settings s = load({{p.variable, bad}});
    EXPECT_DOUBLE_EQ(p.get(s), p.default_value) << bad;
    EXPECT_THAT(s.warnings, names(p.variable)) << bad;
  }
}

INSTANTIATE_TEST_SUITE_P(
    owcore_timeouts, settings_seconds,
    ::testing::Values(
        seconds_case{"OWCORE_HTTP_REQUEST_TIMEOUT", 30,
                     [](const settings& s) { return s.http_request_timeout_s; }},
        seconds_case{"OWCORE_HTTP_IDLE_TIMEOUT", 65,
                     [](const settings& s) { return s.http_idle_timeout_s; }},
        seconds_case{"OWCORE_SHUTDOWN_TIMEOUT", 10,
                     [](const settings& s) { return s.shutdown_timeout_s; }}),
    [](const auto& test_info) { return std::string(test_info.param.variable); });

TEST(settings_owcore, process_env_reads_the_real_environment) {
  ASSERT_EQ(::setenv("OWCORE_SETTINGS_TEST_VARIABLE", "value 1", 1), 0);
  const auto env = owcore::app::process_env();
  EXPECT_THAT(env("OWCORE_SETTINGS_TEST_VARIABLE"), Optional(std::string("value 1")));
  ASSERT_EQ(::unsetenv("OWCORE_SETTINGS_TEST_VARIABLE"), 0);
  EXPECT_EQ(env("OWCORE_SETTINGS_TEST_VARIABLE"), std::nullopt);
}

// ---------------------------------------------------------------------------------------------
// mask_url_password

TEST(mask_url_password, replaces_only_the_password) {
  EXPECT_EQ(mask_url_password("redis://user:pw@redis.example:6379/0"),
            "redis://user:***@redis.example:6379/0");
  EXPECT_EQ(mask_url_password("redis://:pw@h"), "redis://:***@h");
  EXPECT_EQ(mask_url_password("rediss://default:p%40ss@h:6380/1?ssl_cert_reqs=none"),
            "rediss://default:***@h:6380/1?ssl_cert_reqs=none");
}

TEST(mask_url_password, leaves_urls_without_a_password_alone) {
  for (const char* u : {"redis://h:6379/0", "redis://user@h", "redis://user:@h", "",
                        "redis://h/0?db=1"}) {
    EXPECT_EQ(mask_url_password(u), u);
  }
}

TEST(mask_url_password, masks_password_query_parameters) {
  EXPECT_EQ(mask_url_password("redis://h:6379/0?password=pw&db=1"),
            "redis://h:6379/0?password=***&db=1");
}

TEST(mask_url_password, unparsable_input_is_masked_between_scheme_and_last_at) {
  EXPECT_EQ(mask_url_password("redis://us er:p@ss@h:6379"), "redis://***@h:6379");
  EXPECT_EQ(mask_url_password("redis://u:p w@h"), "redis://***@h");
  EXPECT_EQ(mask_url_password("not a url"), "not a url");
  EXPECT_EQ(mask_url_password("redis://bad host"), "redis://bad host");
}

// Found by tests/fuzz/config_fuzz.cpp: Boost.URL reads this authority without a password, while
// urllib.parse (redis-py) finds "63cr3tpassword" after the last '@' split.
TEST(mask_url_password, a_password_python_sees_is_masked_even_when_a_strict_parser_does_not) {
  EXPECT_EQ(mask_url_password("redis://dd@host:63cr3tpassword@host:6379/0"), "redis://***@host:6379/0");
}

// ---------------------------------------------------------------------------------------------
// to_json

TEST(settings_to_json, has_every_variable_with_effective_values) {
  const settings s = load({{"REDIS_URL", "redis://mymaster/0"},
                           {"REDIS_SENTINEL_HOSTS", "s1, s2"},
                           {"REDIS_SENTINEL_PORT", "26380"},
                           {"REDIS_RECONNECT_DELAY", "250"},
                           {"REDIS_SOCKET_CONNECT_TIMEOUT", "2.5"},
                           {"CORS_ALLOW_ORIGIN", "https://a;https://b"},
                           {"UVICORN_WORKERS", "0"}});
  const boost::json::object j = to_json(s);

  for (const char* key :
       {"REDIS_URL", "REDIS_CLUSTER", "REDIS_KEY_PREFIX", "REDIS_SENTINEL_HOSTS",
        "REDIS_SENTINEL_PORT", "REDIS_SENTINEL_MAX_RETRY_COUNT", "REDIS_RECONNECT_DELAY",
        "REDIS_SOCKET_CONNECT_TIMEOUT", "REDIS_SOCKET_TIMEOUT", "REDIS_SOCKET_KEEPALIVE",
        "REDIS_HEALTH_CHECK_INTERVAL", "REDIS_SENTINEL_USERNAME", "REDIS_SENTINEL_PASSWORD",
        "UVICORN_WORKERS", "ENABLE_WEBSOCKET_SUPPORT", "WEBSOCKET_MANAGER",
        "WEBSOCKET_REDIS_URL", "WEBSOCKET_REDIS_CLUSTER", "WEBSOCKET_SENTINEL_HOSTS",
        "WEBSOCKET_SENTINEL_PORT", "WEBSOCKET_REDIS_OPTIONS", "WEBSOCKET_REDIS_LOCK_TIMEOUT",
        "WEBSOCKET_SERVER_PING_INTERVAL", "WEBSOCKET_SERVER_PING_TIMEOUT",
        "WEBSOCKET_SERVER_LOGGING", "WEBSOCKET_SERVER_ENGINEIO_LOGGING",
        "WEBSOCKET_EVENT_CALLER_TIMEOUT", "CORS_ALLOW_ORIGIN",
        "CHAT_RESPONSE_STREAM_DELTA_CHUNK_SIZE", "ENABLE_ORJSON",
        "ENABLE_STAR_SESSIONS_MIDDLEWARE", "WEBUI_SESSION_COOKIE_SAME_SITE",
        "WEBUI_SESSION_COOKIE_SECURE", "WEBUI_AUTH_COOKIE_SAME_SITE", "WEBUI_AUTH_COOKIE_SECURE",
        "WEBUI_SECRET_KEY", "JWT_EXPIRES_IN", "ENABLE_OAUTH_BACKCHANNEL_LOGOUT",
        "OAUTH_TOKEN_EXCHANGE_RATE_LIMIT", "OAUTH_TOKEN_EXCHANGE_RATE_LIMIT_WINDOW", "HOST",
        "PORT", "LOG_FORMAT", "GLOBAL_LOG_LEVEL", "DATA_DIR", "OWCORE_THREADS",
        "OWCORE_HTTP_BODY_LIMIT", "OWCORE_HTTP_REQUEST_TIMEOUT", "OWCORE_HTTP_IDLE_TIMEOUT",
        "OWCORE_SHUTDOWN_TIMEOUT", "warnings", "errors"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }

  EXPECT_EQ(j.at("REDIS_SENTINEL_HOSTS"), (boost::json::array{"s1:26380", "s2:26380"}));
  EXPECT_EQ(j.at("REDIS_SENTINEL_PORT").to_number<int>(), 26380);
  EXPECT_EQ(j.at("WEBSOCKET_SENTINEL_HOSTS"), boost::json::array{});
  EXPECT_EQ(j.at("REDIS_CLUSTER"), false);
  EXPECT_EQ(j.at("ENABLE_WEBSOCKET_SUPPORT"), true);
  EXPECT_EQ(j.at("REDIS_RECONNECT_DELAY").to_number<double>(), 250.0);
  EXPECT_EQ(j.at("REDIS_SOCKET_CONNECT_TIMEOUT").to_number<double>(), 2.5);
  EXPECT_TRUE(j.at("REDIS_SOCKET_TIMEOUT").is_null());
  EXPECT_TRUE(j.at("REDIS_HEALTH_CHECK_INTERVAL").is_null());
  EXPECT_TRUE(j.at("WEBSOCKET_EVENT_CALLER_TIMEOUT").is_null());
  EXPECT_TRUE(j.at("OAUTH_TOKEN_EXCHANGE_RATE_LIMIT").is_null());
  EXPECT_EQ(j.at("OAUTH_TOKEN_EXCHANGE_RATE_LIMIT_WINDOW").to_number<int>(), 180);
  EXPECT_EQ(j.at("UVICORN_WORKERS").to_number<int>(), 1);
  EXPECT_EQ(j.at("PORT").to_number<int>(), 8080);
  EXPECT_EQ(j.at("OWCORE_HTTP_BODY_LIMIT").to_number<std::uint64_t>(), 1024u * 1024u);
  EXPECT_EQ(j.at("OWCORE_HTTP_IDLE_TIMEOUT").to_number<double>(), 65.0);
  EXPECT_EQ(j.at("CORS_ALLOW_ORIGIN"), (boost::json::array{"https://a", "https://b"}));
  EXPECT_EQ(j.at("WEBSOCKET_REDIS_OPTIONS"),
            (boost::json::object{{"socket_timeout", nullptr}, {"socket_connect_timeout", 2.5}}));
  EXPECT_EQ(j.at("WEBSOCKET_REDIS_URL"), "redis://mymaster/0");
  EXPECT_EQ(j.at("LOG_FORMAT"), "text");
  EXPECT_EQ(j.at("WEBUI_SECRET_KEY"), "");

  const auto& warnings = j.at("warnings").as_array();
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].at("variable"), "UVICORN_WORKERS");
  EXPECT_TRUE(warnings[0].at("message").is_string());
  EXPECT_TRUE(j.at("errors").as_array().empty());
}

TEST(settings_to_json, errors_are_listed) {
  const boost::json::object j = to_json(load({{"PORT", "x"}}));
  const auto& errors = j.at("errors").as_array();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].at("variable"), "PORT");
}

TEST(settings_to_json, masks_every_secret) {
  const settings s = load({
      {"REDIS_URL", "redis://appuser:AppPw1Secret@redis.example:6379/0"},
      {"WEBSOCKET_REDIS_URL", "rediss://:WsPw2Secret@ws.example:6380/1?password=QueryPw3Secret"},
      {"REDIS_SENTINEL_PASSWORD", "SentinelPw4Secret"},
      {"REDIS_SENTINEL_USERNAME", "sentineluser"},
      {"WEBUI_SECRET_KEY", "JwtKey5Secret"},
      {"WEBSOCKET_REDIS_OPTIONS",
       R"({"password": "OptPw6Secret", "sentinel_kwargs": {"Password": "OptPw7Secret",
           "nested": [{"ssl_PASSWORD": "OptPw8Secret"}]}, "ssl_keyfile_password": null,
           "socket_timeout": 5})"},
  });
  ASSERT_THAT(s.errors, IsEmpty());
  const boost::json::object j = to_json(s);
  const std::string text = boost::json::serialize(j);
  for (const char* secret : {"AppPw1Secret", "WsPw2Secret", "QueryPw3Secret", "SentinelPw4Secret",
                             "JwtKey5Secret", "OptPw6Secret", "OptPw7Secret", "OptPw8Secret"}) {
    EXPECT_EQ(text.find(secret), std::string::npos) << secret << " leaked in " << text;
  }
  // The non-secret parts are still shown.
  EXPECT_EQ(j.at("REDIS_URL"), "redis://appuser:***@redis.example:6379/0");
  EXPECT_EQ(j.at("WEBSOCKET_REDIS_URL"), "rediss://:***@ws.example:6380/1?password=***");
  EXPECT_EQ(j.at("REDIS_SENTINEL_PASSWORD"), "***");
  EXPECT_EQ(j.at("REDIS_SENTINEL_USERNAME"), "sentineluser");
  EXPECT_EQ(j.at("WEBUI_SECRET_KEY"), "***");
  const auto& options = j.at("WEBSOCKET_REDIS_OPTIONS").as_object();
  EXPECT_EQ(options.at("password"), "***");
  EXPECT_EQ(options.at("sentinel_kwargs").at("Password"), "***");
  EXPECT_EQ(options.at("sentinel_kwargs").at("nested").at(0).at("ssl_PASSWORD"), "***");
  EXPECT_TRUE(options.at("ssl_keyfile_password").is_null());
  EXPECT_EQ(options.at("socket_timeout").to_number<int>(), 5);
  // The loaded settings themselves keep the real values for the code that connects.
  EXPECT_EQ(s.websocket_redis_options.at("password"), "OptPw6Secret");
  EXPECT_EQ(s.sentinel_password, "SentinelPw4Secret");
}

TEST(settings_to_json, round_trips_through_the_parser) {
  const std::string text = boost::json::serialize(to_json(load({})));
  boost::system::error_code ec;
  const auto v = boost::json::parse(text, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(v.at("REDIS_KEY_PREFIX"), "open-webui");
  EXPECT_EQ(v.at("GLOBAL_LOG_LEVEL"), "INFO");
  EXPECT_EQ(v.at("OWCORE_SHUTDOWN_TIMEOUT").to_number<double>(), 10.0);
}

TEST(settings_owcore, realtime_lease_and_any_document) {
  auto d = load({});
  EXPECT_EQ(d.realtime_lease_ttl_s, 30);
  EXPECT_FALSE(d.ydoc_any_document);
  auto s = load({{"OWCORE_REALTIME_LEASE_TTL", "2.5"}, {"OWCORE_YDOC_ANY_DOCUMENT", "True"}});
  EXPECT_EQ(s.realtime_lease_ttl_s, 2.5);
  EXPECT_TRUE(s.ydoc_any_document);
  auto bad = load({{"OWCORE_REALTIME_LEASE_TTL", "7200"}, {"OWCORE_YDOC_ANY_DOCUMENT", "yes"}});
  EXPECT_EQ(bad.realtime_lease_ttl_s, 30);
  EXPECT_FALSE(bad.ydoc_any_document);  // only "true" is true, as for Open WebUI's flags
  EXPECT_THAT(bad.warnings, Contains(Field(&setting_issue::variable, "OWCORE_REALTIME_LEASE_TTL")));
  EXPECT_THAT(bad.warnings, Contains(Field(&setting_issue::variable, "OWCORE_YDOC_ANY_DOCUMENT")));
  EXPECT_EQ(to_json(s).at("OWCORE_REALTIME_LEASE_TTL").as_double(), 2.5);
}

TEST(settings_owcore, metrics_flag) {
  EXPECT_TRUE(load({}).metrics);  // /metrics is served unless turned off
  EXPECT_FALSE(load({{"OWCORE_METRICS", "false"}}).metrics);
  EXPECT_TRUE(load({{"OWCORE_METRICS", "TRUE"}}).metrics);
  auto odd = load({{"OWCORE_METRICS", "0"}});
  EXPECT_FALSE(odd.metrics);  // any value but "true" reads as false, with a warning
  EXPECT_THAT(odd.warnings, Contains(Field(&setting_issue::variable, "OWCORE_METRICS")));
  EXPECT_EQ(to_json(load({})).at("OWCORE_METRICS").as_bool(), true);
}

}  // namespace

}  // namespace settings_test
