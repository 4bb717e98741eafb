// libFuzzer target for the JSON that Open WebUI (or anyone with database access) keeps in text
// columns and owcore reads and rewrites (tests/fuzz/run_fuzz json_columns): `chat.meta` timers,
// `note.data` and `group.permissions` (db/json_columns). Properties: a cancelled timer's meta is
// the old object with exactly the three timer keys changed; a merged note holds every patch key
// with the patch's value and every other old key unchanged, and merging the same patch again
// changes nothing.
//
// Input: the column text, then a 0xFF byte, then the patch (a JSON object) or the reason/path.
//
// fuzz-sources: src/owcore/db/json_columns.cpp
// fuzz-libs: -lboost_json
#include "owcore/base/pyjson.hpp"
#include "owcore/db/json_columns.hpp"
#include "json_same.hpp"

#include <boost/json/value.hpp>

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

namespace db = owcore::db;
namespace json = boost::json;

namespace {

[[noreturn]] void broken(const char* what) {
  __builtin_printf("property broken: %s\n", what);
  std::abort();
}

// Columns are read as json.loads reads them (exact numbers, NaN tokens).
std::optional<json::value> parse(std::string_view text) {
  auto v = owcore::base::pyjson::load(text, db::max_column_depth);
  if (auto* ok = std::get_if<json::value>(&v)) return std::move(*ok);
  return std::nullopt;
}


void timer(const std::string& column, std::string_view reason) {
  const auto out = db::cancel_timer_meta(column, reason, 1234);
  if (!out) return;
  const auto before = parse(column);
  const auto after = parse(*out);
  if (!before || !after || !after->is_object()) broken("a cancelled meta is not an object");
  const auto& a = after->as_object();
  if (a.at("status") != "cancelled" || a.at("timer_cancelled_by") != json::string(reason) || a.at("timer_cancelled_at") != 1234)
    broken("the timer keys are not set");
  for (const auto& [k, v] : before->as_object()) {
    if (k == "status" || k == "timer_cancelled_at" || k == "timer_cancelled_by") continue;
    if (!a.contains(k) || !fuzz::same(a.at(k), v)) broken("a meta key changed");
  }
}

void note(const std::string& column, std::string_view patch_text) {
  const auto patch = parse(patch_text);
  if (!patch || !patch->is_object()) return;
  const auto& p = patch->as_object();
  const auto out = db::merge_note_data(column, p);
  const auto before = owcore::base::pyjson::load(column, db::max_column_depth);
  if (out.result == db::note_merge::outcome::unreadable) {
    if (std::holds_alternative<json::value>(before)) broken("readable JSON called unreadable");
    return;
  }
  if (!std::holds_alternative<json::value>(before)) broken("unreadable JSON merged");
  const json::value& old = std::get<json::value>(before);
  if (out.result == db::note_merge::outcome::unchanged) {
    if (!old.is_object()) broken("unchanged although there was no object");
    for (const auto& [k, v] : p)
      if (!old.as_object().contains(k) || !fuzz::same(old.as_object().at(k), v)) broken("unchanged although a key differs");
    return;
  }
  const auto after = parse(out.text);
  if (!after || !after->is_object()) broken("merged data is not an object");
  for (const auto& [k, v] : p)
    if (!fuzz::same(after->as_object().at(k), v)) broken("a patch key is missing or differs");
  if (old.is_object())
    for (const auto& [k, v] : old.as_object())
      if (!p.contains(k) && !fuzz::same(after->as_object().at(k), v)) broken("an old key changed");
  if (db::merge_note_data(out.text, p).result != db::note_merge::outcome::unchanged)
    broken("merging the same patch twice changed something");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto cut = in.find('\xff');
  if (cut == std::string_view::npos) return 0;
  const std::string column(in.substr(0, cut));
  const auto rest = in.substr(cut + 1);
  timer(column, rest);
  note(column, rest);
  (void)db::permission_at(column, rest);
  return 0;
}
