#include "owcore/realtime/engineio/packet.hpp"

#include "owcore/base/base64.hpp"
#include "owcore/realtime/engineio/error.hpp"

#include <algorithm>
#include <utility>

namespace owcore::realtime::engineio {
namespace {

bool valid_type(char c) noexcept { return c >= '0' && c <= '6'; }

std::shared_ptr<const std::string> shared(std::string s) {
  return std::make_shared<const std::string>(std::move(s));
}

}  // namespace

std::string base64_encode(std::string_view bytes) { return base::base64_encode(bytes); }

boost::system::result<std::string> base64_decode(std::string_view text) {
  // Polling payloads: padding may be left out, and trailing bits are not checked.
  static constexpr base::base64_decode_options options{base::base64_alphabet::standard, false,
                                                       base::base64_padding::optional, false};
  auto r = base::base64_decode(text, options);
  if (!r) return error::bad_base64;
  return std::move(*r);
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
  const auto count =
      static_cast<std::size_t>(std::count(body.begin(), body.end(), record_separator)) + 1;
  if (count > limits.max_packets) return error::too_many_packets;
  std::vector<packet> out;
  out.reserve(count);
  std::size_t pos = 0;
  for (;;) {
    const auto end = body.find(record_separator, pos);
    const auto part =
        body.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
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
