#include "owcore/coord/sessions/session_id.hpp"

#include <openssl/rand.h>

#include <array>
#include <stdexcept>

namespace owcore::coord::sessions {

session_id session_id::generate() {
  std::array<unsigned char, length / 2> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
    throw std::runtime_error("session id: the OpenSSL CSPRNG failed");
  static constexpr char hex[] = "0123456789abcdef";
  std::string s;
  s.reserve(length);
  for (unsigned char b : bytes) {
    s.push_back(hex[b >> 4]);
    s.push_back(hex[b & 0x0f]);
  }
  return session_id(std::move(s));
}

bool session_id::well_formed(std::string_view text) noexcept {
  if (text.size() != length) return false;
  for (char c : text)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::optional<session_id> session_id::parse(std::string_view text) {
  if (!well_formed(text)) return std::nullopt;
  return session_id(std::string(text));
}

}  // namespace owcore::coord::sessions
