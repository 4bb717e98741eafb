#include "owcore/app/realtime_wiring.hpp"

#include "owcore/app/logging.hpp"
#include "owcore/realtime/adapter/memory_adapter.hpp"
#include "owcore/realtime/adapter/redis_adapter.hpp"
#include "owcore/realtime/engineio/server.hpp"

#include <spdlog/logger.h>

namespace owcore::app {

namespace bhttp = boost::beast::http;
namespace rt = realtime;

void add_engineio_routes(http::router& routes, const std::string& path,
                         std::shared_ptr<realtime::engineio::server> eio) {
  http::handler h = [eio](const http::request& req) { return eio->handle_request(req); };
  std::string bare = path;
  while (bare.size() > 1 && bare.back() == '/') bare.pop_back();
  for (auto verb : {bhttp::verb::get, bhttp::verb::post, bhttp::verb::options, bhttp::verb::put,
                    bhttp::verb::delete_, bhttp::verb::patch}) {
    routes.add(verb, path, h);
    if (bare != path) routes.add(verb, bare, h);
  }
  routes.add_upgrade(path, [eio](http::request req, boost::beast::tcp_stream stream,
                                 boost::beast::flat_buffer buffer) {
    eio->handle_upgrade(std::move(req), std::move(stream), std::move(buffer));
  });
}

std::variant<realtime_config, startup_error> realtime_config_from(const settings& s, const env_lookup& env,
                                                                  const rt::profiles::registry& profiles) {
  realtime_config c;
  if (auto name = env("OWCORE_SOCKETIO_PROFILE"); name && !name->empty()) c.profile = *name;
  const auto* install = profiles.find(c.profile);
  if (!install)
    return startup_error{"OWCORE_SOCKETIO_PROFILE", "unknown profile '" + c.profile + "' (" + profiles.names() + ")"};
  c.install_profile = *install;
  c.engine.ping_interval = std::chrono::milliseconds(std::int64_t{s.websocket_ping_interval_s} * 1000);
  c.engine.ping_timeout = std::chrono::milliseconds(std::int64_t{s.websocket_ping_timeout_s} * 1000);
  c.engine.allow_websocket = s.enable_websocket_support;
  c.engine.allow_polling = !s.enable_websocket_support;
  c.engine.allow_upgrades = s.enable_websocket_support;
  c.engine.cors_allowed_origins = s.cors_allow_origin;
  c.engine.max_payload = 1'000'000;
  c.engine.trace = s.websocket_engineio_logging;   // WEBSOCKET_SERVER_ENGINEIO_LOGGING
  c.sockets.trace = s.websocket_server_logging;    // WEBSOCKET_SERVER_LOGGING
  c.redis_manager = s.redis_manager();
  c.room_channels = s.websocket_redis_room_channels;
  c.call_timeout = std::chrono::seconds(s.websocket_event_caller_timeout_s.value_or(300));
  c.openwebui.lim.allow_non_note_documents = s.ydoc_any_document;
  return c;
}

realtime_service::realtime_service(std::shared_ptr<rt::engineio::server> engine,
                                   std::shared_ptr<rt::socketio::server> sockets,
                                   std::shared_ptr<rt::adapter::adapter> adapter)
    : engine_(std::move(engine)), sockets_(std::move(sockets)), adapter_(std::move(adapter)) {}

void realtime_service::shutdown() {
  engine_->shutdown();
  adapter_->stop();
}

std::shared_ptr<realtime_service> add_realtime_routes(http::router& routes, const realtime_config& cfg,
                                                      net::executor ex, std::shared_ptr<redis::client> ws_redis,
                                                      const adapter_factory& make_redis_adapter,
                                                      std::shared_ptr<const rt::openwebui::services> openwebui) {
  auto log = get_logger("socketio");
  std::shared_ptr<rt::adapter::adapter> adapter;
  if (cfg.redis_manager) {
    if (ws_redis && make_redis_adapter) {
      adapter = make_redis_adapter(ws_redis, ex);
    } else if (ws_redis) {
      rt::adapter::redis_adapter_options aopts;
      aopts.log = log;
      aopts.channel.room_channels = cfg.room_channels;
      aopts.remote_call_timeout = cfg.call_timeout;
      adapter = rt::adapter::redis_adapter::create(ex, ws_redis, std::move(aopts));
    } else {
      log->warn("WEBSOCKET_MANAGER=redis, but no Redis client for Socket.IO is configured; "
                "Socket.IO broadcasts reach only this instance's clients");
    }
  }
  if (!adapter) adapter = std::make_shared<rt::adapter::memory_adapter>();

  auto sopts = cfg.sockets;
  if (!sopts.log) sopts.log = log;
  auto sockets = std::make_shared<rt::socketio::server>(sopts, adapter);
  if (cfg.profile == "openwebui" && !(openwebui && rt::openwebui::complete(*openwebui)))
    log->warn("the openwebui profile has no database or pools here; it accepts connections and handles no event");
  if (cfg.install_profile) cfg.install_profile(*sockets, {std::move(openwebui), cfg.openwebui});

  auto eopts = cfg.engine;
  if (!eopts.log) eopts.log = log;
  auto engine = std::make_shared<rt::engineio::server>(
      ex, eopts, [sockets](const std::shared_ptr<rt::engineio::session>& s) { return sockets->attach(s); });
  add_engineio_routes(routes, cfg.path, engine);
  adapter->start();
  log->info("Socket.IO at {} (profile {}, transports: {}, {} adapter)", cfg.path, cfg.profile,
            cfg.engine.allow_websocket ? (cfg.engine.allow_polling ? "polling+websocket" : "websocket") : "polling",
            cfg.redis_manager && ws_redis ? "redis" : "memory");
  return std::make_shared<realtime_service>(engine, sockets, adapter);
}

}  // namespace owcore::app
