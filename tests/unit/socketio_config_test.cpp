// The realtime settings of `owcore serve` (docs/wire.md, "Socket.IO"): transports, timings, CORS,
// profile.
#include "owcore/app/realtime_wiring.hpp"

#include <gtest/gtest.h>

#include <map>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace socketio_config_test {

using owcore::app::realtime_config;
using owcore::app::settings;
using owcore::app::startup_error;

namespace {

owcore::app::env_lookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

}  // namespace

TEST(SocketioConfig, WebSocketSupportMeansWebSocketOnly) {
  settings s;
  s.enable_websocket_support = true;
  s.websocket_ping_interval_s = 25;
  s.websocket_ping_timeout_s = 20;
  auto c = std::get<realtime_config>(owcore::app::realtime_config_from(s, env_of({})));
  EXPECT_EQ(c.path, "/ws/socket.io/");
  EXPECT_TRUE(c.engine.allow_websocket);
  EXPECT_FALSE(c.engine.allow_polling);
  EXPECT_EQ(c.engine.ping_interval.count(), 25000);
  EXPECT_EQ(c.engine.ping_timeout.count(), 20000);
  EXPECT_EQ(c.engine.max_payload, 1000000u);
  EXPECT_EQ(c.profile, "openwebui");
  EXPECT_TRUE(c.install_profile);
  EXPECT_EQ(c.engine.cors_allowed_origins, std::vector<std::string>{"*"});
  EXPECT_FALSE(c.redis_manager);
}

TEST(SocketioConfig, WithoutWebSocketSupportPollingOnlyWithoutUpgrades) {
  settings s;
  s.enable_websocket_support = false;
  s.cors_allow_origin = {"https://a.example", "https://b.example"};
  s.websocket_manager = "redis";
  auto c = std::get<realtime_config>(owcore::app::realtime_config_from(s, env_of({})));
  EXPECT_FALSE(c.engine.allow_websocket);
  EXPECT_TRUE(c.engine.allow_polling);
  EXPECT_FALSE(c.engine.allow_upgrades);
  EXPECT_EQ(c.engine.cors_allowed_origins.size(), 2u);
  EXPECT_TRUE(c.redis_manager);
}

TEST(SocketioConfig, ProfileFromTheEnvironment) {
  settings s;
  auto conformance = std::get<realtime_config>(
      owcore::app::realtime_config_from(s, env_of({{"OWCORE_SOCKETIO_PROFILE", "conformance"}})));
  EXPECT_EQ(conformance.profile, "conformance");
  auto bad = owcore::app::realtime_config_from(s, env_of({{"OWCORE_SOCKETIO_PROFILE", "nope"}}));
  ASSERT_TRUE(std::holds_alternative<startup_error>(bad));
  EXPECT_EQ(std::get<startup_error>(bad).variable, "OWCORE_SOCKETIO_PROFILE");
  EXPECT_NE(std::get<startup_error>(bad).reason.find("conformance, openwebui"), std::string::npos);
}

// The test and benchmark profiles are not in the production registry; a registry that adds one
// (as owcore-testbed does) makes it a valid choice.
TEST(SocketioConfig, TestProfilesOnlyWhereRegistered) {
  settings s;
  const auto bench = env_of({{"OWCORE_SOCKETIO_PROFILE", "bench"}});
  EXPECT_TRUE(std::holds_alternative<startup_error>(owcore::app::realtime_config_from(s, bench)));
  auto reg = owcore::realtime::profiles::standard();
  reg.add("bench", [](owcore::realtime::socketio::server&, const owcore::realtime::profiles::install_context&) {});
  auto c = std::get<realtime_config>(owcore::app::realtime_config_from(s, bench, reg));
  EXPECT_EQ(c.profile, "bench");
  ASSERT_TRUE(c.install_profile);
  EXPECT_EQ(reg.names(), "bench, conformance, openwebui");
}

TEST(SocketioConfig, LoggingFlagsTurnOnTheTraceLogs) {
  settings s;
  auto quiet = std::get<realtime_config>(owcore::app::realtime_config_from(s, env_of({})));
  EXPECT_FALSE(quiet.engine.trace);
  EXPECT_FALSE(quiet.sockets.trace);
  s.websocket_server_logging = true;
  auto sio = std::get<realtime_config>(owcore::app::realtime_config_from(s, env_of({})));
  EXPECT_TRUE(sio.sockets.trace);
  EXPECT_FALSE(sio.engine.trace);
  s.websocket_engineio_logging = true;
  auto both = std::get<realtime_config>(owcore::app::realtime_config_from(s, env_of({})));
  EXPECT_TRUE(both.engine.trace);
  EXPECT_TRUE(both.sockets.trace);
}

}  // namespace socketio_config_test
