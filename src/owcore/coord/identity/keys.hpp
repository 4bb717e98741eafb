#pragma once
// The identity service's Redis keys (docs/wire.md, "Redis keys").

#include <string>
#include <string_view>

namespace owcore::coord::identity::keys {

/// `P:owcore:user_active:<id>` = "1" with a TTL of the activity-write interval: set with NX by
/// the instance that writes user.last_active_at, so a fleet writes it at most once per interval.
inline std::string user_active(std::string_view prefix, std::string_view user_id) {
  return std::string(prefix) + ":owcore:user_active:" + std::string(user_id);
}

}  // namespace owcore::coord::identity::keys
