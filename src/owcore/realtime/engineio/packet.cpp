#include "owcore/realtime/engineio/packet.hpp"

#include "owcore/realtime/engineio/error.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

namespace owcore::realtime::engineio {
namespace {

constexpr char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<std::int8_t, 256> make_b64_table() {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(b64_alphabet[i])] = static_cast<std::int8_t>(i);
  return t;
}
constexpr auto b64_table = make_b64_table();

bool valid_type(char c) noexcept { return c >= '0' && c <= '6'; }

std::shared_ptr<const std::string> shared(std::string s) {
  return std::make_shared<const std::string>(std::move(s));
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto byte = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out += b64_alphabet[(v >> 18) & 63];
    out += b64_alphabet[(v >> 12) & 63];
    out += b64_alphabet[(v >> 6) & 63];
    out += b64_alphabet[v & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const std::uint32_t v = byte(i) << 16;
    out += b64_alphabet[(v >> 18) & 63];
    out += b64_alphabet[(v >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    const std::uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8);
    out += b64_alphabet[(v >> 18) & 63];
    out += b64_alphabet[(v >> 12) & 63];
    out += b64_alphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

boost::system::result<std::string> base64_decode(std::string_view text) {
  // Strip up to two '=' of padding; what is left must be a whole number of sextets.
  std::size_t n = text.size();
  if (n > 0 && text[n - 1] == '=') --n;
  if (n > 0 && text[n - 1] == '=') --n;
  if (text.size() % 4 != 0 && n != text.size()) return error::bad_base64;  // padded but misaligned
  if (n % 4 == 1) return error::bad_base64;
  std::string out;
  out.reserve(n / 4 * 3 + 2);
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const auto v = b64_table[static_cast<unsigned char>(text[i])];
    if (v < 0) return error::bad_base64;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

frame make_frame(const packet& p) {
  if (p.binary) return binary_frame(p.data);
  return control_frame(p.type, p.data);
}

frame message_frame(std::string_view text) { return control_frame(packet_type::message, text); }

frame binary_frame(std::string bytes) { return frame{shared(std::move(bytes)), true}; }

frame control_frame(packet_type type, std::string_view data) {
  std::string s;
  s.reserve(data.size() + 1);
  s += static_cast<char>(type);
  s += data;
  return frame{shared(std::move(s)), false};
}

boost::system::result<packet> decode_text(std::string_view text) {
  if (text.empty() || !valid_type(text[0])) return error::bad_packet;
  return packet{static_cast<packet_type>(text[0]), std::string(text.substr(1)), false};
}

boost::system::result<std::vector<packet>> decode_payload(std::string_view body,
                                                          const payload_limits& limits) {
  if (body.empty()) return error::bad_packet;
  // Count first: a flood of tiny packets is refused before any work is done on it.
  const auto count = static_cast<std::size_t>(std::count(body.begin(), body.end(), record_separator)) + 1;
  if (count > limits.max_packets) return error::too_many_packets;
  std::vector<packet> out;
  out.reserve(count);
  std::size_t pos = 0;
  for (;;) {
    const auto end = body.find(record_separator, pos);
    const auto part = body.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    if (!part.empty() && part[0] == 'b') {
      auto bytes = base64_decode(part.substr(1));
      if (!bytes) return bytes.error();
      out.push_back(packet{packet_type::message, std::move(*bytes), true});
    } else {
      auto p = decode_text(part);
      if (!p) return p.error();
      out.push_back(std::move(*p));
    }
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return out;
}

std::size_t payload_size(const frame& f) noexcept {
  if (!f.binary) return f.size();
  return 1 + (f.size() + 2) / 3 * 4;
}

void append_to_payload(std::string& out, const frame& f) {
  if (!out.empty()) out += record_separator;
  if (!f.bytes) return;
  if (f.binary) {
    out += 'b';
    out += base64_encode(*f.bytes);
  } else {
    out += *f.bytes;
  }
}

}  // namespace owcore::realtime::engineio
