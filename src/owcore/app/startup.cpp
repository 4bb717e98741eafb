#include "owcore/app/startup.hpp"

#include <chrono>

namespace owcore::app {
namespace {

std::variant<redis::probe_options, startup_error> plan_client(const settings& s,
                                                              const redis_client_settings& c) {
  redis::probe_options p;
  if (!c.sentinels.empty()) {
    if (c.url.empty())
      return startup_error{c.url_variable,
                           "is empty but " + c.sentinel_variable +
                               " is set; Sentinel mode needs redis://[:password@]<service>[:port]/<db>"};
    p.topo = redis::topology::sentinel;
    for (const auto& a : c.sentinels) p.sentinels.emplace_back(a.host, a.port);
    p.sentinel_auth = {s.sentinel_username, s.sentinel_password};
  } else if (c.cluster) {
    p.topo = redis::topology::cluster;
  }
  auto parsed = redis::parse_url(c.url);
  if (auto* err = std::get_if<redis::url_error>(&parsed))
    return startup_error{c.url_variable, "cannot parse the URL: " + err->reason};
  p.node = std::get<redis::url_config>(std::move(parsed));
  if (p.topo == redis::topology::sentinel)
    p.service_name = p.node.host.empty() ? "mymaster" : p.node.host;
  if (p.topo == redis::topology::cluster && p.node.db != 0)
    return startup_error{c.url_variable, "Redis Cluster has only database 0, the URL selects " +
                                             std::to_string(p.node.db)};
  // Python's default is no connect timeout at all (a hang); owcore never waits unbounded.
  double connect_s = 5;
  if (s.socket.connect_timeout_s && *s.socket.connect_timeout_s > 0)
    connect_s = *s.socket.connect_timeout_s;
  if (p.node.socket_connect_timeout_s && *p.node.socket_connect_timeout_s > 0)
    connect_s = *p.node.socket_connect_timeout_s;
  p.timeout = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(connect_s));
  p.node.connect.keepalive = s.socket.keepalive;
  return p;
}

}  // namespace

std::variant<redis_plan, startup_error> plan_redis(const settings& s) {
  redis_plan plan;
  if (s.app_redis.configured()) {
    auto app = plan_client(s, s.app_redis);
    if (auto* e = std::get_if<startup_error>(&app)) return *e;
    plan.app = std::get<redis::probe_options>(std::move(app));
    plan.app_variable = s.app_redis.sentinels.empty() ? s.app_redis.url_variable
                                                      : s.app_redis.sentinel_variable;
  } else if (s.app_redis.cluster) {
    return startup_error{"REDIS_CLUSTER", "is true but REDIS_URL is empty"};
  }
  if (s.redis_manager()) {
    if (!s.ws_redis.configured())
      return startup_error{"WEBSOCKET_REDIS_URL",
                           "WEBSOCKET_MANAGER=redis needs WEBSOCKET_REDIS_URL (or REDIS_URL)"};
    auto ws = plan_client(s, s.ws_redis);
    if (auto* e = std::get_if<startup_error>(&ws)) return *e;
    plan.ws = std::get<redis::probe_options>(std::move(ws));
    plan.ws_variable = s.ws_redis.sentinels.empty() ? s.ws_redis.url_variable
                                                    : s.ws_redis.sentinel_variable;
  }
  return plan;
}

net::awaitable<std::optional<startup_error>> check_redis(redis_plan plan) {
  if (plan.app) {
    auto rep = co_await redis::probe(*plan.app);
    if (!rep.ok)
      co_return startup_error{plan.app_variable,
                              "Redis (" + std::string(to_string(plan.app->topo)) +
                                  ") is unreachable: " + rep.error};
  }
  if (plan.ws) {
    auto rep = co_await redis::probe(*plan.ws);
    if (!rep.ok)
      co_return startup_error{plan.ws_variable,
                              "Redis (" + std::string(to_string(plan.ws->topo)) +
                                  ") is unreachable: " + rep.error};
  }
  co_return std::nullopt;
}

http::server_options http_options(const settings& s) {
  http::server_options o;
  o.host = s.host;
  o.port = s.port;
  o.body_limit = s.http_body_limit;
  auto dur = [](double secs) {
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(secs));
  };
  o.request_timeout = dur(s.http_request_timeout_s);
  o.idle_timeout = dur(s.http_idle_timeout_s);
  o.shutdown_timeout = dur(s.shutdown_timeout_s);
  return o;
}

}  // namespace owcore::app
