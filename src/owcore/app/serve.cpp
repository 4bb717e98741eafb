#include "owcore/app/serve.hpp"

#include "owcore/app/cli.hpp"
#include "owcore/app/database_wiring.hpp"
#include "owcore/app/logging.hpp"
#include "owcore/app/openwebui_wiring.hpp"
#include "owcore/app/realtime_wiring.hpp"
#include "owcore/app/secret_key.hpp"
#include "owcore/app/services.hpp"
#include "owcore/app/settings.hpp"
#include "owcore/app/startup.hpp"
#include "owcore/http/routes.hpp"
#include "owcore/http/server.hpp"
#include "owcore/http/session_routes.hpp"
#include "owcore/http/task_routes.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <spdlog/logger.h>

#include <csignal>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace owcore::app {
namespace {

namespace asio = boost::asio;

// Loads settings and reports their findings; nullopt after printing fatal errors.
std::optional<settings> load_and_report() {
  settings s = load_settings(process_env());
  init_logging(s.log_format, s.log_level);
  auto log = get_logger("owcore");
  for (const auto& w : s.warnings) log->warn("{}: {}", w.variable, w.message);
  if (!s.errors.empty()) {
    for (const auto& e : s.errors) log->critical("{}: {}", e.variable, e.message);
    return std::nullopt;
  }
  return s;
}

}  // namespace

int serve(const realtime::profiles::registry& profiles) {
  auto loaded = load_and_report();
  if (!loaded) return exit_config;
  const settings& s = *loaded;
  auto log = get_logger("owcore");

  auto planned = plan_redis(s);
  if (auto* e = std::get_if<startup_error>(&planned)) {
    log->critical("{}", e->line());
    return exit_config;
  }
  auto plan = std::get<redis_plan>(std::move(planned));

  const unsigned threads = s.threads > 0 ? static_cast<unsigned>(s.threads)
                                         : std::max(1u, std::thread::hardware_concurrency());
  asio::io_context ioc(static_cast<int>(threads));

  // Start-up check: a configured Redis must answer now, or we refuse to start.
  std::optional<startup_error> failure;
  asio::co_spawn(ioc, check_redis(plan),
                 [&](std::exception_ptr ep, std::optional<startup_error> r) {
                   if (ep) failure = startup_error{"REDIS_URL", "start-up check failed"};
                   else failure = std::move(r);
                 });
  ioc.run();
  ioc.restart();
  if (failure) {
    log->critical("{}", failure->line());
    return exit_config;
  }

  // The database (Open WebUI's, or owcore's own owcore.db): reachable and of a known schema now,
  // or we refuse to start.
  auto db_planned = plan_database(s);
  if (auto* e = std::get_if<startup_error>(&db_planned)) {
    log->critical("{}", e->line());
    return exit_config;
  }
  const auto db_plan = std::get<database_plan>(std::move(db_planned));
  std::optional<opened_database> database;
  asio::co_spawn(ioc, open_database(ioc.get_executor(), db_plan),
                 [&](std::exception_ptr ep, std::variant<opened_database, startup_error> r) {
                   if (ep) failure = startup_error{db_plan.variable, "start-up check failed"};
                   else if (auto* e = std::get_if<startup_error>(&r)) failure = std::move(*e);
                   else database = std::get<opened_database>(std::move(r));
                 });
  ioc.run();
  ioc.restart();
  if (failure || !database) {
    log->critical("{}",
                  failure ? failure->line() : db_plan.variable + ": cannot open the database");
    return exit_config;
  }
  if (!database->schema.known)
    log->warn(
        "{}: schema head '{}' is not one owcore knows (Open WebUI 0.11.0-0.11.5); continuing, but "
        "a newer "
        "Open WebUI may have changed tables owcore reads",
        db_plan.variable, database->schema.head);
  log->info("database: {} {} ({}schema head {}, {} us)", db::to_string(db_plan.options.kind),
            db_plan.display, db_plan.owned ? "owcore's own, " : "", database->schema.head,
            database->latency.count());

  auto key = resolve_secret_key(s.webui_secret_key, s.data_dir);
  if (!key.error.empty()) {
    log->critical("WEBUI_SECRET_KEY: is not set and no key file is usable: {}", key.error);
    return exit_config;
  }
  if (!key.file.empty())
    log->warn(
        "WEBUI_SECRET_KEY is not set; {} the key in {}. Every instance of a fleet must "
        "share one key: set WEBUI_SECRET_KEY to the same value everywhere.",
        key.generated ? "generated" : "using", key.file);

  // One cached client per (url, sentinels, cluster) key, as in Open WebUI (docs/wire.md,
  // "Redis clients").
  redis::client_cache clients(ioc.get_executor());
  auto redis_log = get_logger("redis");
  std::shared_ptr<redis::client> app_redis;
  if (plan.app) {
    auto opts = plan.app->options;
    opts.log = redis_log;
    app_redis = clients.get(plan.app->key, [&] { return opts; });
  }
  std::shared_ptr<redis::client> ws_redis;
  if (plan.ws) {
    auto opts = plan.ws->options;
    opts.log = redis_log;
    ws_redis = clients.get(plan.ws->key, [&] { return opts; });
  }
  // The realtime settings (OWCORE_SOCKETIO_PROFILE, ...): refused before anything starts.
  auto rcfg = realtime_config_from(s, process_env(), profiles);
  if (auto* e = std::get_if<startup_error>(&rcfg)) {
    log->critical("{}", e->line());
    return exit_config;
  }

  // Memory or Redis backends: chosen once, in make_services.
  auto svc = make_services(s, ioc.get_executor(), key.value, app_redis, database->db);
  auto routes = std::make_shared<http::router>();
  http::add_health_routes(*routes, svc.readiness);
  http::add_task_routes(*routes, svc.identity, svc.tasks);
  auto& tasks = svc.tasks;

  // Engine.IO / Socket.IO at /ws/socket.io (profile: OWCORE_SOCKETIO_PROFILE), with Open WebUI's
  // handlers on the pools, the Yjs store and the database (docs/openwebui-events.md).
  const auto& realtime_cfg = std::get<realtime_config>(rcfg);
  openwebui_backends owui;
  if (realtime_cfg.profile == "openwebui")
    owui = make_openwebui_backends(s, ioc.get_executor(), database->db, svc.identity, app_redis,
                                   ws_redis, tasks);
  auto realtime =
      add_realtime_routes(*routes, realtime_cfg, ioc.get_executor(), ws_redis, {}, owui.services);

  http::add_session_routes(*routes, svc.sessions);

  auto opts = http_options(s);
  opts.access_log = get_logger("access");
  auto srv = std::make_shared<http::server>(ioc.get_executor(), opts, routes);
  if (auto r = srv->listen(); !r) {
    log->critical("PORT: cannot listen on {}:{}: {}", s.host, s.port, r.error().message());
    return exit_config;
  }

  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        log->info("received {}; finishing in-flight requests (up to {}s)",
                  sig == SIGTERM ? "SIGTERM" : "SIGINT", s.shutdown_timeout_s);
        realtime->shutdown();
        srv->shutdown();
        signals.async_wait(on_signal);
      };
  signals.async_wait(on_signal);

  // After the HTTP drain: cancel local tasks and give their registry cleanup a moment, then close
  // the Redis clients.
  auto serve_then_stop = [&]() -> net::awaitable<void> {
    co_await srv->run();
    tasks->stop();
    owui.stop();
    asio::steady_timer wait(co_await asio::this_coro::executor);
    for (int i = 0;
         i < 100 &&
         (tasks->local_count() + (owui.own_tasks ? owui.own_tasks->local_count() : 0) > 0 ||
          !owui.stopped());
         ++i) {
      wait.expires_after(std::chrono::milliseconds(20));
      co_await wait.async_wait(net::use_tuple);
    }
    // The presence jobs release Python's cleanup locks if they hold them.
    if (owui.jobs.usage_cleaner) co_await owui.jobs.usage_cleaner->wait_stopped();
    if (owui.jobs.session_reaper) co_await owui.jobs.session_reaper->wait_stopped();
  };
  asio::co_spawn(ioc, serve_then_stop(), [&](std::exception_ptr ep) {
    if (ep) {
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        log->error("server stopped: {}", e.what());
      }
    }
    signals.cancel();
    clients.stop_all();
    database->db->stop();
    ioc.stop();
  });

  log->info("owcore {} listening on http://{}:{} ({}; {} thread{})", OWCORE_VERSION, s.host,
            srv->local_port(),
            plan.app ? "app redis: " + std::string(redis::to_string(plan.app->options.topo))
                     : std::string("in-memory backends"),
            threads, threads == 1 ? "" : "s");

  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i) pool.emplace_back([&] { ioc.run(); });
  ioc.run();
  for (auto& t : pool) t.join();
  log->info("stopped");
  return exit_ok;
}

}  // namespace owcore::app
