#pragma once
// Where server-side sessions live: `P:session:<id>` in Redis (docs/wire.md, "Sessions"), or
// process memory when no Redis is configured. Both backends implement the same compare-and-set contract and pass
// the same tests.
//
// Values are opaque strings here (the starsessions JSON of session_data.hpp); the service
// compares whole values, so any writer (owcore or Python) changing a session is noticed.
//
// The delete-versus-late-write race (issue 4): starsessions loads a session, runs the
// request, then blindly `SET`s it, so a logout (DEL) that lands in between is undone by the late
// write. owcore's writes are conditional instead:
//   - `replace` and `remove_if` apply only while the key still holds the value the caller read
//     (one Lua script on one key, so atomic on every topology including Cluster); a deleted key
//     reports `gone` and stays deleted;
//   - `create` is `SET NX` and is only ever called with a fresh 128-bit id.
// So no owcore write can resurrect a deleted session, and concurrent owcore writers cannot lose
// each other's updates (the loser re-reads and retries). No tombstone key is needed, and none is
// written: Python only GETs and SETs `P:session:<id>`, and a Python instance's own late SET can
// still resurrect a session (that is Python's behaviour and outside owcore's reach).
//
// TTL: every write sets the store's TTL (starsessions' 30-day gc_ttl for lifetime-0 sessions),
// and `read` refreshes it, as Python's per-response SET does, without rewriting the value.

#include "owcore/coord/backend.hpp"
#include "owcore/coord/sessions/session_id.hpp"
#include "owcore/net/executor.hpp"

#include <boost/system/result.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace owcore::coord::sessions {

/// The outcome of a conditional write.
enum class cas_result {
  applied,  ///< the key held the expected value and was written (or deleted)
  changed,  ///< the key holds another value now; nothing was written
  gone,     ///< the key no longer exists; nothing was written (it stays deleted)
};

/// starsessions' gc_ttl: the TTL of lifetime-0 sessions (SET ... EX 2592000).
inline constexpr std::chrono::seconds default_session_ttl{30 * 24 * 3600};

/// Storage of session values by id. Thread-safe: every member may be called concurrently from
/// any executor. Arguments are taken by value (nothing is referenced across a suspension).
/// Transport failures come back as errors (owcore.redis / owcore.net categories, e.g.
/// unknown_outcome for a conditional write whose reply was lost); the caller decides.
class session_store {
 public:
  virtual ~session_store() = default;

  /// The stored value, or nullopt when there is none. Refreshes the TTL of an existing key.
  virtual net::awaitable<boost::system::result<std::optional<std::string>>> read(session_id id) = 0;

  /// Stores `value` under `id` with the TTL if no value exists (SET NX EX). False if one does.
  virtual net::awaitable<boost::system::result<bool>> create(session_id id, std::string value) = 0;

  /// Stores `value` with the TTL if the current value equals `expected`.
  virtual net::awaitable<boost::system::result<cas_result>> replace(session_id id,
                                                                    std::string expected,
                                                                    std::string value) = 0;

  /// Deletes the value if it equals `expected`.
  virtual net::awaitable<boost::system::result<cas_result>> remove_if(session_id id,
                                                                      std::string expected) = 0;

  /// Deletes the value unconditionally (DEL); succeeds when there is none.
  virtual net::awaitable<boost::system::result<void>> remove(session_id id) = 0;
};

/// Options of the in-memory backend.
struct memory_store_options {
  std::chrono::seconds ttl = default_session_ttl;  ///< expiry after the last write or read
  /// At most this many sessions. Overflow policy: a create beyond the limit first drops
  /// expired sessions, then evicts the session closest to expiry.
  std::size_t max_sessions = 100000;
  /// The clock for expiry; null = std::chrono::steady_clock::now (tests inject their own).
  std::function<std::chrono::steady_clock::time_point()> clock;
};

/// The single-process backend: a map guarded by a mutex that is never held across a suspension.
std::shared_ptr<session_store> make_memory_session_store(memory_store_options options = {});

/// The Redis backend on `backend.client` (the App Redis; any topology: every command touches one
/// key, so Cluster routes it whole). Keys come from keys.hpp with `backend.prefix`.
std::shared_ptr<session_store> make_redis_session_store(redis_backend backend,
                                                        std::chrono::seconds ttl = default_session_ttl);

}  // namespace owcore::coord::sessions
