#pragma once
// Wiring of the realtime layer (Engine.IO / Socket.IO) into the HTTP router: the only place that
// knows both `http` and `realtime` (sibling layers). `owcore serve` calls add_realtime_routes;
// `owcore conformance-server` uses add_engineio_routes directly.

#include "owcore/app/settings.hpp"
#include "owcore/app/startup.hpp"
#include "owcore/http/router.hpp"
#include "owcore/net/executor.hpp"
#include "owcore/realtime/engineio/server.hpp"
#include "owcore/realtime/profiles/profiles.hpp"
#include "owcore/realtime/socketio/server.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <variant>

namespace owcore::redis {
class client;
}

namespace owcore::realtime::adapter {
class adapter;
}

namespace owcore::app {

/// Registers an Engine.IO server on `routes` at `path` (with its trailing slash, e.g.
/// "/ws/socket.io/"): every HTTP method on `path` and on `path` without the trailing slash goes
/// to engineio::server::handle_request (which answers OPTIONS, and 400 for methods it does not
/// serve), and WebSocket upgrades whose path starts with `path` go to handle_upgrade.
/// Call during set-up, before the HTTP server runs.
void add_engineio_routes(http::router& routes, const std::string& path,
                         std::shared_ptr<realtime::engineio::server> eio);

/// The realtime configuration of `owcore serve`, derived from the settings.
struct realtime_config {
  std::string path = "/ws/socket.io/";             ///< Open WebUI's endpoint (docs/wire.md)
  std::string profile = "openwebui";               ///< OWCORE_SOCKETIO_PROFILE
  realtime::profiles::installer install_profile;  ///< its installer (set by realtime_config_from)
  realtime::engineio::server_options engine;   ///< transports, timings, limits, CORS
  realtime::socketio::server_options sockets;  ///< connect timeout, decoder limits
  bool redis_manager = false;                  ///< WEBSOCKET_MANAGER=redis
  bool room_channels = true;                   ///< WEBSOCKET_REDIS_ROOM_CHANNELS
  /// How long a call to a local client waits for its acknowledgement: WEBSOCKET_EVENT_CALLER_TIMEOUT,
  /// and 300 s when it is unset (Python then waits forever; owcore never does).
  std::chrono::milliseconds call_timeout = std::chrono::seconds(300);
  realtime::openwebui::handler_options openwebui;  ///< limits of the openwebui profile
};

/// Maps the settings onto the realtime configuration (docs/wire.md, "Socket.IO"):
/// - WEBSOCKET_SERVER_PING_INTERVAL / _TIMEOUT (seconds) -> pingInterval / pingTimeout;
/// - ENABLE_WEBSOCKET_SUPPORT=true -> WebSocket transport only (python-socketio's
///   transports=['websocket']: long-polling requests get 400); false -> long-polling only, no
///   upgrades (WebSocket requests get 400);
/// - CORS_ALLOW_ORIGIN -> the allowed Origin values ("*" = any) of polling and of the upgrade;
/// - WEBSOCKET_SERVER_LOGGING / WEBSOCKET_SERVER_ENGINEIO_LOGGING -> the Socket.IO / Engine.IO
///   trace logs (connections, events, packets; never their data);
/// - the default Engine.IO limits: 1 MB max payload, 256 packets per polling payload, a
///   per-client outbound queue of 4096 packets / 8 MiB (overflow disconnects the client);
/// - WEBSOCKET_REDIS_ROOM_CHANNELS -> the Redis adapter's room-channel mode;
/// - WEBSOCKET_EVENT_CALLER_TIMEOUT (unset: 300 s) -> how long a call from another instance
///   (python-socketio's emit with a callback) waits for the local browser's answer;
/// - OWCORE_SOCKETIO_PROFILE, read through `env` (default `openwebui`; `bench` for load tests);
/// - OWCORE_YDOC_ANY_DOCUMENT (default false): the openwebui profile also accepts Yjs documents
///   other than `note:<id>` (never authorised, as in Python).
/// An unknown profile is a startup_error naming the variable.
std::variant<realtime_config, startup_error> realtime_config_from(
    const settings& s, const env_lookup& env,
    const realtime::profiles::registry& profiles = realtime::profiles::standard());

/// Builds the adapter for WEBSOCKET_MANAGER=redis on the WS Redis client (the Redis adapter of
/// adapter/redis_*). Called once at start-up.
using adapter_factory = std::function<std::shared_ptr<realtime::adapter::adapter>(
    std::shared_ptr<redis::client> ws_redis, net::executor ex)>;

/// The running realtime stack of `owcore serve`.
class realtime_service {
 public:
  realtime_service(std::shared_ptr<realtime::engineio::server> engine,
                   std::shared_ptr<realtime::socketio::server> sockets,
                   std::shared_ptr<realtime::adapter::adapter> adapter);

  /// Closes every Engine.IO session gracefully (pending long-polls are answered, WebSockets get
  /// a close frame), refuses new ones, and stops the adapter. Call on SIGTERM/SIGINT together
  /// with http::server::shutdown(). Thread-safe, idempotent.
  void shutdown();

  /// The Socket.IO server (emit to rooms, call a client, ...).
  const std::shared_ptr<realtime::socketio::server>& sockets() const noexcept { return sockets_; }
  /// The Engine.IO server (session count).
  const std::shared_ptr<realtime::engineio::server>& engine() const noexcept { return engine_; }

 private:
  std::shared_ptr<realtime::engineio::server> engine_;
  std::shared_ptr<realtime::socketio::server> sockets_;
  std::shared_ptr<realtime::adapter::adapter> adapter_;
};

/// Builds the realtime stack for `owcore serve` and registers it on `routes` at cfg.path:
/// the adapter (the Redis one from `make_redis_adapter` when cfg.redis_manager, `ws_redis` and
/// the factory are all set; otherwise in-memory, with a warning when Redis was asked for), the
/// Socket.IO server with cfg.profile's handlers (the openwebui profile on `openwebui`'s services),
/// and the Engine.IO server whose sessions run on strands of `ex`. Starts the adapter. Call
/// during set-up, before the HTTP server runs.
std::shared_ptr<realtime_service> add_realtime_routes(
    http::router& routes, const realtime_config& cfg, net::executor ex,
    std::shared_ptr<redis::client> ws_redis = nullptr, const adapter_factory& make_redis_adapter = {},
    std::shared_ptr<const realtime::openwebui::services> openwebui = nullptr);

}  // namespace owcore::app
