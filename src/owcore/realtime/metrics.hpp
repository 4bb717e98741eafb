#pragma once
// The realtime layer's counters (docs/metrics.md): Engine.IO sessions by transport and close
// reason, Socket.IO events by name (a bounded set: Open WebUI's event names, everything else
// "other"), broadcasts and deliveries, disconnect reasons, and python-socketio pub/sub traffic.
// Every update is one relaxed atomic add (base/metrics.hpp); no locks, no allocation.

#include "owcore/base/metrics.hpp"

#include <array>
#include <cstddef>
#include <string_view>

namespace owcore::realtime {

namespace socketio {
struct packet;
}

/// Engine.IO transports, in the order of engineio::transport_kind.
inline constexpr std::array<std::string_view, 2> transport_labels{"polling", "websocket"};

/// Engine.IO close reasons, in the order of engineio::close_reason.
inline constexpr std::array<std::string_view, 7> close_reason_labels{
    "client_close",    "server_close",   "shutdown",      "ping_timeout",
    "transport_close", "protocol_error", "queue_overflow"};

/// Socket.IO disconnect reasons, in the order of socketio::disconnect_reason.
inline constexpr std::array<std::string_view, 6> disconnect_reason_labels{
    "client_disconnect", "server_disconnect", "transport_close",
    "ping_timeout",      "transport_error",   "server_shutdown"};

/// The event names counted under their own label (docs/openwebui-events.md, both directions);
/// any other name counts as "other", so a client cannot grow the label set.
inline constexpr std::array<std::string_view, 21> event_labels{"user-join",
                                                               "join-channels",
                                                               "join-note",
                                                               "heartbeat",
                                                               "usage",
                                                               "user-list",
                                                               "events",
                                                               "events:channel",
                                                               "events:chat",
                                                               "chat-events",
                                                               "channel-events",
                                                               "ydoc:document:join",
                                                               "ydoc:document:state",
                                                               "ydoc:document:update",
                                                               "ydoc:document:leave",
                                                               "ydoc:awareness:update",
                                                               "ydoc:user:joined",
                                                               "ydoc:user:left",
                                                               "execute:python",
                                                               "execute:tool",
                                                               "error"};

/// The index of `event` in event_labels, or event_labels.size() for "other". A scan of at most
/// 21 short strings; no allocation.
std::size_t event_index(std::string_view event) noexcept;
/// event_index of an EVENT packet's name ("other" when it has none).
std::size_t event_index_of(const socketio::packet& p) noexcept;

struct engineio_metrics {
  std::array<base::metrics::gauge, 2> sessions;  ///< open sessions by current transport
  std::array<base::metrics::counter, 2> opened;  ///< sessions opened by initial transport
  base::metrics::counter upgrades;               ///< polling -> WebSocket upgrades completed
  std::array<base::metrics::counter, close_reason_labels.size()> closed;  ///< by reason
};

struct socketio_metrics {
  std::array<base::metrics::counter, event_labels.size() + 1> events_in;   ///< received
  std::array<base::metrics::counter, event_labels.size() + 1> events_out;  ///< sent to a socket
  base::metrics::counter connects;    ///< namespace connections accepted
  base::metrics::counter broadcasts;  ///< broadcasts applied on this instance (local or remote)
  base::metrics::counter deliveries;  ///< sockets reached by those broadcasts
  std::array<base::metrics::counter, disconnect_reason_labels.size()> disconnects;  ///< by reason
};

/// The python-socketio pub/sub channel (adapter/redis_channel).
struct pubsub_metrics {
  base::metrics::counter received;        ///< payloads that arrived on the channel(s)
  base::metrics::counter rejected_in;     ///< arrived but malformed (dropped)
  base::metrics::counter published;       ///< PUBLISHes Redis acknowledged
  base::metrics::counter rejected_out;    ///< refused by publish() (queue full, invalid, stopped)
  base::metrics::counter publish_failed;  ///< queued, then dropped after the retry policy
};

struct metrics_registry {
  engineio_metrics engineio;
  socketio_metrics socketio;
  pubsub_metrics pubsub;
};

/// The process-wide registry (a function-local static; thread-safe).
metrics_registry& metrics();

}  // namespace owcore::realtime
