#include "owcore/realtime/socketio/error.hpp"

#include <string>

namespace owcore::realtime::socketio {
namespace {

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "owcore.socketio"; }
  std::string message(int ev) const override {
    switch (static_cast<error>(ev)) {
      case error::bad_packet_type: return "invalid Socket.IO packet type";
      case error::bad_attachment_count: return "invalid attachment count";
      case error::too_many_attachments: return "too many attachments";
      case error::attachments_too_large: return "attachments too large";
      case error::bad_namespace: return "invalid namespace";
      case error::bad_ack_id: return "invalid acknowledgement id";
      case error::bad_json: return "invalid JSON payload";
      case error::bad_payload: return "invalid payload for the packet type";
      case error::bad_event_name: return "event name is not a string";
      case error::reserved_event: return "reserved event name";
      case error::bad_placeholder: return "invalid attachment placeholder";
      case error::unexpected_binary: return "unexpected binary attachment";
      case error::unexpected_text: return "text packet while attachments were expected";
      case error::unexpected_packet: return "packet type not allowed from a client";
      case error::ack_timeout: return "acknowledgement timed out";
      case error::disconnected: return "socket disconnected";
      case error::no_such_socket: return "no such socket";
      case error::too_many_pending_acks: return "too many pending acknowledgements";
    }
    return "unknown socket.io error";
  }
};

}  // namespace

const boost::system::error_category& socketio_category() noexcept {
  static const category c;
  return c;
}

}  // namespace owcore::realtime::socketio
