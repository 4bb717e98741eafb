#include "owcore/base/uuid.hpp"

#include "owcore/base/hex.hpp"
#include "owcore/base/random.hpp"

namespace owcore::base {

std::string uuid4_hex() {
  std::string b = random_bytes(16);
  b[6] = static_cast<char>((static_cast<unsigned char>(b[6]) & 0x0F) | 0x40);  // version 4
  b[8] = static_cast<char>((static_cast<unsigned char>(b[8]) & 0x3F) | 0x80);  // RFC variant
  return hex_encode(b);
}

std::string uuid4() {
  const std::string h = uuid4_hex();
  std::string out;
  out.reserve(36);
  // 8-4-4-4-12 groups of hex digits.
  out.append(h, 0, 8).append(1, '-').append(h, 8, 4).append(1, '-').append(h, 12, 4);
  out.append(1, '-').append(h, 16, 4).append(1, '-').append(h, 20, 12);
  return out;
}

}  // namespace owcore::base
