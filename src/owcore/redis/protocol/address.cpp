#include "owcore/redis/protocol/address.hpp"

#include <charconv>

namespace owcore::redis {

std::optional<address> address::parse(std::string_view host_port) {
  const auto colon = host_port.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const auto digits = host_port.substr(colon + 1);
  if (digits.empty() || digits.size() > 5) return std::nullopt;
  for (char c : digits)
    if (c < '0' || c > '9') return std::nullopt;
  unsigned port = 0;
  std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (port < 1 || port > 65535) return std::nullopt;
  std::string_view host = host_port.substr(0, colon);
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 2 || host.back() != ']') return std::nullopt;
    host = host.substr(1, host.size() - 2);
  }
  for (char c : host) {
    const auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b == 0x7f || c == '[' || c == ']') return std::nullopt;
  }
  return address{std::string(host), static_cast<std::uint16_t>(port)};
}

std::string address::to_string() const {
  std::string out;
  out.reserve(host.size() + 8);
  const bool bracket = host.find(':') != std::string::npos;
  if (bracket) out += '[';
  out += host;
  if (bracket) out += ']';
  out += ':';
  out += std::to_string(port);
  return out;
}

}  // namespace owcore::redis
