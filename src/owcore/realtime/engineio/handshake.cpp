#include "owcore/realtime/engineio/handshake.hpp"

#include "owcore/realtime/engineio/error.hpp"
#include "owcore/realtime/engineio/websocket.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace owcore::realtime::engineio {
namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] != '%') {
      out += s[i];
    } else {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    }
  }
  return out;
}

std::string_view trim_slash(std::string_view s) noexcept {
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view to_string(transport_kind t) noexcept {
  return t == transport_kind::polling ? "polling" : "websocket";
}

std::optional<std::string> query_param(std::string_view target, std::string_view name) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  auto rest = target.substr(q + 1);
  if (auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const auto pair = rest.substr(0, amp);
    const auto eq = pair.find('=');
    const auto key = pair.substr(0, eq);
    if (key == name) {
      if (eq == std::string_view::npos) return std::string();
      return percent_decode(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
  return std::nullopt;
}

boost::system::result<request_params> parse_request(std::string_view target) {
  const auto eio = query_param(target, "EIO");
  if (!eio || *eio != "4") return error::unsupported_version;
  const auto transport = query_param(target, "transport");
  request_params p;
  if (transport && *transport == "polling") p.transport = transport_kind::polling;
  else if (transport && *transport == "websocket") p.transport = transport_kind::websocket;
  else return error::unknown_transport;
  if (auto sid = query_param(target, "sid")) {
    if (sid->empty()) return error::unknown_sid;
    p.sid = std::move(*sid);
  }
  return p;
}

bool origin_allowed(std::string_view origin, const std::vector<std::string>& allowed) noexcept {
  for (const auto& a : allowed) {
    if (a == "*") return true;
    if (ws::iequals_ascii(trim_slash(a), trim_slash(origin))) return true;
  }
  return false;
}

std::string open_payload(const handshake_info& info) {
  boost::json::object o;
  o["sid"] = info.sid;
  boost::json::array up;
  for (const auto& u : info.upgrades) up.emplace_back(u);
  o["upgrades"] = std::move(up);
  o["pingInterval"] = info.ping_interval.count();
  o["pingTimeout"] = info.ping_timeout.count();
  o["maxPayload"] = info.max_payload;
  return boost::json::serialize(o);
}

}  // namespace owcore::realtime::engineio
