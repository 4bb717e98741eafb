#include "owcore/realtime/engineio/sid.hpp"

#include <openssl/rand.h>

#include <array>
#include <stdexcept>

namespace owcore::realtime::engineio {
namespace {

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

}  // namespace

std::string sid_generator::next() {
  std::array<unsigned char, 15> raw{};
  if (RAND_bytes(raw.data(), 12) != 1) throw std::runtime_error("RAND_bytes failed");
  const auto n = counter_.fetch_add(1, std::memory_order_relaxed) & 0xffffffu;
  raw[12] = static_cast<unsigned char>(n >> 16);
  raw[13] = static_cast<unsigned char>(n >> 8);
  raw[14] = static_cast<unsigned char>(n);
  // 15 bytes are exactly 20 base64 characters, so no padding is ever needed.
  std::string out;
  out.reserve(length);
  for (std::size_t i = 0; i < raw.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t{raw[i]} << 16) | (std::uint32_t{raw[i + 1]} << 8) | raw[i + 2];
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  return out;
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
