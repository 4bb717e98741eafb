#include "owcore/coord/sessions/session_data.hpp"

#include "owcore/base/pyjson.hpp"
#include "owcore/coord/sessions/error.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <cmath>

namespace owcore::coord::sessions {

namespace json = boost::json;

std::string encode_stored_session(const json::object& data, const session_metadata& meta) {
  json::object out;
  out.reserve(data.size() + 1);
  for (const auto& [k, v] : data)
    if (k != metadata_key) out.emplace(k, v);
  json::object m;
  m.reserve(3);
  m.emplace("lifetime", meta.lifetime);
  m.emplace("created", meta.created);
  m.emplace("last_access", meta.last_access);
  out.emplace(metadata_key, std::move(m));
  return json::serialize(out);
}

namespace {

bool number_of(const json::value* v, double& out) {
  if (v == nullptr) return false;
  if (v->is_double()) out = v->get_double();
  else if (v->is_int64()) out = static_cast<double>(v->get_int64());
  else if (v->is_uint64()) out = static_cast<double>(v->get_uint64());
  else return false;
  return true;
}

}  // namespace

boost::system::result<stored_session> decode_stored_session(std::string_view text, double now) {
  stored_session s;
  s.metadata = {0, now, now};
  if (text.empty()) return s;
  // Python wrote it (json.dumps: NaN/Infinity tokens possible); read exactly, as json.loads does.
  auto parsed = base::pyjson::load(text, max_session_depth);
  auto* v = std::get_if<json::value>(&parsed);
  if (!v || !v->is_object()) return make_error_code(error::bad_session_data);
  s.data = std::move(v->get_object());
  if (auto it = s.data.find(metadata_key); it != s.data.end()) {
    if (const auto* m = it->value().if_object()) {
      double d = 0;
      // A lifetime that is not a finite number within a century keeps the default (Python's
      // int() would raise on inf or NaN; a cast of them is undefined).
      if (number_of(m->if_contains("lifetime"), d) && std::isfinite(d) && std::fabs(d) < 3.2e9)
        s.metadata.lifetime = static_cast<std::int64_t>(d);
      number_of(m->if_contains("created"), s.metadata.created);
      number_of(m->if_contains("last_access"), s.metadata.last_access);
    }
    s.data.erase(it);
  }
  return s;
}

void merge_patch(json::value& target, const json::value& patch) {
  if (!patch.is_object()) {
    target = patch;
    return;
  }
  if (!target.is_object()) target = json::object();
  merge_patch(target.get_object(), patch.get_object());
}

void merge_patch(json::object& target, const json::object& patch) {
  for (const auto& [k, v] : patch) {
    if (v.is_null()) {
      target.erase(k);
      continue;
    }
    auto& slot = target[k];  // a new key starts as null, which merge_patch replaces
    merge_patch(slot, v);
  }
}

double unix_time_now() noexcept {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace owcore::coord::sessions
