// The judgements of `owcore doctor` about the configuration as a whole (app/doctor_judge.hpp).
#include "owcore/app/doctor_judge.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace owcore::app {

void compare_clients(diagnosis& d, const settings& s) {
  const auto& a = d.app;
  const auto& w = d.ws;
  if (!a.configured && !w.configured) {
    d.notes.push_back(
        "no Redis is configured: owcore uses its in-memory backends (sessions, tasks, "
        "Socket.IO state and documents live in this process); run a single instance");
    return;
  }
  if (a.configured && w.configured) {
    const bool plain = a.topo != redis::topology::cluster && w.topo != redis::topology::cluster;
    bool same = plain && !a.run_id.empty() && a.run_id == w.run_id;
    if (a.topo == redis::topology::cluster && w.topo == redis::topology::cluster) {
      for (const auto& n : a.nodes)
        for (const auto& m : w.nodes) same = same || n.addr == m.addr;
    }
    if (same && a.topo == redis::topology::cluster) {
      d.notes.push_back(
          "App and WS Redis are the same cluster, as in Open WebUI's default "
          "configuration");
    } else if (same && a.db == w.db) {
      d.notes.push_back("App and WS Redis are the same server and database (db " +
                        std::to_string(a.db) + "), as in Open WebUI's default configuration");
    } else if (same) {
      d.notes.push_back(fmt::format(
          "App Redis (db {}) and WS Redis (db {}) are the same server: pub/sub is server-wide, so "
          "both databases share the socketio and {}:tasks:commands channels",
          a.db, w.db, s.key_prefix));
    }
  }
  if (s.enable_star_sessions_middleware && a.configured && a.topo != redis::topology::standalone)
    d.notes.push_back(
        "ENABLE_STAR_SESSIONS_MIDDLEWARE=true with a " + std::string(redis::to_string(a.topo)) +
        " App Redis: Python Open WebUI's session store connects to REDIS_URL as a plain "
        "server and supports neither Sentinel nor Cluster (mixed fleets)");
}

// Settings errors go to the client whose variable they name, replacing the plan error on the
// same variable (load_settings explains it in more detail); the rest are global.
void attach_settings_errors(diagnosis& d, const settings& s) {
  for (const auto& e : s.errors) {
    const std::string line = e.variable + ": " + e.message;
    client_report* c = nullptr;
    if (e.variable.starts_with("WEBSOCKET_") && d.ws.configured) c = &d.ws;
    else if (e.variable.starts_with("REDIS_") && d.app.configured) c = &d.app;
    if (!c) {
      d.problems.push_back({severity::misconfigured, line});
      continue;
    }
    auto same = std::find_if(c->problems.begin(), c->problems.end(), [&](const finding& p) {
      return p.text.starts_with(e.variable + ": ");
    });
    if (same != c->problems.end()) *same = {severity::misconfigured, line};
    else c->problem(severity::misconfigured, line);
  }
}

void precheck_ws(client_report& ws, const settings& s) {
  if (!ws.configured) return;
  // WEBSOCKET_SENTINEL_HOSTS does not inherit REDIS_SENTINEL_HOSTS while WEBSOCKET_REDIS_URL does
  // inherit REDIS_URL, whose host is then a service name, not a server (docs/wire.md,
  // "Environment").
  if (!s.app_redis.sentinels.empty() && s.ws_redis.sentinels.empty() &&
      s.ws_redis.url == s.app_redis.url)
    ws.problem(severity::misconfigured,
               "REDIS_SENTINEL_HOSTS is set but WEBSOCKET_SENTINEL_HOSTS is empty (it does not "
               "inherit), so WS Redis treats the Sentinel service name in WEBSOCKET_REDIS_URL "
               "(inherited from REDIS_URL) as a host; set WEBSOCKET_SENTINEL_HOSTS and "
               "WEBSOCKET_SENTINEL_PORT");
  if (ws.topo == redis::topology::cluster)
    ws.notes.push_back(
        "python-socketio has no Cluster support: Python instances of a mixed fleet "
        "publish on the socketio channel through the URL's node only (pub/sub "
        "still reaches the whole cluster, but without failover)");
}

}  // namespace owcore::app
