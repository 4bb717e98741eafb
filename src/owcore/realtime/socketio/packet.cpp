#include "owcore/realtime/socketio/packet.hpp"

#include "owcore/realtime/socketio/error.hpp"

#include "owcore/base/pyjson.hpp"

#include <boost/json/object.hpp>

#include <cmath>

namespace owcore::realtime::socketio {

namespace json = boost::json;

namespace {

constexpr std::size_t max_count_digits = 6;
constexpr std::size_t max_id_digits = 15;  // stays an exact integer in JavaScript

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

bool is_binary(packet_type t) noexcept {
  return t == packet_type::binary_event || t == packet_type::binary_ack;
}

std::optional<std::int64_t> integral_index(const json::value& v) noexcept {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64()) {
    const auto u = v.get_uint64();
    if (u > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<std::int64_t>(u);
  }
  if (v.is_double()) {
    const double d = v.get_double();
    if (std::isfinite(d) && d >= 0 && d < 9.0e15 && std::floor(d) == d) return static_cast<std::int64_t>(d);
  }
  return std::nullopt;
}

// Shape checks per type, on what a client may send.
boost::system::error_code check_shape(const packet& p) {
  switch (p.type) {
    case packet_type::connect:
      if (p.data && !p.data->is_object()) return error::bad_payload;
      return {};
    case packet_type::disconnect:
      if (p.data) return error::bad_payload;
      return {};
    case packet_type::event:
    case packet_type::binary_event: {
      if (!p.data || !p.data->is_array() || p.data->get_array().empty()) return error::bad_payload;
      const auto& name = p.data->get_array().front();
      if (!name.is_string()) return error::bad_event_name;
      return {};
    }
    case packet_type::ack:
    case packet_type::binary_ack:
      if (!p.id || !p.data || !p.data->is_array()) return error::bad_payload;
      return {};
    case packet_type::connect_error:
      if (p.data && !p.data->is_object() && !p.data->is_string()) return error::bad_payload;
      return {};
  }
  return error::bad_packet_type;
}

}  // namespace

json::value payload::attach(std::string bytes) {
  json::object o;
  o["_placeholder"] = true;
  o["num"] = attachments.size();
  attachments.push_back(std::move(bytes));
  return o;
}

const std::string* payload::attachment(const json::value& v) const noexcept {
  const auto* o = v.if_object();
  if (!o) return nullptr;
  const auto* flag = o->if_contains("_placeholder");
  const auto* num = o->if_contains("num");
  if (!flag || !flag->is_bool() || !flag->get_bool() || !num) return nullptr;
  const auto i = integral_index(*num);
  if (!i || *i < 0 || static_cast<std::size_t>(*i) >= attachments.size()) return nullptr;
  return &attachments[static_cast<std::size_t>(*i)];
}

bool is_reserved_event(std::string_view name) noexcept {
  return name == "connect" || name == "connect_error" || name == "disconnect" ||
         name == "disconnecting" || name == "error" || name == "newListener" ||
         name == "removeListener";
}

bool placeholders_valid(const json::value& v, std::size_t count) noexcept {
  if (const auto* a = v.if_array()) {
    for (const auto& e : *a)
      if (!placeholders_valid(e, count)) return false;
    return true;
  }
  const auto* o = v.if_object();
  if (!o) return true;
  if (const auto* flag = o->if_contains("_placeholder"); flag && flag->is_bool() && flag->get_bool()) {
    const auto* num = o->if_contains("num");
    if (!num) return false;
    const auto i = integral_index(*num);
    return i && *i >= 0 && static_cast<std::size_t>(*i) < count;
  }
  for (const auto& [k, e] : *o)
    if (!placeholders_valid(e, count)) return false;
  return true;
}

std::string encode_text(const packet& p) {
  auto type = p.type;
  if (!p.attachments.empty()) {
    if (type == packet_type::event) type = packet_type::binary_event;
    else if (type == packet_type::ack) type = packet_type::binary_ack;
  }
  std::string out;
  out += static_cast<char>('0' + static_cast<int>(type));
  if (is_binary(type)) {
    out += std::to_string(p.attachments.size());
    out += '-';
  }
  if (p.nsp != "/" && !p.nsp.empty()) {
    out += p.nsp;
    out += ',';
  }
  if (p.id) out += std::to_string(*p.id);
  // NaN and infinities (a client's 1e400, Python's NaN from pub/sub) are written as null, as
  // JSON.stringify does: the browser's JSON.parse refuses any other spelling of them.
  if (p.data) base::pyjson::dump(*p.data, base::pyjson::style::compact, out);
  return out;
}

encoded_packet encode(const packet& p) {
  encoded_packet frames;
  frames.reserve(1 + p.attachments.size());
  frames.push_back(engineio::message_frame(encode_text(p)));
  for (const auto& a : p.attachments) frames.push_back(engineio::binary_frame(a));
  return frames;
}

packet make_event(std::string nsp, std::string_view event, payload args, std::optional<std::uint64_t> id) {
  packet p;
  p.type = packet_type::event;
  p.nsp = std::move(nsp);
  p.id = id;
  json::array data;
  data.reserve(args.args.size() + 1);
  data.emplace_back(event);
  for (auto& v : args.args) data.push_back(std::move(v));
  p.data = std::move(data);
  p.attachments = std::move(args.attachments);
  return p;
}

packet make_ack(std::string nsp, std::uint64_t id, payload args) {
  packet p;
  p.type = packet_type::ack;
  p.nsp = std::move(nsp);
  p.id = id;
  p.data = std::move(args.args);
  p.attachments = std::move(args.attachments);
  return p;
}

decoder::decoder(decoder_limits limits) : limits_(limits) {}

decoder::result decoder::feed_text(std::string_view s) {
  if (partial_) return error::unexpected_text;
  if (s.empty() || s[0] < '0' || s[0] > '6') return error::bad_packet_type;
  packet p;
  p.type = static_cast<packet_type>(s[0] - '0');
  std::size_t i = 1;

  std::size_t count = 0;
  if (is_binary(p.type)) {
    const std::size_t start = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i == start || i - start > max_count_digits || i >= s.size() || s[i] != '-')
      return error::bad_attachment_count;
    for (std::size_t k = start; k < i; ++k) count = count * 10 + static_cast<std::size_t>(s[k] - '0');
    if (count > limits_.max_attachments) return error::too_many_attachments;
    ++i;  // '-'
  }

  if (i < s.size() && s[i] == '/') {
    const auto comma = s.find(',', i);
    const auto end = comma == std::string_view::npos ? s.size() : comma;
    if (end - i > limits_.max_namespace_length) return error::bad_namespace;
    p.nsp = std::string(s.substr(i, end - i));
    i = comma == std::string_view::npos ? s.size() : comma + 1;
  }

  if (i < s.size() && is_digit(s[i])) {
    const std::size_t start = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i - start > max_id_digits) return error::bad_ack_id;
    std::uint64_t id = 0;
    for (std::size_t k = start; k < i; ++k) id = id * 10 + static_cast<std::uint64_t>(s[k] - '0');
    p.id = id;
  }

  if (i < s.size()) {
    // base/pyjson rather than Boost.JSON 1.81, whose number parsing is not correctly rounded: a
    // float relayed to other clients must arrive as the sender wrote it.
    auto v = base::pyjson::load(s.substr(i), limits_.max_json_depth);
    auto* ok = std::get_if<json::value>(&v);
    if (!ok) return error::bad_json;
    p.data = std::move(*ok);
  }

  if (auto ec = check_shape(p)) return ec;
  if (is_binary(p.type) && count > 0) {
    partial_ = std::make_unique<packet>(std::move(p));
    expected_ = count;
    bytes_ = 0;
    return std::optional<packet>();
  }
  if (is_binary(p.type) && p.data && !placeholders_valid(*p.data, 0)) return error::bad_placeholder;
  return std::optional<packet>(std::move(p));
}

decoder::result decoder::feed_binary(std::string bytes) {
  if (!partial_) return error::unexpected_binary;
  bytes_ += bytes.size();
  if (bytes_ > limits_.max_attachment_bytes) return error::attachments_too_large;
  partial_->attachments.push_back(std::move(bytes));
  if (partial_->attachments.size() < expected_) return std::optional<packet>();
  return complete();
}

decoder::result decoder::complete() {
  packet p = std::move(*partial_);
  partial_.reset();
  if (p.data && !placeholders_valid(*p.data, p.attachments.size())) return error::bad_placeholder;
  return std::optional<packet>(std::move(p));
}

}  // namespace owcore::realtime::socketio
