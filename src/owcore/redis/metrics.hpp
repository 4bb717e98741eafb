#pragma once
// The Redis layer's counters (docs/metrics.md): per client (the `name` of client_options, "app"
// or "ws") and, inside each client, per node address. Counted at the client, cluster and
// supervisor level, never per byte; every update is one relaxed atomic add (base/metrics.hpp).

#include "owcore/base/metrics.hpp"
#include "owcore/redis/protocol/request.hpp"
#include "owcore/redis/protocol/resp.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace owcore::redis {

class connection;

/// Requests to one node, as one client sees them.
struct node_metrics {
  base::metrics::counter commands;       ///< commands sent (a pipeline counts each command)
  base::metrics::counter failed;         ///< requests that failed without a reply (timeout, drop)
  base::metrics::counter error_replies;  ///< commands answered with an error reply (WRONGTYPE, ...)
  base::metrics::histogram latency;      ///< request round trips, queueing included

  /// Records one finished request of `command_count` commands started at `start`. Thread-safe; no
  /// locks: a few relaxed atomic adds and a scan of the replies for error replies.
  void record(std::size_t command_count, std::chrono::steady_clock::time_point start,
              const boost::system::error_code& ec, const response& replies) noexcept;

  /// Records one command of the view path (client::exec_view). Its latency is observed only when
  /// `start` is set, which latency_sample() does for one command in eight per thread: two clock
  /// reads per command would be a tenth of the view path's CPU budget (docs/metrics.md).
  void record_one(std::optional<std::chrono::steady_clock::time_point> start,
                  const boost::system::error_code& ec, const reply& r) noexcept;
};

/// The start time of a view-path command whose latency is sampled (one in eight per thread),
/// nullopt for the others. Thread-safe (thread-local state).
inline std::optional<std::chrono::steady_clock::time_point> latency_sample() noexcept {
  thread_local std::uint32_t n = 0;
  if ((n++ & 7u) != 0) return std::nullopt;
  return std::chrono::steady_clock::now();
}

/// Most nodes one client labels separately; further addresses share the node label "other".
inline constexpr std::size_t max_labelled_nodes = 16;

/// One client's counters. Thread-safe; every update is lock-free.
struct client_metrics {
  base::metrics::bounded_slots<node_metrics, max_labelled_nodes> nodes;
  base::metrics::counter reconnects;             ///< node connections set up again after a loss
  base::metrics::counter connect_failures;       ///< connect / set-up attempts that failed
  base::metrics::counter failovers_seen;         ///< Sentinel +switch-master and READONLY; Cluster
                                                 ///< slot maps whose master set changed
  base::metrics::counter moved;                  ///< Cluster MOVED redirects followed
  base::metrics::counter ask;                    ///< Cluster ASK redirects followed
  base::metrics::counter subscriber_drops;       ///< subscriber connections lost
  base::metrics::counter subscriber_recoveries;  ///< subscribers subscribed again after a drop
  base::metrics::counter pubsub_messages;        ///< pub/sub messages received by subscribers
};

/// Most clients labelled separately (app, ws, doctor's, tests'); more share "other".
inline constexpr std::size_t max_labelled_clients = 6;

/// Every client's counters in this process.
struct metrics_registry {
  base::metrics::bounded_slots<client_metrics, max_labelled_clients> clients;
};

/// The process-wide registry (a function-local static; thread-safe).
metrics_registry& metrics();

struct client_options;
/// The counters of the client `o` describes (its metrics_label, else its name). Takes the
/// registry's mutex the first time a label is seen: call once per client or connection.
client_metrics& metrics_of(const client_options& o);

/// The node a standalone or Sentinel client currently talks to, re-read only when the
/// connection's connect count changes (one relaxed load per request otherwise). Thread-safe.
class node_tracker {
 public:
  explicit node_tracker(client_metrics& m) : m_(m) {}
  node_metrics& current(const connection& c);

 private:
  client_metrics& m_;
  std::atomic<std::uint64_t> seen_{~std::uint64_t{0}};
  std::atomic<node_metrics*> node_{nullptr};
};

}  // namespace owcore::redis
