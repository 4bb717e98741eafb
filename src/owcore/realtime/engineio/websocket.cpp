#include "owcore/realtime/engineio/websocket.hpp"

#include "owcore/base/base64.hpp"

#include <openssl/sha.h>

namespace owcore::realtime::engineio::ws {
namespace {

constexpr std::string_view websocket_guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

bool valid_close_code(std::uint16_t code) noexcept {
  if (code >= 3000 && code <= 4999) return true;
  switch (code) {
    case 1000:
    case 1001:
    case 1002:
    case 1003:
    case 1007:
    case 1008:
    case 1009:
    case 1010:
    case 1011: return true;
    default: return false;
  }
}

void unmask(char* out, const char* in, std::size_t n, const unsigned char* key,
            std::size_t offset) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<char>(in[i] ^ key[(offset + i) & 3]);
}

frame_parser::step fail(close_code c) {
  frame_parser::step s;
  s.fail = c;
  return s;
}

}  // namespace

bool iequals_ascii(std::string_view a, std::string_view b) noexcept {
  auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

std::optional<std::string> accept_key(std::string_view client_key) {
  // 16 bytes in base64: 22 characters and "==".
  static constexpr base::base64_decode_options key_rules{base::base64_alphabet::standard, false,
                                                         base::base64_padding::required, false};
  if (client_key.size() != 24 || !base::base64_decode(client_key, key_rules)) return std::nullopt;
  if (client_key.substr(22) != "==") return std::nullopt;
  std::string material(client_key);
  material += websocket_guid;
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(material.data()), material.size(), digest);
  return base::base64_encode(
      std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

bool has_token(std::string_view value, std::string_view token) noexcept {
  while (!value.empty()) {
    const auto comma = value.find(',');
    auto item = value.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (iequals_ascii(item, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

std::string switching_protocols(std::string_view accept) {
  std::string r =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nServer: "
      "owcore\r\n"
      "Sec-WebSocket-Accept: ";
  r += accept;
  r += "\r\n\r\n";
  return r;
}

frame_parser::step frame_parser::parse(std::string_view in) {
  if (in.size() < 2) return {};
  const auto b0 = static_cast<unsigned char>(in[0]);
  const auto b1 = static_cast<unsigned char>(in[1]);
  const bool fin = (b0 & 0x80) != 0;
  const unsigned op = b0 & 0x0F;
  if ((b0 & 0x70) != 0) return fail(close_code::protocol_error);  // no extension was negotiated
  if ((b1 & 0x80) == 0) return fail(close_code::protocol_error);  // client frames are masked
  const bool control = op >= 8;
  if (control && (op > 10 || !fin || (b1 & 0x7F) > 125)) return fail(close_code::protocol_error);
  if (!control && op > 2) return fail(close_code::protocol_error);

  std::size_t header = 2;
  std::uint64_t len = b1 & 0x7F;
  if (len == 126) {
    if (in.size() < 4) return {};
    len =
        (std::uint64_t{static_cast<unsigned char>(in[2])} << 8) | static_cast<unsigned char>(in[3]);
    header = 4;
  } else if (len == 127) {
    if (in.size() < 10) return {};
    len = 0;
    for (int i = 2; i < 10; ++i) len = (len << 8) | static_cast<unsigned char>(in[i]);
    if (len >> 63) return fail(close_code::protocol_error);
    header = 10;
  }
  if (!control) {
    if (op == 0 && !in_message_)
      return fail(close_code::protocol_error);  // continuation of nothing
    if (op != 0 && in_message_)
      return fail(close_code::protocol_error);  // new message mid-fragment
    if (len > max_message_ || message_.size() + len > max_message_)
      return fail(close_code::too_big);
  }
  const std::size_t total = header + 4 + static_cast<std::size_t>(len);
  if (in.size() < total) return {};

  const auto* key = reinterpret_cast<const unsigned char*>(in.data() + header);
  const char* payload = in.data() + header + 4;
  const auto n = static_cast<std::size_t>(len);
  step s;
  s.consumed = total;

  if (control) {
    event e;
    e.data.resize(n);
    unmask(e.data.data(), payload, n, key, 0);
    if (op == 8) {
      e.what = event::kind::close;
      if (n == 1) return fail(close_code::protocol_error);
      if (n >= 2) {
        e.code = static_cast<std::uint16_t>((static_cast<unsigned char>(e.data[0]) << 8) |
                                            static_cast<unsigned char>(e.data[1]));
        if (!valid_close_code(e.code)) return fail(close_code::protocol_error);
        e.data.erase(0, 2);
        if (!valid_utf8(e.data)) return fail(close_code::invalid_payload);
      } else {
        e.code = 1005;
      }
    } else {
      e.what = op == 9 ? event::kind::ping : event::kind::pong;
    }
    s.ev = std::move(e);
    return s;
  }

  if (op != 0 && fin) {  // the common case: an unfragmented message, unmasked straight into place
    event e;
    e.binary = op == 2;
    e.data.resize(n);
    unmask(e.data.data(), payload, n, key, 0);
    if (!e.binary && !valid_utf8(e.data)) return fail(close_code::invalid_payload);
    s.ev = std::move(e);
    return s;
  }
  if (op != 0) {
    in_message_ = true;
    message_binary_ = op == 2;
  }
  const auto old = message_.size();
  message_.resize(old + n);
  unmask(message_.data() + old, payload, n, key, 0);
  if (fin) {
    event e;
    e.binary = message_binary_;
    e.data = std::move(message_);
    message_ = std::string();
    in_message_ = false;
    if (!e.binary && !valid_utf8(e.data)) return fail(close_code::invalid_payload);
    s.ev = std::move(e);
  }
  return s;
}

std::size_t encode_header(char* out, opcode op, std::size_t payload_size) noexcept {
  out[0] = static_cast<char>(0x80 | static_cast<unsigned>(op));
  if (payload_size < 126) {
    out[1] = static_cast<char>(payload_size);
    return 2;
  }
  if (payload_size <= 0xFFFF) {
    out[1] = 126;
    out[2] = static_cast<char>((payload_size >> 8) & 0xFF);
    out[3] = static_cast<char>(payload_size & 0xFF);
    return 4;
  }
  out[1] = 127;
  const auto len = static_cast<std::uint64_t>(payload_size);
  for (int i = 0; i < 8; ++i) out[2 + i] = static_cast<char>((len >> (8 * (7 - i))) & 0xFF);
  return 10;
}

std::string control_frame(opcode op, std::string_view payload) {
  if (payload.size() > 125) payload = payload.substr(0, 125);
  char h[10];
  const auto n = encode_header(h, op, payload.size());
  std::string f(h, n);
  f += payload;
  return f;
}

std::string close_frame(close_code code) {
  const auto c = static_cast<std::uint16_t>(code);
  const char body[2] = {static_cast<char>(c >> 8), static_cast<char>(c & 0xFF)};
  return control_frame(opcode::close, std::string_view(body, 2));
}

}  // namespace owcore::realtime::engineio::ws
