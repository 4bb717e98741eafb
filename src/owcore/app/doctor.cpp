#include "owcore/app/doctor.hpp"

#include "owcore/app/cli.hpp"
#include "owcore/app/doctor_database.hpp"
#include "owcore/app/doctor_judge.hpp"
#include "owcore/app/doctor_report.hpp"
#include "owcore/app/logging.hpp"
#include "owcore/app/settings.hpp"
#include "owcore/app/startup.hpp"
#include "owcore/net/executor.hpp"
#include "owcore/redis/inspect.hpp"
#include "owcore/redis/io/gather.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/logger.h>

#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

// How the doctor works (docs/architecture.md): each client (App, WS) is planned from the settings
// exactly as `serve` plans it; the Redis layer's inspector gathers the facts of its deployment
// (redis/inspect.hpp) and the judge turns them into findings (app/doctor_judge.hpp), which the
// report renders (app/doctor_report.hpp). Everything runs on one single-threaded io_context, the
// two clients and the database concurrently, every network step bounded by the client's connect
// timeout, so the doctor never hangs. Nothing is written to any Redis.

namespace owcore::app {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

constexpr std::string_view doctor_usage = R"(usage: owcore doctor [--json]

Diagnoses the App Redis (REDIS_URL, REDIS_SENTINEL_*, REDIS_CLUSTER) and the WS Redis
(WEBSOCKET_*) configured in the environment: topology, addresses, server version, latency, key
prefix and every misconfiguration it can detect. Every network step is bounded by the connect
timeout (REDIS_SOCKET_CONNECT_TIMEOUT, default 5 s).

  --json   print one JSON object instead of the text report

exit status: 0 healthy, 1 degraded, 2 unreachable or misconfigured
)";

// One client's configuration as the doctor will check it.
struct client_input {
  client_report base;  // identity and configuration, filled in before any I/O
  std::optional<redis_target> target;
  client_vars vars;
  std::string key_prefix;  // for the ACL dry run (docs/redis.md, Restricted credentials)
};

redis::topology configured_topology(const redis_client_settings& c) {
  if (!c.sentinels.empty()) return redis::topology::sentinel;
  return c.cluster ? redis::topology::cluster : redis::topology::standalone;
}

// plan_redis() stops at the first error and plans WS only under WEBSOCKET_MANAGER=redis. To
// report each client on its own, even when the other is misconfigured, each is planned from a
// copy of the settings in which the other client is switched off.
client_input plan_client(const settings& s, bool app) {
  settings only = s;
  if (app) only.websocket_manager.clear();
  else only.app_redis = redis_client_settings{};
  const auto& c = app ? s.app_redis : s.ws_redis;

  client_input in;
  in.vars = vars_of(c);
  in.key_prefix = s.key_prefix;
  auto& rep = in.base;
  rep.name = app ? "app" : "ws";
  rep.configured = app ? (c.configured() || c.cluster) : s.redis_manager();
  if (!rep.configured) return in;

  rep.topo = configured_topology(c);
  rep.url = mask_url_password(c.url);
  if (rep.topo == redis::topology::sentinel) {
    std::vector<std::string> hosts;
    for (const auto& h : c.sentinels) hosts.push_back(h.host);
    rep.variable = c.sentinel_variable;
    rep.config.emplace_back(c.sentinel_variable, join(hosts, ","));
    rep.config.emplace_back(in.vars.sentinel_port, std::to_string(c.sentinel_port));
  } else {
    rep.variable = c.url_variable;
  }
  rep.config.emplace_back(c.url_variable, rep.url);
  if (rep.topo == redis::topology::cluster) rep.config.emplace_back(in.vars.cluster, "true");

  auto planned = plan_redis(only);
  if (auto* e = std::get_if<startup_error>(&planned)) {
    rep.problem(severity::misconfigured, e->line());
    return in;
  }
  auto& plan = std::get<redis_plan>(planned);
  in.target = app ? plan.app : plan.ws;
  if (in.target) {
    const auto& o = in.target->options;
    rep.topo = o.topo;
    rep.db = o.node.db;
    if (o.topo == redis::topology::sentinel) rep.service_name = o.service_name;
  }
  return in;
}

net::awaitable<client_report> check_client(client_input in) {
  if (!in.target || !in.base.problems.empty()) co_return std::move(in.base);
  // The start-up probe's options (app/startup.cpp): the same deployment, seen in more detail,
  // plus the ACL dry run for the key prefix.
  auto opts = probe_options_for(*in.target);
  opts.key_prefix = in.key_prefix;
  auto facts = co_await redis::inspect(std::move(opts));
  judge_client(in.base, facts, in.vars);
  co_return std::move(in.base);
}

net::awaitable<std::vector<client_report>> check_both(client_input app, client_input ws) {
  std::vector<net::awaitable<client_report>> ops;
  ops.push_back(check_client(std::move(app)));
  ops.push_back(check_client(std::move(ws)));
  co_return co_await redis::io::gather(std::move(ops));
}

}  // namespace

int run_doctor(int argc, char** argv) {
  bool as_json = false;
  for (int i = 0; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--json") {
      as_json = true;
    } else if (a == "--help" || a == "-h") {
      std::cout << doctor_usage;
      return exit_ok;
    } else {
      std::cerr << "owcore doctor: unknown argument '" << a << "'\n" << doctor_usage;
      return exit_config;
    }
  }

  const settings s = load_settings(process_env());
  init_logging(s.log_format, s.log_level);
  auto log = get_logger("doctor");

  diagnosis d;
  d.key_prefix = s.key_prefix;
  for (const auto& w : s.warnings) d.notes.push_back(w.variable + ": " + w.message);

  auto app = plan_client(s, true);
  auto ws = plan_client(s, false);
  precheck_ws(ws.base, s);
  d.app = app.base;
  d.ws = ws.base;

  // Single-threaded: every check runs on this io_context, concurrently where independent, each
  // step bounded by the client's connect timeout, so run() returns in bounded time.
  asio::io_context ioc(1);
  std::exception_ptr failure;
  asio::co_spawn(ioc, check_both(std::move(app), std::move(ws)),
                 [&](std::exception_ptr ep, std::vector<client_report> reports) {
                   if (ep) failure = ep;
                   else if (reports.size() == 2) {
                     d.app = std::move(reports[0]);
                     d.ws = std::move(reports[1]);
                   }
                 });
  asio::co_spawn(ioc, check_database(s), [&](std::exception_ptr ep, database_report r) {
    if (ep) failure = ep;
    else d.database = std::move(r);
  });
  ioc.run();
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      log->critical("doctor failed: {}", e.what());
    }
    return exit_config;
  }
  attach_settings_errors(d, s);
  compare_clients(d, s);

  if (as_json) std::cout << json::serialize(diagnosis_json(d)) << "\n";
  else print_text(std::cout, d);
  std::cout.flush();
  return exit_code_of(d.status());
}

}  // namespace owcore::app
