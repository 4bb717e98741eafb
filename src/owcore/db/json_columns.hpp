#pragma once
// The JSON that Open WebUI keeps in text columns, read and rewritten by owcore (docs/database.md):
// `chat.meta` (timers), `note.data` (the collaborative note's saved content) and
// `group.permissions`. Pure functions, text in and text out, so every rule is unit-tested and
// fuzzed (tests/fuzz/json_columns_fuzz.cpp) apart from SQL. A column that is NULL, not JSON or
// not the expected shape is treated as Python treats it: no timer, an empty object to merge
// into, no permission. Columns are read as Python's json.loads reads them (base/pyjson: NaN and
// Infinity tokens, every number converted exactly), so a rewrite never alters a value it did not
// mean to change. Thread-safe (no state).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

namespace owcore::db {

/// The timer of a chat's `meta`, cancelled for `reason`: when `meta_text` is an object whose
/// `status` is "pending" and whose `cancel_on` array lists `reason`, returns the new text with
/// `status` "cancelled", `timer_cancelled_at` = now_ns and `timer_cancelled_by` = reason (other
/// keys kept, in order); otherwise nullopt (nothing to cancel).
std::optional<std::string> cancel_timer_meta(const std::optional<std::string>& meta_text, std::string_view reason,
                                             std::int64_t now_ns);

/// Deepest nesting read from a column (a note's TipTap document nests deeply); deeper text is
/// unreadable.
inline constexpr std::size_t max_column_depth = 512;

/// The note save's merge: the top-level keys of `patch` replace or extend those of `old_text`.
struct note_merge {
  enum class outcome {
    merged,      ///< `text` is the new column value
    unchanged,   ///< an object was there and the patch changes nothing
    unreadable,  ///< the column holds text that is not JSON: never overwritten
  } result = outcome::unchanged;
  std::string text;
};
/// NULL, JSON null and JSON that is not an object count as {} (Python's `note.data or {}`); text
/// that is not JSON at all (or nested deeper than max_column_depth) is `unreadable`.
note_merge merge_note_data(const std::optional<std::string>& old_text, const boost::json::object& patch);

/// Truthiness of `permissions_json` at a dotted `path` as Python's has_permission reads it: every
/// level must be an object holding the key; the leaf's Python truth value decides.
bool permission_at(const std::optional<std::string>& permissions_json, std::string_view path);

}  // namespace owcore::db
