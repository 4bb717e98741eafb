#include "owcore/app/metrics.hpp"

#include "owcore/coord/metrics.hpp"
#include "owcore/db/metrics.hpp"
#include "owcore/http/metrics.hpp"
#include "owcore/realtime/metrics.hpp"
#include "owcore/redis/metrics.hpp"

#include <prometheus/client_metric.h>
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>
#include <prometheus/text_serializer.h>

#include <cstdint>
#include <limits>
#include <string_view>
#include <utility>
#include <vector>

namespace owcore::app {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using labels = std::vector<ClientMetric::Label>;
namespace bm = base::metrics;

MetricFamily family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

labels label(std::string_view name, std::string_view value) {
  return labels{ClientMetric::Label{std::string(name), std::string(value)}};
}

labels with(labels l, std::string_view name, std::string_view value) {
  l.push_back(ClientMetric::Label{std::string(name), std::string(value)});
  return l;
}

void add_counter(MetricFamily& f, std::uint64_t v, labels l = {}) {
  ClientMetric m;
  m.label = std::move(l);
  m.counter.value = static_cast<double>(v);
  f.metric.push_back(std::move(m));
}

void add_gauge(MetricFamily& f, std::int64_t v, labels l = {}) {
  ClientMetric m;
  m.label = std::move(l);
  m.gauge.value = static_cast<double>(v);
  f.metric.push_back(std::move(m));
}

void add_histogram(MetricFamily& f, const bm::histogram& h, labels l) {
  const auto s = h.snapshot();
  ClientMetric m;
  m.label = std::move(l);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bm::histogram::buckets; ++i) {
    cumulative += s.counts[i];
    ClientMetric::Bucket b;
    b.cumulative_count = cumulative;
    b.upper_bound = i < bm::latency_bounds_us.size()
                        ? static_cast<double>(bm::latency_bounds_us[i]) / 1e6
                        : std::numeric_limits<double>::infinity();
    m.histogram.bucket.push_back(b);
  }
  m.histogram.sample_count = cumulative;
  m.histogram.sample_sum = static_cast<double>(s.sum_ns) / 1e9;
  f.metric.push_back(std::move(m));
}

std::string_view status_label(std::size_t i, std::string& buf) {
  if (i >= http::labelled_statuses.size()) return "other";
  buf = std::to_string(http::labelled_statuses[i]);
  return buf;
}

void collect_http(std::vector<MetricFamily>& out) {
  auto f = family("owcore_http_requests_total",
                  "HTTP requests answered, by route (registered path; * ends a prefix route) and "
                  "status code",
                  MetricType::Counter);
  std::string buf;
  http::metrics().routes.for_each([&](std::string_view route, const http::route_metrics& r) {
    for (std::size_t i = 0; i < r.by_status.size(); ++i) {
      const auto v = r.by_status[i].value();
      if (v == 0) continue;  // a route x status grid of zeros would only add noise
      add_counter(f, v, with(label("route", route), "code", status_label(i, buf)));
    }
  });
  out.push_back(std::move(f));
}

void collect_realtime(std::vector<MetricFamily>& out) {
  const auto& m = realtime::metrics();
  auto sessions = family("owcore_engineio_sessions", "Open Engine.IO sessions by current transport",
                         MetricType::Gauge);
  auto opened = family("owcore_engineio_sessions_opened_total",
                       "Engine.IO sessions opened, by initial transport", MetricType::Counter);
  for (std::size_t i = 0; i < realtime::transport_labels.size(); ++i) {
    add_gauge(sessions, m.engineio.sessions[i].value(),
              label("transport", realtime::transport_labels[i]));
    add_counter(opened, m.engineio.opened[i].value(),
                label("transport", realtime::transport_labels[i]));
  }
  out.push_back(std::move(sessions));
  out.push_back(std::move(opened));
  auto upgrades =
      family("owcore_engineio_upgrades_total",
             "Engine.IO sessions upgraded from polling to WebSocket", MetricType::Counter);
  add_counter(upgrades, m.engineio.upgrades.value());
  out.push_back(std::move(upgrades));
  auto closed = family("owcore_engineio_sessions_closed_total",
                       "Engine.IO sessions closed, by reason", MetricType::Counter);
  for (std::size_t i = 0; i < realtime::close_reason_labels.size(); ++i)
    add_counter(closed, m.engineio.closed[i].value(),
                label("reason", realtime::close_reason_labels[i]));
  out.push_back(std::move(closed));
  auto overflows = family("owcore_engineio_queue_overflows_total",
                          "Engine.IO sessions closed because their outbound queue passed its limit",
                          MetricType::Counter);
  add_counter(overflows, m.engineio.closed.back().value());
  out.push_back(std::move(overflows));

  auto in = family("owcore_socketio_events_received_total",
                   "Socket.IO events received from clients, by event name (Open WebUI's names; "
                   "others are \"other\")",
                   MetricType::Counter);
  auto sent = family("owcore_socketio_events_sent_total",
                     "Socket.IO events sent to local sockets (one per recipient), by event name",
                     MetricType::Counter);
  for (std::size_t i = 0; i <= realtime::event_labels.size(); ++i) {
    const auto name =
        i < realtime::event_labels.size() ? realtime::event_labels[i] : std::string_view("other");
    add_counter(in, m.socketio.events_in[i].value(), label("event", name));
    add_counter(sent, m.socketio.events_out[i].value(), label("event", name));
  }
  out.push_back(std::move(in));
  out.push_back(std::move(sent));
  auto simple = [&](const char* name, const char* help, const bm::counter& c) {
    auto f = family(name, help, MetricType::Counter);
    add_counter(f, c.value());
    out.push_back(std::move(f));
  };
  simple("owcore_socketio_connects_total", "Socket.IO namespace connections accepted",
         m.socketio.connects);
  simple("owcore_socketio_broadcasts_total",
         "Broadcasts applied on this instance (emitted here or received from another instance)",
         m.socketio.broadcasts);
  simple("owcore_socketio_deliveries_total", "Local sockets reached by those broadcasts",
         m.socketio.deliveries);
  auto disc = family("owcore_socketio_disconnects_total",
                     "Socket.IO namespace disconnections, by reason", MetricType::Counter);
  for (std::size_t i = 0; i < realtime::disconnect_reason_labels.size(); ++i)
    add_counter(disc, m.socketio.disconnects[i].value(),
                label("reason", realtime::disconnect_reason_labels[i]));
  out.push_back(std::move(disc));

  simple("owcore_pubsub_messages_received_total",
         "python-socketio pub/sub messages that arrived from Redis", m.pubsub.received);
  simple("owcore_pubsub_messages_published_total",
         "python-socketio pub/sub messages Redis acknowledged (PUBLISH)", m.pubsub.published);
  auto rejected = family("owcore_pubsub_messages_rejected_total",
                         "python-socketio pub/sub messages rejected: malformed on arrival (in), or "
                         "refused before publishing (out: queue full, invalid, stopped)",
                         MetricType::Counter);
  add_counter(rejected, m.pubsub.rejected_in.value(), label("direction", "in"));
  add_counter(rejected, m.pubsub.rejected_out.value(), label("direction", "out"));
  out.push_back(std::move(rejected));
  simple("owcore_pubsub_publish_failures_total",
         "python-socketio pub/sub messages dropped after the publish retry policy",
         m.pubsub.publish_failed);
}

void collect_redis(std::vector<MetricFamily>& out) {
  auto commands = family("owcore_redis_commands_total", "Redis commands sent, by client and node",
                         MetricType::Counter);
  auto failures = family("owcore_redis_request_failures_total",
                         "Redis requests that failed without a reply (timeout, connection lost, "
                         "unknown outcome), by client and node",
                         MetricType::Counter);
  auto errors = family("owcore_redis_error_replies_total",
                       "Redis commands answered with an error reply, by client and node",
                       MetricType::Counter);
  auto latency = family("owcore_redis_request_duration_seconds",
                        "Redis request round trips (queueing included), by client and node",
                        MetricType::Histogram);
  auto reconnects = family("owcore_redis_reconnects_total",
                           "Redis connections (commands and subscribers) set up again after a loss",
                           MetricType::Counter);
  auto connect_failures =
      family("owcore_redis_connect_failures_total", "Redis connect or set-up attempts that failed",
             MetricType::Counter);
  auto failovers =
      family("owcore_redis_failovers_seen_total",
             "Failovers noticed: Sentinel +switch-master and READONLY replies, Cluster "
             "slot maps whose set of masters changed",
             MetricType::Counter);
  auto redirects =
      family("owcore_redis_cluster_redirects_total",
             "Redis Cluster redirects followed, by kind (moved, ask)", MetricType::Counter);
  auto drops = family("owcore_redis_subscriber_drops_total", "Redis subscriber connections lost",
                      MetricType::Counter);
  auto recoveries = family("owcore_redis_subscriber_recoveries_total",
                           "Redis subscribers subscribed again after a drop", MetricType::Counter);
  auto messages = family("owcore_redis_pubsub_messages_received_total",
                         "Pub/sub messages received by Redis subscribers", MetricType::Counter);
  redis::metrics().clients.for_each([&](std::string_view client, const redis::client_metrics& c) {
    c.nodes.for_each([&](std::string_view node, const redis::node_metrics& n) {
      const auto l = with(label("client", client), "node", node);
      add_counter(commands, n.commands.value(), l);
      add_counter(failures, n.failed.value(), l);
      add_counter(errors, n.error_replies.value(), l);
      add_histogram(latency, n.latency, l);
    });
    const auto l = label("client", client);
    add_counter(reconnects, c.reconnects.value(), l);
    add_counter(connect_failures, c.connect_failures.value(), l);
    add_counter(failovers, c.failovers_seen.value(), l);
    add_counter(redirects, c.moved.value(), with(l, "kind", "moved"));
    add_counter(redirects, c.ask.value(), with(l, "kind", "ask"));
    add_counter(drops, c.subscriber_drops.value(), l);
    add_counter(recoveries, c.subscriber_recoveries.value(), l);
    add_counter(messages, c.pubsub_messages.value(), l);
  });
  for (auto* f : {&commands, &failures, &errors, &latency, &reconnects, &connect_failures,
                  &failovers, &redirects, &drops, &recoveries, &messages})
    out.push_back(std::move(*f));
}

void collect_coord_db(std::vector<MetricFamily>& out) {
  const auto& c = coord::metrics();
  auto running = family("owcore_tasks_running", "Tasks running in this process", MetricType::Gauge);
  add_gauge(running, c.tasks.running.value());
  out.push_back(std::move(running));
  auto simple = [&](const char* name, const char* help, const bm::counter& v) {
    auto f = family(name, help, MetricType::Counter);
    add_counter(f, v.value());
    out.push_back(std::move(f));
  };
  simple("owcore_tasks_started_total", "Tasks started in this process", c.tasks.started);
  simple("owcore_tasks_finished_total", "Tasks ended (completed, failed or cancelled)",
         c.tasks.finished);
  simple("owcore_tasks_stopped_total",
         "Tasks of this process cancelled by a stop (from this or another instance)",
         c.tasks.stopped);
  simple("owcore_ydoc_appends_total", "Yjs updates stored", c.ydoc.appends);
  simple("owcore_ydoc_appends_rejected_total",
         "Yjs updates refused (invalid, too large, over a limit)", c.ydoc.appends_rejected);
  simple("owcore_ydoc_compactions_total", "Yjs document compactions that replaced stored updates",
         c.ydoc.compactions);
  simple("owcore_ydoc_compaction_rejected_updates_total",
         "Stored Yjs updates found invalid and set aside by a compaction",
         c.ydoc.compacted_rejected);

  auto queries =
      family("owcore_db_queries_total", "SQL statements run, by dialect", MetricType::Counter);
  auto errors = family("owcore_db_errors_total",
                       "SQL statements that ended in an error, by dialect", MetricType::Counter);
  auto latency =
      family("owcore_db_query_duration_seconds",
             "SQL statement durations (queueing included), by dialect", MetricType::Histogram);
  const auto& d = db::metrics();
  for (std::size_t i = 0; i < db::dialect_labels.size(); ++i) {
    const auto l = label("dialect", db::dialect_labels[i]);
    add_counter(queries, d.by_dialect[i].queries.value(), l);
    add_counter(errors, d.by_dialect[i].errors.value(), l);
    add_histogram(latency, d.by_dialect[i].latency, l);
  }
  out.push_back(std::move(queries));
  out.push_back(std::move(errors));
  out.push_back(std::move(latency));
}

// Reads every layer's counters at scrape time (nothing is registered or copied in between).
class owcore_collectable final : public prometheus::Collectable {
 public:
  std::vector<MetricFamily> Collect() const override {
    std::vector<MetricFamily> out;
    auto info = family("owcore_build_info", "owcore's version (always 1)", MetricType::Gauge);
    add_gauge(info, 1, label("version", OWCORE_VERSION));
    out.push_back(std::move(info));
    collect_http(out);
    collect_realtime(out);
    collect_redis(out);
    collect_coord_db(out);
    return out;
  }
};

}  // namespace

std::string render_metrics() {
  const owcore_collectable collectable;
  return prometheus::TextSerializer().Serialize(collectable.Collect());
}

}  // namespace owcore::app
