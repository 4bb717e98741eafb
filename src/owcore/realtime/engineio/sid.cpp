#include "owcore/realtime/engineio/sid.hpp"

#include "owcore/base/base64.hpp"
#include "owcore/base/random.hpp"

namespace owcore::realtime::engineio {

std::string sid_generator::next() {
  std::string raw = base::random_bytes(15);
  const auto n = counter_.fetch_add(1, std::memory_order_relaxed) & 0xffffffu;
  raw[12] = static_cast<char>(n >> 16);
  raw[13] = static_cast<char>(n >> 8);
  raw[14] = static_cast<char>(n);
  // 15 bytes are exactly 20 base64 characters, so no padding is ever needed.
  return base::base64_encode(raw, base::base64_alphabet::url_safe, false);
}

bool sid_generator::well_formed(std::string_view s) noexcept {
  if (s.size() != length) return false;
  for (char c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace owcore::realtime::engineio
