#include "owcore/realtime/metrics.hpp"

#include "owcore/realtime/engineio/handshake.hpp"
#include "owcore/realtime/engineio/session_fsm.hpp"
#include "owcore/realtime/socketio/packet.hpp"
#include "owcore/realtime/socketio/socket.hpp"

namespace owcore::realtime {

// The label tables are indexed by the enums' values.
static_assert(static_cast<std::size_t>(engineio::transport_kind::websocket) + 1 ==
              transport_labels.size());
static_assert(static_cast<std::size_t>(engineio::close_reason::queue_overflow) + 1 ==
              close_reason_labels.size());
static_assert(static_cast<std::size_t>(socketio::disconnect_reason::server_shutdown) + 1 ==
              disconnect_reason_labels.size());

std::size_t event_index(std::string_view event) noexcept {
  for (std::size_t i = 0; i < event_labels.size(); ++i)
    if (event_labels[i] == event) return i;
  return event_labels.size();
}

std::size_t event_index_of(const socketio::packet& p) noexcept {
  if (!p.data || !p.data->is_array()) return event_labels.size();
  const auto& arr = p.data->get_array();
  if (arr.empty() || !arr.front().is_string()) return event_labels.size();
  const auto& name = arr.front().get_string();
  return event_index(std::string_view(name.data(), name.size()));
}

metrics_registry& metrics() {
  static metrics_registry registry;
  return registry;
}

}  // namespace owcore::realtime
