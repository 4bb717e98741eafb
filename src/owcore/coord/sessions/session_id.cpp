#include "owcore/coord/sessions/session_id.hpp"

#include "owcore/base/hex.hpp"
#include "owcore/base/random.hpp"

namespace owcore::coord::sessions {

session_id session_id::generate() {
  return session_id(base::hex_encode(base::random_bytes(length / 2)));
}

bool session_id::well_formed(std::string_view text) noexcept {
  return base::is_lower_hex(text, length);
}

std::optional<session_id> session_id::parse(std::string_view text) {
  if (!well_formed(text)) return std::nullopt;
  return session_id(std::string(text));
}

}  // namespace owcore::coord::sessions
