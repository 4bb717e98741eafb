#include "owcore/db/json_columns.hpp"

#include "owcore/base/pyjson.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>

namespace owcore::db {
namespace {

namespace json = boost::json;

std::optional<json::value> parse_column(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  auto v = base::pyjson::load(*text, max_column_depth);
  if (auto* ok = std::get_if<json::value>(&v)) return std::move(*ok);
  return std::nullopt;
}

// Python's bool(): false for None, False, 0, 0.0, "" and empty containers.
bool python_truth(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return false;
    case json::kind::bool_: return v.get_bool();
    case json::kind::int64: return v.get_int64() != 0;
    case json::kind::uint64: return v.get_uint64() != 0;
    case json::kind::double_: return v.get_double() != 0.0;
    case json::kind::string: return !v.get_string().empty();
    case json::kind::array: return !v.get_array().empty();
    case json::kind::object: return !v.get_object().empty();
  }
  return false;
}

// Equal as the JSON text Python would write: as boost::json's ==, except that NaN equals NaN (a
// column may hold NaN; writing it again changes nothing).
bool same_json(const json::value& a, const json::value& b) {
  if (a.is_double() && b.is_double()) {
    const double x = a.get_double(), y = b.get_double();
    return x == y || (x != x && y != y);
  }
  if (a.is_array() && b.is_array()) {
    const auto& x = a.get_array();
    const auto& y = b.get_array();
    return x.size() == y.size() && std::equal(x.begin(), x.end(), y.begin(), same_json);
  }
  if (a.is_object() && b.is_object()) {
    const auto& x = a.get_object();
    const auto& y = b.get_object();
    if (x.size() != y.size()) return false;
    for (const auto& [k, v] : x) {
      const auto* w = y.if_contains(k);
      if (!w || !same_json(v, *w)) return false;
    }
    return true;
  }
  return a == b;
}

}  // namespace

std::optional<std::string> cancel_timer_meta(const std::optional<std::string>& meta_text, std::string_view reason,
                                             std::int64_t now_ns) {
  auto meta = parse_column(meta_text);
  if (!meta || !meta->is_object()) return std::nullopt;
  auto& o = meta->as_object();
  const auto* on = o.if_contains("cancel_on");
  const bool listed = on && on->is_array() && std::any_of(on->as_array().begin(), on->as_array().end(),
                                                          [&](const json::value& v) {
                                                            return v.is_string() && v.get_string() == reason;
                                                          });
  const auto* status = o.if_contains("status");
  if (!listed || !status || !status->is_string() || status->get_string() != "pending") return std::nullopt;
  o["status"] = "cancelled";
  o["timer_cancelled_at"] = now_ns;
  o["timer_cancelled_by"] = reason;
  return json::serialize(*meta);
}

note_merge merge_note_data(const std::optional<std::string>& old_text, const json::object& patch) {
  auto old = parse_column(old_text);
  if (old_text && !old) return {note_merge::outcome::unreadable, {}};
  json::object merged;
  if (old && old->is_object()) merged = std::move(old->as_object());
  const bool was_object = old && old->is_object();
  bool changed = !was_object;
  for (const auto& [k, v] : patch) {
    auto* at = merged.if_contains(k);
    if (at && same_json(*at, v)) continue;
    merged[k] = v;
    changed = true;
  }
  if (!changed) return {note_merge::outcome::unchanged, {}};
  return {note_merge::outcome::merged, json::serialize(merged)};
}

bool permission_at(const std::optional<std::string>& permissions_json, std::string_view path) {
  auto v = parse_column(permissions_json);
  if (!v) return false;
  const json::value* at = &*v;
  while (true) {
    const auto dot = path.find('.');
    const auto key = path.substr(0, dot);
    if (!at->is_object()) return false;
    at = at->as_object().if_contains(key);
    if (!at) return false;
    if (dot == std::string_view::npos) break;
    path.remove_prefix(dot + 1);
  }
  return python_truth(*at);
}

}  // namespace owcore::db
