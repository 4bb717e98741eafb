#pragma once
// The two periodic presence jobs every Open WebUI instance runs (docs/openwebui-events.md,
// "Periodic jobs", as changed in 0.11.1 to 0.11.5), taking part in Python's cleanup locks so that
// exactly one instance of a mixed fleet runs each at a time:
// - the usage cleaner, under `P:usage_cleanup_lock`: every 3 s, each model's sids whose
//   `updated_at` is more than 3 s old are dropped (one Lua script per model: shared_dict::prune);
// - the session reaper, under `P:session_cleanup_lock`: every session timeout, each pool entry
//   whose `last_seen_at` is older than the timeout is deleted. The deletion is decided in Redis
//   (shared_dict::erase_stale), so a heartbeat that landed meanwhile saves the entry.
// Contention never stops: a lost or unobtainable lock is retried after a random delay in
// [TTL/2, TTL], as Python 0.11.1+ does; the lock is renewed while held (lock_keeper).

#include "owcore/coord/shared/lock.hpp"
#include "owcore/coord/shared/shared_dict.hpp"
#include "owcore/net/executor.hpp"

#include <chrono>
#include <cstdint>
#include <memory>

namespace spdlog {
class logger;
}

namespace owcore::realtime::openwebui {

struct pool_job_options {
  std::chrono::seconds usage_timeout{3};     ///< Python's TIMEOUT_DURATION (also the period)
  /// Python's SESSION_POOL_TIMEOUT: max(4 x WEBSOCKET_HEARTBEAT_INTERVAL, 120) s (also the period).
  std::chrono::seconds session_timeout{120};
  std::shared_ptr<spdlog::logger> log;
};

/// One sweep of the usage pool at `now` (epoch s): prunes every model. Returns the sids dropped.
net::awaitable<std::size_t> sweep_usage(std::shared_ptr<coord::shared::shared_dict> usage, std::int64_t now,
                                        std::chrono::seconds timeout);

/// One sweep of the session pool at `now` (epoch s), listing it in HSCAN batches of 200. Returns
/// the entries deleted.
net::awaitable<std::size_t> sweep_sessions(std::shared_ptr<coord::shared::shared_dict> sessions, std::int64_t now,
                                           std::chrono::seconds timeout);

/// The running jobs. stop() at shutdown (idempotent): each keeper releases its lock if held.
struct pool_jobs {
  std::shared_ptr<coord::shared::lock_keeper> usage_cleaner;
  std::shared_ptr<coord::shared::lock_keeper> session_reaper;
  void stop() {
    if (usage_cleaner) usage_cleaner->stop();
    if (session_reaper) session_reaper->stop();
  }
};

/// Starts both jobs on strands of `ex` with the given locks (Redis locks named
/// usage_cleanup_lock / session_cleanup_lock for a fleet, memory locks for one process).
pool_jobs start_pool_jobs(net::executor ex, std::shared_ptr<coord::shared::shared_dict> usage,
                          std::shared_ptr<coord::shared::shared_dict> sessions,
                          std::shared_ptr<coord::shared::owner_lock> usage_lock,
                          std::shared_ptr<coord::shared::owner_lock> session_lock, const pool_job_options& opts);

/// Python's SESSION_POOL_TIMEOUT for a WEBSOCKET_HEARTBEAT_INTERVAL (seconds; nullopt = unset).
std::chrono::seconds session_pool_timeout(std::optional<double> heartbeat_interval_s) noexcept;

}  // namespace owcore::realtime::openwebui
