#pragma once
// Shared dicts (docs/wire.md, "Shared dicts"): a dict of JSON values over one Redis hash,
// wire-compatible with Open WebUI's RedisDict, with a memory backend of the same behaviour for a
// single instance.
//
// Python reads and writes whole values (HGET, then HSET), which loses updates when two writers
// touch the same entry (docs/wire.md, "Lost pool updates"). Here every read-modify-write of an
// entry is one Lua script on the one hash, so it is atomic on standalone, Sentinel and Cluster
// alike (every operation touches exactly one key). Arbitrary C++ functions cannot run inside Redis,
// so the realtime layer gets the specific operations it needs: the usage-pool ones (`touch`,
// `remove_sid`, `prune`) and the session-pool ones (`heartbeat`, `erase_stale`).
//
// JSON on the wire:
// - Written values are compact JSON (Boost.JSON), never pickle; non-finite doubles are written
//   as `null` (strict readers such as orjson reject NaN). Python's json.loads and orjson read it.
// - Read values may be stdlib json output (", " and ": " separators, ASCII \uXXXX escapes, lone
//   surrogates, `NaN`/`Infinity`/`-Infinity` tokens) or orjson output (compact UTF-8); see
//   parse_json().
// - The usage-pool scripts re-encode the per-model map with Redis's Lua cjson: numbers are
//   written with %.14g, so integers up to 10^14 (epoch seconds and milliseconds) stay integers;
//   the map's shape (`{"<sid>": {"updated_at": <int>}}`) has no arrays, so cjson's "empty array
//   becomes {}" rule cannot bite. The session-pool scripts never re-encode the user record (cjson
//   would turn its empty arrays into objects): they splice the one top-level member they change.

#include "owcore/coord/backend.hpp"
#include "owcore/net/executor.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace owcore::coord::shared {

/// Errors of this service. Transport failures keep their own codes (redis::error,
/// net::error); a Redis error reply is reported as redis::error::server_error.
enum class error {
  bad_value = 1,     ///< a stored value is not the JSON this operation needs; it was left as is
  unexpected_reply,  ///< Redis answered with a reply of an unexpected shape
};

/// The category of shared::error; safe to call from any thread.
const boost::system::error_category& shared_category() noexcept;

inline boost::system::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), shared_category()};
}

/// Every operation's outcome: a value, or an error code. Never throws for Redis or data errors.
template <class T>
using result = boost::system::result<T>;

// ---------------------------------------------------------------------------------------------
// JSON codec

/// Parses one JSON value as Python writes it (stdlib json.dumps or orjson), read as json.loads
/// reads it (base/pyjson): every number converted exactly, `\uD800`-`\uDFFF` escapes that are not
/// a valid surrogate pair become U+FFFD, nesting up to 1000 levels. The tokens `NaN`, `Infinity`
/// and `-Infinity` are read and become `null` (what serialize_json writes for them). Integers
/// beyond 64 bits become doubles; integer literals over 100 characters are refused. Returns
/// error::bad_value when the text is not JSON. Thread-safe (pure function).
result<boost::json::value> parse_json(std::string_view text);

/// Serializes `v` as compact JSON (no spaces, UTF-8 kept as is). NaN and infinite doubles become
/// `null`. Thread-safe (pure function).
std::string serialize_json(const boost::json::value& v);

// ---------------------------------------------------------------------------------------------
// The dict

/// One field and its decoded value.
using entry = std::pair<std::string, boost::json::value>;

/// What replace_all() did.
struct replace_stats {
  std::size_t written = 0;  ///< fields whose stored value differed (or was missing) and were set
  std::size_t deleted = 0;  ///< fields that were not in the new mapping and were removed
  bool atomic = true;       ///< false when the mapping exceeded the atomic limits (see options);
                            ///< about the hash only (a signature may be written in a separate step)
};

/// One step of scan(): a batch of decoded entries and the cursor of the next step.
struct scan_page {
  std::vector<entry> entries;  ///< undecodable values are left out
  std::string cursor;          ///< "0" when the scan is complete
};

/// What prune() did to one usage-pool entry.
struct prune_stats {
  std::vector<std::string> removed;  ///< the sids dropped as stale
  std::size_t remaining = 0;         ///< sids left; 0 means the field is gone (or never existed)
};

/// A dict of JSON values shared by every instance (Redis backend) or by one process (memory
/// backend).
///
/// Thread-safety: every member may be called concurrently from any thread or executor; each
/// call is independent. Completion: each coroutine completes once Redis answered (or the client
/// failed the request: timeouts come from the client's options). Cancellation: cancelling a call
/// abandons the wait; a write that was already sent may still take effect.
///
/// Field names and values are binary-safe strings; values are JSON texts (see the codec above).
/// Operations that read values report a stored value that is not JSON as error::bad_value
/// (get) or leave it out (values, items): one corrupt entry must not hide all the others.
class shared_dict {
 public:
  virtual ~shared_dict() = default;

  /// The Redis key ("<prefix>:<name>"), or the name for the memory backend.
  virtual const std::string& name() const noexcept = 0;

  // -- Python RedisDict operations (docs/wire.md, "Shared dicts"); each is one Redis command.

  /// HGET: the decoded value, nullopt when the field is absent, or error::bad_value.
  virtual net::awaitable<result<std::optional<boost::json::value>>> get(std::string field) = 0;
  /// HSET of serialize_json(value).
  virtual net::awaitable<result<void>> set(std::string field, boost::json::value value) = 0;
  /// HDEL: true when the field existed. Not retried after a dropped connection
  /// (redis::error::unknown_outcome), since the answer would be wrong the second time.
  virtual net::awaitable<result<bool>> erase(std::string field) = 0;
  /// HEXISTS.
  virtual net::awaitable<result<bool>> contains(std::string field) = 0;
  /// HLEN.
  virtual net::awaitable<result<std::size_t>> size() = 0;
  /// HKEYS, in the server's order (unspecified).
  virtual net::awaitable<result<std::vector<std::string>>> keys() = 0;
  /// HVALS, decoded; undecodable values are left out.
  virtual net::awaitable<result<std::vector<boost::json::value>>> values() = 0;
  /// HGETALL, decoded; undecodable values are left out.
  virtual net::awaitable<result<std::vector<entry>>> items() = 0;
  /// DEL of the whole hash.
  virtual net::awaitable<result<void>> clear() = 0;
  /// One HSCAN step from `cursor` ("0" starts) asking for about `count` fields (Python 0.11.2+'s
  /// scan_batches uses 200). As with HSCAN, a field may appear in more than one step, and
  /// fields added or removed meanwhile may or may not appear; a field present throughout is
  /// returned at least once. The memory backend's cursor is opaque too.
  virtual net::awaitable<result<scan_page>> scan(std::string cursor, std::size_t count) = 0;

  /// Replaces the whole dict with `mapping` (Python `RedisDict.set(mapping)`, used for
  /// `P:models`): an empty mapping deletes the hash (`deleted` counts its fields); otherwise every field whose stored value
  /// differs from the new one is set and every field not in `mapping` is deleted. It never
  /// deletes the hash first, so concurrent readers never see it empty.
  ///
  /// Atomic (one Lua script that compares against what is in Redis, not against what this
  /// process wrote last: docs/wire.md, "Models overwritten from a partial view") while the
  /// mapping has at most `shared_dict_options::atomic_replace_max_fields` fields and
  /// `atomic_replace_max_bytes` bytes of names plus JSON; the script blocks Redis while it runs,
  /// which is why it is bounded. Larger mappings are written in chunks of plain HSETs followed
  /// by HKEYS and chunked HDELs: never empty, but readers may see a mix of old and new values
  /// meanwhile (`replace_stats::atomic` is then false, and `written` counts every field).
  virtual net::awaitable<result<replace_stats>> replace_all(boost::json::object mapping) = 0;

  // -- Usage pool (`P:usage_pool`, values `{"<sid>": {"updated_at": <int>}}`): one Lua script
  //    each, decode-merge-encode on the server, so concurrent writers never lose each other's
  //    sids (docs/wire.md, "Usage pool").

  /// Sets `{"updated_at": now}` for `sid` in `model`'s map, creating the field if needed. A
  /// stored value that is not a JSON object is replaced by a fresh map.
  virtual net::awaitable<result<void>> touch(std::string model, std::string sid,
                                             std::int64_t now) = 0;
  /// Removes `sid` from `model`'s map; deletes the field when no sid is left. True when the sid
  /// was present. error::bad_value (nothing changed) when the stored value is not a JSON object.
  virtual net::awaitable<result<bool>> remove_sid(std::string model, std::string sid) = 0;
  /// Drops the sids of `model` whose `updated_at` is below `older_than` (or is missing or not a
  /// number); deletes the field when none is left. error::bad_value (nothing changed) when the
  /// stored value is not a JSON object. A missing field yields empty stats.
  virtual net::awaitable<result<prune_stats>> prune(std::string model, std::int64_t older_than) = 0;

  // -- Session pool (`P:session_pool`, values = user record objects): one Lua script each that
  //    edits only the top-level `last_seen_at` member in the stored text, so the rest of the
  //    record (Python's formatting, empty arrays, big numbers) is kept byte for byte.

  /// Sets the entry's top-level `last_seen_at` to `now` ONLY if the entry exists: a heartbeat
  /// racing a disconnect or the reaper never recreates a deleted sid (a ghost entry). True when
  /// updated, false when the sid is absent; error::bad_value (nothing changed) when the stored
  /// value is not a JSON object.
  virtual net::awaitable<result<bool>> heartbeat(std::string sid, std::int64_t now) = 0;
  /// Deletes the entry only if its top-level `last_seen_at` is below `older_than` (or is missing
  /// or not a number), deciding on the value in Redis at that instant: a heartbeat that landed
  /// after the reaper listed the pool saves the entry. True when deleted; error::bad_value
  /// (nothing changed) when the stored value is not a JSON object.
  virtual net::awaitable<result<bool>> erase_stale(std::string sid, std::int64_t older_than) = 0;
};

/// Limits of the Redis backend.
struct shared_dict_options {
  /// replace_all() runs as one atomic script up to this many fields...
  std::size_t atomic_replace_max_fields = 10000;
  /// ...and up to this many bytes of field names plus serialized values.
  std::size_t atomic_replace_max_bytes = 8 * 1024 * 1024;
  /// The non-atomic fallback sends at most this many fields per HSET or HDEL.
  std::size_t chunk_fields = 500;
  /// Maintain "<key>:signature" as Python's RedisDict(cache_set_signature=True) does (always on
  /// for keys::models, see make_redis_shared_dict): set(), erase() and clear() delete it with
  /// the write; replace_all() deletes it, writes, then sets "<signature_digest>:<uuid4 hex>" (it
  /// keeps a signature that already names the same digest when nothing had to change). Both
  /// keys are written by one Lua script when they share a slot (always outside a Cluster);
  /// otherwise in sequence, the signature deleted first. The usage- and session-pool operations
  /// do not touch the signature (they are never used on P:models).
  bool signature = false;
};

/// The SHA-256 (lowercase hex) Open WebUI 0.11.1+ puts before the ':' of "<name>:signature":
/// over the fields sorted by name, for each the field name's bytes, a NUL, the stored value text
/// (the JSON exactly as written), a NUL. `fields` pairs names with stored texts, in any order.
std::string signature_digest(std::vector<std::pair<std::string, std::string>> fields);

/// A process-local dict named `name` with the semantics of the Redis backend (values are kept
/// as decoded JSON; a mutex guards the map and is never held across a suspension). Share the
/// returned pointer between the components that must see the same dict.
std::shared_ptr<shared_dict> make_memory_shared_dict(std::string name);

/// A dict over the hash "<backend.prefix>:<name>" (keys.hpp) through `backend.client`.
/// `options.signature` is forced on when `name` is keys::models.
std::shared_ptr<shared_dict> make_redis_shared_dict(const redis_backend& backend,
                                                    std::string_view name,
                                                    shared_dict_options options = {});

}  // namespace owcore::coord::shared

template <>
struct boost::system::is_error_code_enum<owcore::coord::shared::error> : std::true_type {};
