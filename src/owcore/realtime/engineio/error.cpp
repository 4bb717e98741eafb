#include "owcore/realtime/engineio/error.hpp"

#include <string>

namespace owcore::realtime::engineio {
namespace {

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "owcore.engineio"; }
  std::string message(int ev) const override {
    switch (static_cast<error>(ev)) {
      case error::bad_packet: return "invalid Engine.IO packet";
      case error::bad_base64: return "invalid base64 in a binary polling packet";
      case error::too_many_packets: return "too many packets in one polling payload";
      case error::payload_too_large: return "payload too large";
      case error::unknown_transport: return "Transport unknown";
      case error::unsupported_version: return "Unsupported protocol version";
      case error::unknown_sid: return "Session ID unknown";
      case error::bad_handshake_method: return "Bad handshake method";
      case error::bad_request: return "Bad request";
      case error::forbidden_origin: return "Not an accepted origin";
      case error::too_many_sessions: return "Too many sessions";
      case error::queue_overflow: return "outbound queue limit exceeded";
    }
    return "unknown engine.io error";
  }
};

}  // namespace

const boost::system::error_category& engineio_category() noexcept {
  static const category c;
  return c;
}

}  // namespace owcore::realtime::engineio
