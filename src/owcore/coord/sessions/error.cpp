#include "owcore/coord/sessions/error.hpp"

#include <string>

namespace owcore::coord::sessions {
namespace {

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "owcore.sessions"; }
  std::string message(int ev) const override {
    switch (static_cast<error>(ev)) {
      case error::malformed_cookie: return "malformed signed cookie";
      case error::bad_signature: return "cookie signature does not match";
      case error::expired: return "cookie signature expired";
      case error::bad_payload: return "cookie payload is not a JSON object";
      case error::bad_session_data: return "stored session is not a JSON object";
      case error::reserved_key: return "session key is reserved";
      case error::too_large: return "session exceeds the size limit";
      case error::deleted: return "session was deleted concurrently";
      case error::contention: return "session kept changing; gave up";
      case error::unexpected_reply: return "unexpected reply from the session store";
    }
    return "unknown session error";
  }
};

}  // namespace

const boost::system::error_category& session_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace owcore::coord::sessions
