#include "owcore/redis/metrics.hpp"

#include "owcore/redis/client.hpp"
#include "owcore/redis/io/connection.hpp"

namespace owcore::redis {

void node_metrics::record(std::size_t command_count, std::chrono::steady_clock::time_point start,
                          const boost::system::error_code& ec, const response& replies) noexcept {
  commands.inc(command_count);
  latency.observe(std::chrono::steady_clock::now() - start);
  if (ec) {
    failed.inc();
    return;
  }
  std::uint64_t errors = 0;
  for (const auto& r : replies) errors += r.is_error() ? 1 : 0;
  if (errors) error_replies.inc(errors);
}

void node_metrics::record_one(std::optional<std::chrono::steady_clock::time_point> start,
                              const boost::system::error_code& ec, const reply& r) noexcept {
  commands.inc();
  if (start) latency.observe(std::chrono::steady_clock::now() - *start);
  if (ec) failed.inc();
  else if (r.is_error()) error_replies.inc();
}

metrics_registry& metrics() {
  static metrics_registry registry;
  return registry;
}

client_metrics& metrics_of(const client_options& o) {
  return metrics().clients.slot(o.metrics_label.empty() ? o.name : o.metrics_label);
}

node_metrics& node_tracker::current(const connection& c) {
  const auto connects = c.connects();
  auto* node = node_.load(std::memory_order_acquire);
  if (node && seen_.load(std::memory_order_relaxed) == connects) return *node;
  // A new connection (or the first request): label by the address it went to. Racing callers
  // resolve the same slot, so the order of these stores does not matter.
  auto peer = c.peer();
  node = &m_.nodes.slot(peer.empty() ? std::string_view("unknown") : std::string_view(peer));
  node_.store(node, std::memory_order_release);
  seen_.store(connects, std::memory_order_relaxed);
  return *node;
}

}  // namespace owcore::redis
