#pragma once
// Owner-token locks (docs/wire.md, "Locks"), wire-compatible with Open WebUI's RedisLock so
// Python and owcore instances contend for the same `P:usage_cleanup_lock` and
// `P:session_cleanup_lock`, and a supervised helper that keeps such a lock while running a
// periodic job (docs/openwebui-events.md, "Periodic jobs") without Python's weaknesses
// (docs/wire.md, "Cleanup locks"): it renews at least every TTL/3, re-contends forever after
// losing the lock or failing to get it, and never deletes a lock it does not own.
//
// Wire contract (Redis backend), identical in effect to Python v0.11:
//   acquire: SET <key> <owner> NX PX <ttl ms>                  -> true when the key was set
//   renew:   EVAL "if GET key == owner then PEXPIRE key ttl"    -> true when the owner matched
//   release: EVAL "if GET key == owner then DEL key"            -> true when the owner matched
// Python uses EX/EXPIRE with whole seconds; the key, the value (a uuid4 string) and the owner
// checks are the same, and milliseconds let tests use sub-second TTLs.

#include "owcore/coord/backend.hpp"
#include "owcore/coord/shared/shared_dict.hpp"
#include "owcore/net/executor.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>

namespace spdlog {
class logger;
}

namespace owcore::coord::shared {

/// A random uuid4 string ("xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx", lower-case hex) from the
/// CSPRNG (base::uuid4), as Python's `str(uuid.uuid4())`. Thread-safe. Throws
/// std::runtime_error only if the CSPRNG fails (a broken process).
std::string make_owner_token();

/// One lock object: a name, a TTL and an owner token generated once per object (Python: per
/// RedisLock, i.e. per process and lock). Two objects with the same name contend with each other
/// even inside one process.
///
/// Thread-safety: every member may be called concurrently from any thread. Each call is one
/// Redis command; errors (transport, timeouts from the client's options, error replies) are
/// values, never exceptions. Cancelling a call abandons the wait; a command already sent may
/// still take effect (an acquire then simply expires after the TTL).
class owner_lock {
 public:
  virtual ~owner_lock() = default;

  /// The Redis key ("<prefix>:<name>"), or the name for the memory backend.
  virtual const std::string& name() const noexcept = 0;
  /// This object's owner token (a uuid4 string), stored as the key's value while it holds it.
  virtual const std::string& owner() const noexcept = 0;
  /// The lock's time to live, applied by acquire and renew.
  virtual std::chrono::milliseconds ttl() const noexcept = 0;

  /// SET NX with the TTL: true when this call took the lock. Like Python, it is false when the
  /// lock is held by anyone, this object included. Not retried after a dropped connection
  /// (redis::error::unknown_outcome): an unseen success just expires.
  virtual net::awaitable<result<bool>> acquire() = 0;
  /// Resets the TTL if and only if the lock still holds this owner token; false otherwise (it
  /// expired, or someone else holds it now).
  virtual net::awaitable<result<bool>> renew() = 0;
  /// Deletes the lock if and only if it holds this owner token; false otherwise. Never removes
  /// another owner's lock.
  virtual net::awaitable<result<bool>> release() = 0;
};

/// The memory backend's shared state: lock names to (owner, expiry), with Redis's semantics
/// (an expired entry is as good as absent). Share one table between the lock objects that must
/// contend. Thread-safe (a mutex, never held across a suspension).
class memory_lock_table {
 public:
  /// SET NX PX: takes `name` for `owner` when it is free or expired.
  bool try_acquire(const std::string& name, const std::string& owner,
                   std::chrono::milliseconds ttl);
  /// The renew script: extends `name` if `owner` holds it (and it has not expired).
  bool renew(const std::string& name, const std::string& owner, std::chrono::milliseconds ttl);
  /// The release script: deletes `name` if `owner` holds it (and it has not expired).
  bool release(const std::string& name, const std::string& owner);
  /// The current holder's token, nullopt when free or expired (GET).
  std::optional<std::string> holder(const std::string& name);
  /// Deletes `name` whoever holds it (DEL): for tests and administrative tools only.
  void erase(const std::string& name);

 private:
  struct entry {
    std::string owner;
    std::chrono::steady_clock::time_point expires;
  };
  std::mutex mutex_;
  std::map<std::string, entry> locks_;
};

/// A lock named `name` in `table`, with a fresh owner token. `ttl` is clamped to at least 1 ms.
std::shared_ptr<owner_lock> make_memory_lock(std::shared_ptr<memory_lock_table> table,
                                             std::string name, std::chrono::milliseconds ttl);

/// A lock on the key "<backend.prefix>:<name>" (keys.hpp) with a fresh owner token. `ttl` is
/// clamped to at least 1 ms; Open WebUI uses WEBSOCKET_REDIS_LOCK_TIMEOUT (60 s).
std::shared_ptr<owner_lock> make_redis_lock(const redis_backend& backend, std::string_view name,
                                            std::chrono::milliseconds ttl);

// ---------------------------------------------------------------------------------------------
// Keeping a lock while doing periodic work

/// Timing of a lock_keeper. Zero means "derive from the lock's TTL" as stated per field.
struct lock_keeper_options {
  /// Pause between the end of one job run and the start of the next while holding the lock
  /// (Python: 3 s for the usage cleaner, 120 s for the session reaper). The first run starts
  /// right after the lock is acquired.
  std::chrono::milliseconds period{3000};
  /// Time between renewals while holding; 0 or anything above TTL/3 becomes TTL/3. Renewal runs
  /// beside the job, so a long job run never lets the lock lapse.
  std::chrono::milliseconds renew_interval{0};
  /// Delay between acquisition attempts while another owner holds the lock: uniformly random in
  /// [retry_min, retry_max]; 0 means TTL/4 and TTL/2 (so a crashed holder is replaced within
  /// about 1.5 TTL).
  std::chrono::milliseconds retry_min{0};
  std::chrono::milliseconds retry_max{0};
  /// Deadline of each acquire, renew and release; 0 means the renew interval.
  std::chrono::milliseconds op_timeout{0};
  /// Where to log acquisitions, losses and job failures; null = silent.
  std::shared_ptr<spdlog::logger> log;
  /// Names the keeper in log lines (e.g. "usage cleaner").
  std::string log_name = "lock keeper";
};

/// Counters of a lock_keeper (monotonic, read with relaxed atomics).
struct lock_keeper_stats {
  std::uint64_t attempts = 0;      ///< acquire calls
  std::uint64_t acquisitions = 0;  ///< acquire calls that took the lock
  std::uint64_t renewals = 0;      ///< successful renewals
  std::uint64_t renew_errors = 0;  ///< renewals that failed with an error (outcome unknown)
  std::uint64_t losses = 0;        ///< times the lock was found lost (renew said no, or the lease
                                   ///< ran out while renewals kept failing)
  std::uint64_t runs = 0;          ///< job runs started
  std::uint64_t job_errors = 0;    ///< job runs that ended with an exception
};

/// Runs `job` every `period` on exactly one contender at a time (across every owcore and Python
/// instance sharing the lock), supervised:
/// - Contends with acquire() until it gets the lock, with a random delay between attempts;
///   never gives up while running (docs/wire.md, "Cleanup locks").
/// - While holding, runs the job and, beside it, renews every renew_interval (<= TTL/3, so the
///   lock never lapses between renewals). When a renewal says the lock is someone else's, or
///   renewals keep failing until the last confirmed lease has run out, the job is cancelled (at its
///   next suspension point) and the keeper goes back to contending. It never deletes the lock in
///   that case.
/// - stop() cancels everything and releases the lock if this keeper holds it (owner-checked).
/// An exception from the job is logged and counted; the next run happens after `period`.
///
/// "One at a time" is a lease, not a fence: when the lock key goes away behind the holder's back
/// (an operator's DEL, a Redis restart without persistence, a failover that lost the write) or the
/// holder stalls past the TTL (SIGSTOP, a long GC pause in a Python peer), another contender can
/// take it while the old holder still runs its job, until the old holder's next renewal (at most
/// renew_interval later, plus one job run). Jobs must therefore be safe to run twice at once, as
/// the pool cleaners are (realtime/openwebui/pool_jobs.cpp: each removal is conditional on the
/// entry still being stale).
///
/// Lifetime: the keeper's coroutine holds a reference to it; it runs until stop() (or until its
/// executor's io_context is destroyed). Thread-safety: all members may be called from any
/// thread; the keeper and the job run on a strand of the given executor, so one keeper's job runs
/// never overlap each other.
class lock_keeper : public std::enable_shared_from_this<lock_keeper> {
 public:
  /// The periodic work. Called on the keeper's strand; it should bound its own Redis calls.
  using job = std::function<net::awaitable<void>()>;

  /// Creates a keeper and starts it on a new strand of `ex`.
  static std::shared_ptr<lock_keeper> start(net::executor ex, std::shared_ptr<owner_lock> lock,
                                            job work, lock_keeper_options options = {});

  /// Requests the stop: cancels the job and contention, then releases the lock if held.
  /// Idempotent; returns at once (use wait_stopped() to wait for the release).
  void stop();

  /// Completes once the keeper has stopped and released the lock (immediately if it already
  /// has). Call stop() first, or it waits until someone does.
  net::awaitable<void> wait_stopped();

  /// True while the keeper believes it holds the lock (between an acquisition and a loss or
  /// stop).
  bool holding() const noexcept { return holding_.load(std::memory_order_acquire); }

  /// A snapshot of the counters.
  lock_keeper_stats stats() const noexcept;

  /// The effective renew interval (at most TTL/3).
  std::chrono::milliseconds renew_interval() const noexcept { return renew_every_; }

  lock_keeper(net::executor ex, std::shared_ptr<owner_lock> lock, job work,
              lock_keeper_options options);  ///< use start()

 private:
  net::awaitable<void> run();
  net::awaitable<void> contend();
  net::awaitable<void> hold(std::chrono::steady_clock::time_point acquired_at);
  net::awaitable<void> work_loop();
  net::awaitable<void> renew_loop(std::chrono::steady_clock::time_point valid_until);
  net::awaitable<void> wait_stop();
  net::awaitable<result<bool>> timed(net::awaitable<result<bool>> op);
  net::awaitable<bool> sleep(std::chrono::steady_clock::duration d);

  boost::asio::strand<net::executor> strand_;
  std::shared_ptr<owner_lock> lock_;
  job work_;
  lock_keeper_options opts_;
  std::chrono::milliseconds renew_every_;
  std::chrono::milliseconds retry_min_;
  std::chrono::milliseconds retry_max_;
  std::chrono::milliseconds op_timeout_;
  std::mt19937_64 rng_;

  // Strand-only state.
  boost::asio::steady_timer stop_timer_;  ///< cancelled by stop()
  boost::asio::steady_timer done_timer_;  ///< cancelled once stopped
  bool stop_requested_ = false;
  bool done_ = false;

  std::atomic<bool> holding_{false};
  struct counters {
    std::atomic<std::uint64_t> attempts{0}, acquisitions{0}, renewals{0}, renew_errors{0},
        losses{0}, runs{0}, job_errors{0};
  } counters_;
};

}  // namespace owcore::coord::shared
