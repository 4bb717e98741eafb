#pragma once
// The Yjs document store (docs/wire.md, "Yjs documents"): each collaborative document's v1 updates,
// its presence set of Socket.IO sids, and the per-sid reverse index, wire-compatible with Open
// WebUI's YdocManager, with a memory backend of the same behaviour for a single instance.
//
// What it fixes (docs/wire.md, "Known weaknesses of the Python tier that owcore fixes"):
// - Every appended update is decoded and validated with the Yjs codec first (docs/yjs.md,
//   "Limits", including pycrdt's u32 clock bound); an invalid update is refused and never stored,
//   so owcore never writes an element that breaks Python instances sharing the list.
// - RPUSH's reply is the new length: no extra LLEN.
// - Compaction replaces exactly the elements it merged, atomically, with one Lua script on the
//   single updates key (see `document_store::compact`): an update appended meanwhile by any
//   instance, owcore or Python, is never lost. Python's compaction (LRANGE, then DEL + RPUSH)
//   loses them.
// - An invalid element written by someone else (Python stores updates unvalidated) no longer
//   blocks compaction forever: compaction moves it aside (keys::rejected) and drops it from the
//   list; reads (`state`) skip it with a warning instead of failing every join.
//
// Wire format: elements are JSON arrays of byte values. owcore writes the compact form `[1,2,3]`
// (Python's json.loads reads it) and reads both `[1, 2, 3]` (stdlib json.dumps, what YdocManager
// writes) and `[1,2,3]`, with any JSON whitespace; anything else (values outside 0..255, leading
// zeros, fractions, signs, non-arrays) is an invalid element.
//
// Cluster: no operation needs two keys in one atomic step. Operations that touch several keys
// (add_user, remove_user, clear, remove_user_from_all_documents) send one request per key, in the
// order Python uses, and are not atomic as a whole, exactly like Python's; the one race this
// leaves (a sid joining a document between the "users set is empty" check and the clear of
// remove_user_from_all_documents) is Python's too, and its effect is a document reloaded from
// the note's stored content.

#include "owcore/coord/backend.hpp"
#include "owcore/net/executor.hpp"
#include "owcore/yjs/lib0.hpp"

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstddef>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace spdlog {
class logger;
}

namespace owcore::coord::ydoc {

/// Errors of the store. Transport failures keep their own codes (redis::error,
/// net::error); a Redis error reply is reported as redis::error::server_error.
enum class error {
  invalid_update = 1,  ///< append: not a valid Yjs v1 update (nothing was stored)
  update_too_large,    ///< append: larger than `store_options::max_update_bytes` (nothing stored)
  invalid_argument,    ///< an empty or over-long document id or sid
  unexpected_reply,    ///< Redis answered with a reply of an unexpected shape
  merge_failed,        ///< the valid elements together exceed the codec's limits (docs/yjs.md)
};

/// The category of ydoc::error ("owcore.ydoc"); safe to call from any thread.
const boost::system::error_category& ydoc_category() noexcept;

/// Makes `ydoc::error` values usable as error codes (found by ADL).
inline boost::system::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), ydoc_category()};
}

/// Every operation's outcome: a value, or an error code. Never throws for Redis or data errors.
template <class T>
using result = boost::system::result<T>;

/// Longest document id and sid accepted, in bytes (Python has no limit; keys stay sane).
inline constexpr std::size_t max_id_size = 1024;

/// Tuning. The defaults match Open WebUI where it has a value.
struct store_options {
  /// An append that makes the list this long or longer compacts it (YdocManager's
  /// COMPACTION_THRESHOLD). At least 2.
  std::size_t compaction_threshold = 500;
  /// Largest update `append` accepts, in bytes. Its stored JSON text is up to 4 bytes per byte,
  /// and `state` reads the whole list in one reply, which the Redis client caps at 64 MB.
  std::size_t max_update_bytes = std::size_t{8} << 20;
  /// Compaction output: levels B (squash) and C (strip deleted content) on top of the level A
  /// merge (docs/yjs.md, "Compaction"). Turn off only for clients that keep deleted history
  /// (gc: false); Open WebUI's do not.
  bool compact_reductions = true;
  /// Invalid elements moved aside by compaction: how many the side list keeps (the newest), and
  /// for how long after the last one was added.
  std::size_t rejected_keep = 100;
  std::chrono::seconds rejected_ttl{7 * 24 * 3600};
  /// Warnings (invalid elements, failed compactions) and compaction info; null = silent.
  std::shared_ptr<spdlog::logger> log;
};

/// What one compaction did.
struct compaction_report {
  bool replaced = false;         ///< the merged prefix was replaced by the snapshot
  std::size_t merged = 0;        ///< k: the oldest elements read (and replaced when `replaced`)
  std::size_t rejected = 0;      ///< invalid elements among them, moved aside and dropped
  std::size_t snapshot_bytes = 0;  ///< size of the snapshot update that replaced them
  /// Elements appended after the append that triggered the compaction and before the
  /// replacement (by any instance); they were kept after the snapshot. 0 when not replaced.
  std::size_t appended_meanwhile = 0;
};

/// One stored element that cannot be used, and why.
struct invalid_element {
  std::size_t index = 0;  ///< position in the list (0 = oldest)
  std::string reason;     ///< "not a JSON array of byte values: ..." or "invalid update: ..."
};

/// An operator's view of one stored document (`owcore ydoc show`).
struct document_report {
  std::string storage_id;          ///< the id inside keys (`note_abc`)
  bool exists = false;             ///< the updates list exists
  std::size_t elements = 0;        ///< list length
  std::size_t update_bytes = 0;    ///< total bytes of the updates that parse as byte arrays
  std::size_t stored_bytes = 0;    ///< total length of the stored JSON texts
  std::vector<invalid_element> invalid;  ///< elements `state` skips
  std::vector<std::string> users;  ///< sids in the presence set, sorted
  std::size_t state_bytes = 0;     ///< size of `state()`: the level A merge of the valid elements
  std::size_t rejected = 0;        ///< elements in the side list of earlier compactions' rejects
};

/// The document store. Document ids may be given in client form (`note:abc`) or storage form
/// (`note_abc`); every operation applies keys::storage_id first, exactly as YdocManager does
/// (apply keys::authorization_id before checking access; the store does not authorize). Ids and
/// sids must be 1..max_id_size bytes, else error::invalid_argument.
///
/// Thread-safety: every member may be called concurrently from any thread. Coroutines take their
/// arguments by value; nothing is held across a suspension. Cancellation: an operation cancelled
/// mid-way may have applied some of its per-key steps (as with a dropped connection).
class document_store {
 public:
  virtual ~document_store() = default;

  /// Validates `update` (a Yjs v1 update), stores it at the end of the list (RPUSH of the compact
  /// JSON element) and returns the new list length. When that length reaches
  /// `compaction_threshold`, compacts before returning; a compaction that fails or loses a race
  /// is logged and leaves the list as it was (the append itself still succeeded). Errors:
  /// invalid_update / update_too_large (nothing stored), invalid_argument, transport errors.
  /// The RPUSH is resent after a reconnect: a duplicated update is harmless in Yjs (applying an
  /// update twice equals applying it once).
  virtual net::awaitable<result<std::size_t>> append(std::string document_id, yjs::byte_buffer update) = 0;

  /// Every stored element, oldest first, as bytes (YdocManager.get_updates). Elements that are
  /// not JSON byte arrays are skipped with a warning; elements are not Yjs-validated here.
  virtual net::awaitable<result<std::vector<yjs::byte_buffer>>> get_updates(std::string document_id) = 0;

  /// The document as one v1 update equivalent to applying every valid element in order (the
  /// level A merge, docs/yjs.md, "Merging"): exactly `[0, 0]` (bytes 0x00 0x00) for a missing or
  /// empty document, the element itself when there is one, else the merge. Invalid elements are
  /// skipped with a warning (Python fails the join instead). Fails with merge_failed only when
  /// the valid elements together exceed the codec's limits.
  virtual net::awaitable<result<yjs::byte_buffer>> state(std::string document_id) = 0;

  /// Whether the updates list exists (YdocManager.document_exists: EXISTS on the list).
  virtual net::awaitable<result<bool>> exists(std::string document_id) = 0;

  /// Adds `sid` to the document's presence set and the document to the sid's reverse index
  /// (SADD, SADD: two keys, two requests), and cancels an expiry of the updates that
  /// remove_user_from_all_documents(sid, keep_empty_for) set (PERSIST; Python does not send it).
  virtual net::awaitable<result<void>> add_user(std::string document_id, std::string sid) = 0;
  /// The reverse of add_user (SREM, SREM). Does not clear an empty document (the caller decides,
  /// as Python's `ydoc:document:leave` handler does).
  virtual net::awaitable<result<void>> remove_user(std::string document_id, std::string sid) = 0;
  /// The sids in the document's presence set, sorted.
  virtual net::awaitable<result<std::vector<std::string>>> users(std::string document_id) = 0;

  /// Disconnect cleanup: for every document in the sid's reverse index, removes the sid from its
  /// presence set and clears the document when the set is then empty; finally deletes the index.
  /// Returns the storage ids of the documents it cleared.
  net::awaitable<result<std::vector<std::string>>> remove_user_from_all_documents(std::string sid) {
    return remove_user_from_all_documents(std::move(sid), std::chrono::milliseconds(0));
  }
  /// The same, except that a document left without users is not cleared at once when
  /// `keep_empty_for` is positive: its updates are kept that long (PEXPIRE), and add_user keeps
  /// them for good again. For cleanups made on someone else's behalf (an instance whose lease ran
  /// out may be alive but stalled, docs/wire.md "Leftovers of a killed instance"): what its users
  /// wrote survives until it re-asserts their presence. Returns the documents cleared or left to
  /// expire.
  virtual net::awaitable<result<std::vector<std::string>>> remove_user_from_all_documents(
      std::string sid, std::chrono::milliseconds keep_empty_for) = 0;

  /// Deletes the updates list, then the presence set (two keys in different Cluster slots, so two
  /// requests; a join in between keeps its presence entry and finds an empty document). Sids'
  /// reverse indexes keep the id until they disconnect, as in Python.
  virtual net::awaitable<result<void>> clear(std::string document_id) = 0;

  /// Rolling compaction, as Python's but race-free: with n elements (n >= 4), reads the oldest
  /// k = n / 2, moves the invalid ones among them aside, merges the valid ones (levels A, then C
  /// and B when `compact_reductions`) into one snapshot, then runs one script on the updates key
  /// that replaces those k elements by the snapshot only if the list still starts with exactly
  /// them (a SHA-1 over the length-prefixed elements, computed by Redis). Appends made meanwhile
  /// stay after the snapshot; if another instance compacted or cleared first, nothing changes
  /// (`replaced` false). Compactions of one document by one store object do not overlap (a
  /// concurrent call returns at once with `replaced` false). `append` calls this by itself.
  virtual net::awaitable<result<compaction_report>> compact(std::string document_id) = 0;

  /// Reads everything about one document for an operator (no writes).
  virtual net::awaitable<result<document_report>> inspect(std::string document_id) = 0;
};

/// One process, no Redis (YdocManager without a Redis manager). Elements are kept as validated
/// bytes; compaction follows the same rules (threshold, k = n / 2, levels A+B+C).
std::shared_ptr<document_store> make_memory_document_store(store_options opts = {});

/// Redis backend on the WS Redis (YdocManager uses the WebSocket client) with key
/// prefix P. The client must be started; the store never stops it.
std::shared_ptr<document_store> make_redis_document_store(redis_backend backend, store_options opts = {});

// ---------------------------------------------------------------------------------------------
// The element codec, shared by both backends and exposed for tests and tools. Pure functions.

/// The stored form of an update: the compact JSON array `[1,2,3]` (`[]` for no bytes).
std::string format_element(yjs::byte_view update);

/// Parses a stored element, `[1, 2, 3]` or `[1,2,3]` with any JSON whitespace. On failure returns
/// nullopt and sets `reason` to a static description.
std::optional<yjs::byte_buffer> parse_element(std::string_view text, const char*& reason);

/// The level A merge of `updates` in order, skipping (and listing in `invalid`, when given) the
/// ones that fail validation; `[0, 0]` when none is valid. Fails with merge_failed only when the
/// valid updates together exceed the codec's limits.
result<yjs::byte_buffer> merge_valid(const std::vector<yjs::byte_buffer>& updates,
                                     std::vector<invalid_element>* invalid = nullptr,
                                     bool reductions = false);

}  // namespace owcore::coord::ydoc

template <>
struct boost::system::is_error_code_enum<owcore::coord::ydoc::error> : std::true_type {};
