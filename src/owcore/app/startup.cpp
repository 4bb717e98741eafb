#include "owcore/app/startup.hpp"

#include <chrono>

namespace owcore::app {
namespace {

using duration = std::chrono::steady_clock::duration;

duration seconds(double s) {
  return std::chrono::duration_cast<duration>(std::chrono::duration<double>(s));
}

std::variant<redis_target, startup_error> plan_client(const settings& s,
                                                      const redis_client_settings& c,
                                                      std::string name) {
  redis_target t;
  auto& o = t.options;
  o.name = std::move(name);
  if (!c.sentinels.empty()) {
    if (c.url.empty())
      return startup_error{c.url_variable,
                           "is empty but " + c.sentinel_variable +
                               " is set; Sentinel mode needs redis://[:password@]<service>[:port]/<db>"};
    o.topo = redis::topology::sentinel;
    for (const auto& a : c.sentinels) {
      o.sentinels.push_back({a.host, a.port});
      t.key.sentinels.emplace_back(a.host, a.port);
    }
    o.sentinel_auth = {s.sentinel_username, s.sentinel_password};
    t.variable = c.sentinel_variable;
  } else {
    o.topo = c.cluster ? redis::topology::cluster : redis::topology::standalone;
    t.variable = c.url_variable;
  }
  auto parsed = redis::parse_url(c.url);
  if (auto* err = std::get_if<redis::url_error>(&parsed))
    return startup_error{c.url_variable, "cannot parse the URL: " + err->reason};
  o.node = std::get<redis::url_config>(std::move(parsed));
  if (o.topo == redis::topology::sentinel) o.service_name = o.node.host.empty() ? "mymaster" : o.node.host;
  if (o.topo == redis::topology::cluster && o.node.db != 0)
    return startup_error{c.url_variable, "Redis Cluster has only database 0, the URL selects " +
                                             std::to_string(o.node.db)};

  // Socket options (docs/wire.md, "Redis clients"). Python waits forever without a connect timeout;
  // owcore never does.
  double connect_s = 5;
  if (s.socket.connect_timeout_s && *s.socket.connect_timeout_s > 0) connect_s = *s.socket.connect_timeout_s;
  if (o.node.socket_connect_timeout_s && *o.node.socket_connect_timeout_s > 0)
    connect_s = *o.node.socket_connect_timeout_s;
  o.connect_timeout = seconds(connect_s);
  if (s.socket.socket_timeout_s && *s.socket.socket_timeout_s > 0) o.reply_timeout = seconds(*s.socket.socket_timeout_s);
  if (o.node.socket_timeout_s && *o.node.socket_timeout_s > 0) o.reply_timeout = seconds(*o.node.socket_timeout_s);
  o.node.connect.keepalive = s.socket.keepalive;
  if (s.socket.health_check_interval_s) o.health_check_interval = std::chrono::seconds(*s.socket.health_check_interval_s);
  if (o.node.health_check_interval_s && *o.node.health_check_interval_s > 0)
    o.health_check_interval = std::chrono::seconds(*o.node.health_check_interval_s);
  o.max_attempts = std::max(1, s.sentinel_max_retry_count);
  if (s.reconnect_delay_ms) o.retry_delay = seconds(*s.reconnect_delay_ms / 1000.0);

  t.key.url = c.url;
  t.key.cluster = o.topo == redis::topology::cluster;
  return t;
}

}  // namespace

std::variant<redis_plan, startup_error> plan_redis(const settings& s) {
  redis_plan plan;
  if (s.app_redis.configured()) {
    auto app = plan_client(s, s.app_redis, "app redis");
    if (auto* e = std::get_if<startup_error>(&app)) return *e;
    plan.app = std::get<redis_target>(std::move(app));
  } else if (s.app_redis.cluster) {
    return startup_error{"REDIS_CLUSTER", "is true but REDIS_URL is empty"};
  }
  if (s.redis_manager()) {
    if (!s.ws_redis.configured())
      return startup_error{"WEBSOCKET_REDIS_URL",
                           "WEBSOCKET_MANAGER=redis needs WEBSOCKET_REDIS_URL (or REDIS_URL)"};
    auto ws = plan_client(s, s.ws_redis, "ws redis");
    if (auto* e = std::get_if<startup_error>(&ws)) return *e;
    plan.ws = std::get<redis_target>(std::move(ws));
  }
  return plan;
}

redis::probe_options probe_options_for(const redis_target& t) {
  redis::probe_options p;
  p.topo = t.options.topo;
  p.node = t.options.node;
  for (const auto& a : t.options.sentinels) p.sentinels.emplace_back(a.host, a.port);
  p.service_name = t.options.service_name;
  p.sentinel_auth = t.options.sentinel_auth;
  p.timeout = t.options.connect_timeout;
  return p;
}

net::awaitable<std::optional<startup_error>> check_redis(redis_plan plan) {
  for (auto* t : {&plan.app, &plan.ws}) {
    if (!*t) continue;
    auto rep = co_await redis::probe(probe_options_for(**t));
    if (!rep.ok)
      co_return startup_error{(*t)->variable, "Redis (" + std::string(to_string((*t)->options.topo)) +
                                                  ") is unreachable: " + rep.error};
  }
  co_return std::nullopt;
}

http::server_options http_options(const settings& s) {
  http::server_options o;
  o.host = s.host;
  o.port = s.port;
  o.body_limit = s.http_body_limit;
  o.request_timeout = seconds(s.http_request_timeout_s);
  o.idle_timeout = seconds(s.http_idle_timeout_s);
  o.shutdown_timeout = seconds(s.shutdown_timeout_s);
  return o;
}

}  // namespace owcore::app
