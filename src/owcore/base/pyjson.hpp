#pragma once
// JSON as Python's json module reads and writes it (docs/architecture.md, "base"): the reader
// python-socketio's receivers run (json.loads, strict=True, with engineio's integer guard) and
// the two texts Python publishers produce, json.dumps with its defaults and the compact form
// orjson writes. Pure functions over Boost.JSON values; thread-safe and reentrant.
//
// Reading (load):
//   - NaN, Infinity and -Infinity tokens are accepted (json.dumps writes them for float nan/inf)
//     and decode to double NaN/±inf.
//   - An integer literal longer than 100 characters (sign included) is rejected, like engineio's
//     json.loads(parse_int=...). Shorter integers outside [-2^63, 2^64) decode to the nearest
//     double (Boost.JSON cannot hold them; Python would keep them exact).
//   - A float literal that overflows decodes to ±inf and one that underflows to ±0.0, as float().
//   - Duplicate object keys: the last value wins, at the first key's position (Python's dict).
//   - Strings must be valid UTF-8 without raw control characters (strict=True). A `\uXXXX`
//     escape of a lone surrogate, which Python accepts but UTF-8 cannot hold, becomes U+FFFD.
//   - A leading UTF-8 BOM is skipped (json.loads of bytes accepts it); other encodings are not
//     detected. Comments, trailing commas and single quotes are errors, as in Python.

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>

namespace owcore::base::pyjson {

/// The two JSON texts Python code publishes.
enum class style {
  /// json.dumps defaults (ensure_ascii=True): ", " and ": " separators, every non-ASCII
  /// character and DEL escaped as lowercase \uXXXX (astral characters as surrogate pairs),
  /// NaN/Infinity tokens, floats as Python's repr. Byte-exact with json.dumps.
  stdlib,
  /// orjson-like: no spaces, raw UTF-8, NaN and ±inf written as null.
  compact,
};

/// Why load() refused a text.
enum class load_error {
  invalid_json,      ///< not JSON as json.loads reads it
  too_deep,          ///< nesting above the caller's max_depth
  integer_too_long,  ///< an integer literal longer than 100 characters
};

/// load()'s failure: what and the byte offset where it was found.
struct load_failure {
  load_error code = load_error::invalid_json;
  std::size_t offset = 0;
};

/// Parses `text` with json.loads semantics (above), with at most `max_depth` nested arrays and
/// objects (recursion is bounded by it). Never throws except std::bad_alloc.
std::variant<boost::json::value, load_failure> load(std::string_view text, std::size_t max_depth);

/// Appends `v` as JSON text in `s` to `out`. Strings are expected to be UTF-8; an invalid byte
/// sequence is written as U+FFFD so the output is always valid JSON. Recursion depth equals the
/// value's nesting (callers bound it). Never throws except std::bad_alloc.
void dump(const boost::json::value& v, style s, std::string& out);

/// As above, returning a new string.
std::string dump(const boost::json::value& v, style s);

/// Appends the array `a` as dump() would write it inside a value (no copy into a value).
void dump(const boost::json::array& a, style s, std::string& out);

/// Appends `text` as a JSON string literal in `s` (quotes included), as dump() writes strings
/// and object keys. For callers that write an object's fields themselves, in a fixed order.
void dump_string(std::string_view text, style s, std::string& out);

/// The separator between array items and between object members: ", " (stdlib) or ",".
std::string_view item_separator(style s) noexcept;

/// The separator between an object key and its value: ": " (stdlib) or ":".
std::string_view key_separator(style s) noexcept;

/// Replaces every NaN and infinite double in `v` (recursively) by null, as json.dumps's readers
/// outside Python see them and as JSON.stringify writes them. Recursion depth equals the value's
/// nesting.
void null_non_finite(boost::json::value& v);

}  // namespace owcore::base::pyjson
