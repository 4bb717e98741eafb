#pragma once
// Session contents: the starsessions JSON stored under `P:session:<id>` (docs/wire.md, "Sessions")
// and the RFC 7386 JSON merge patch used to change it. Sans-io, no allocation beyond the values.
//
// Stored shape (starsessions 2.2.1, JsonSerializer): one JSON object holding the application
// data plus `"__metadata__": {"lifetime": 0, "created": <float epoch>, "last_access": <float
// epoch>}`. Python writes it with `json.dumps` (", " and ": " separators, ASCII escapes); owcore
// writes compact UTF-8 JSON, which Python's `json.loads` reads the same.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <boost/system/result.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace owcore::coord::sessions {

/// Deepest nesting accepted in session JSON (cookie or Redis); deeper is malformed.
inline constexpr std::size_t max_session_depth = 128;

}  // namespace owcore::coord::sessions

namespace owcore::coord::sessions {

/// The reserved top-level key holding the metadata. Never part of the application data.
inline constexpr std::string_view metadata_key = "__metadata__";

/// starsessions' session metadata. Open WebUI uses lifetime 0 (a browser-session cookie).
struct session_metadata {
  std::int64_t lifetime = 0;  ///< seconds; 0 = session cookie (the TTL is then the 30-day gc_ttl)
  double created = 0;         ///< Unix epoch seconds when the session was first written
  double last_access = 0;     ///< Unix epoch seconds of the last write
};

/// A decoded stored session.
struct stored_session {
  boost::json::object data;   ///< application data, without `__metadata__`
  session_metadata metadata;
};

/// Encodes `data` followed by `__metadata__` (the order starsessions writes). A `__metadata__`
/// key inside `data` is skipped (callers reject it earlier; this keeps the format sound).
std::string encode_stored_session(const boost::json::object& data, const session_metadata& meta);

/// Decodes a stored value like starsessions' load(): the `__metadata__` object is split off,
/// its missing or non-numeric fields take `{lifetime 0, created now, last_access now}`.
/// Fails with error::bad_session_data when `json` is not a JSON object (an empty string is an
/// empty session, as in starsessions). Read as json.loads reads it (base/pyjson: NaN and
/// Infinity tokens, numbers converted exactly), nested at most max_session_depth deep.
boost::system::result<stored_session> decode_stored_session(std::string_view json, double now);

/// RFC 7386 merge: object members of `patch` are merged recursively into `target`, a null
/// member deletes the key, any other value replaces it; a non-object `patch` replaces `target`.
void merge_patch(boost::json::value& target, const boost::json::value& patch);

/// The object form used for sessions: merges every member of `patch` into `target`.
void merge_patch(boost::json::object& target, const boost::json::object& patch);

/// The current time as float Unix epoch seconds (Python's `time.time()`).
double unix_time_now() noexcept;

}  // namespace owcore::coord::sessions
