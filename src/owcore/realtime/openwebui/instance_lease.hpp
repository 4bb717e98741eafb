#pragma once
// owcore's leases on what its sockets hold in Redis, so that a killed instance (SIGKILL, OOM,
// power loss: no disconnect handler runs) leaves nothing behind for long (docs/wire.md, "Leftovers
// of a killed instance"):
//
// - `P:owcore:realtime:instances` (hash): instance id -> epoch milliseconds until which its
//   lease runs; each live instance pushes it forward every ttl/3;
// - `P:owcore:realtime:sids:<instance id>` (hash): the sids that instance authenticated, field =
//   sid, value = 1 (a hash, so the shared_dict service carries it).
//
// Every instance renews its own lease every ttl/3, on a loop of its own that nothing else waits
// on, and sweeps every ttl/3 in a separate coroutine (the sweep is idempotent, so no lock is
// needed): for each instance whose lease ran out, every sid it held is cleaned as a disconnect
// would clean it (the P:session_pool entry, the sid in every P:usage_pool model, its Yjs presence
// and reverse index), then its sid hash and its registry field are deleted. Everything a dead
// instance held is therefore gone within about ttl + ttl/3 (2 ttl + ttl/3 when the sweeper's own
// refresh failed within the last ttl, see tick()). Pending note saves are tasks, which the task
// service's own leases already reap.
//
// A lease that ran out does not prove its holder dead: a live instance stalled past ttl (an
// overloaded event loop, a paused VM, a clock step) is swept too. Two rules keep that from losing
// what its users wrote (docs/wire.md, "Leftovers of a killed instance"):
// - the sweep never deletes a Yjs document it leaves without users; it lets its updates expire
//   one ttl later (document_store::remove_user_from_all_documents with keep_empty_for);
// - an instance that finds its own lease ran out or its registry field gone renews it and calls
//   its on_lapsed hook, with which the Socket.IO handlers write back what each of their live
//   sockets holds (the sid hash, the pool entry, Yjs presence, which also cancels the expiry).
//
// Python never reads these keys; Python instances' sids are never touched.

#include "owcore/coord/shared/shared_dict.hpp"
#include "owcore/coord/ydoc/document_store.hpp"
#include "owcore/net/executor.hpp"

#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace spdlog {
class logger;
}

namespace owcore::realtime::openwebui {

/// Key names (after the prefix) of the lease registry and of one instance's sids.
inline constexpr std::string_view instances_key = "owcore:realtime:instances";
std::string instance_sids_key(std::string_view instance_id);

struct lease_options {
  std::chrono::milliseconds ttl{30000};  ///< how long a lease lasts without a refresh
  std::shared_ptr<spdlog::logger> log;
};

/// What to clean for one sid of a dead instance (the disconnect cleanup).
struct sid_cleanup {
  std::shared_ptr<coord::shared::shared_dict> session_pool;
  std::shared_ptr<coord::shared::shared_dict> usage_pool;
  std::shared_ptr<coord::ydoc::document_store> documents;
};

/// Cleans everything `sid` holds: its pool entry, its sid in every usage model, its Yjs presence.
/// Documents left without users are cleared, or left to expire after `keep_empty_for` when it is
/// positive (document_store::remove_user_from_all_documents).
net::awaitable<void> clean_sid(sid_cleanup c, std::string sid,
                               std::chrono::milliseconds keep_empty_for = std::chrono::milliseconds(0));

/// One instance's lease. Thread-safe. Create with make_shared, then start().
class instance_lease : public std::enable_shared_from_this<instance_lease> {
 public:
  /// `instances` is the registry hash; `sids_of(id)` makes the sid hash of instance `id`.
  using sids_factory = std::function<std::shared_ptr<coord::shared::shared_dict>(const std::string& instance_id)>;
  instance_lease(net::executor ex, std::string instance_id, std::shared_ptr<coord::shared::shared_dict> instances,
                 sids_factory sids_of, sid_cleanup cleanup, lease_options opts);

  /// Sets the hook called on the lease's strand when this instance finds it may have been swept
  /// as dead (see the file comment); it must start writing back what its live sockets hold and
  /// return. Any thread; takes effect on the strand.
  void on_lapsed(std::function<void()> hook);

  /// Starts refreshing this instance's lease and sweeping dead ones (every ttl/3).
  void start();
  /// Stops the loop; it then cleans the sids still listed, and withdraws the lease (the sid hash
  /// and the registry field). Call after the sockets were closed. Idempotent.
  void stop();
  /// True once the loop has withdrawn the lease after stop().
  bool finished() const noexcept { return finished_.load(); }

  /// Records that this instance holds `sid` (call before writing anything for it).
  net::awaitable<void> hold(std::string sid);
  /// Forgets `sid` (after its disconnect cleanup).
  net::awaitable<void> release(std::string sid);

  /// One refresh at `now_ms` (epoch ms). Returns false when Redis refused it. Calls the
  /// on_lapsed hook when this instance's previous lease had run out by `now_ms`, or its registry
  /// field was gone. Called from one coroutine at a time (the loop, or a test).
  net::awaitable<bool> renew(std::int64_t now_ms);
  /// One sweep at `now_ms`; returns how many dead instances were cleaned. Nothing while this
  /// instance's own refresh fails, nor for one ttl after the last refused refresh (a Redis that
  /// refuses writes refuses everyone's renewals alike). The sids of one dead instance are cleaned
  /// up to `sweep_parallelism` at a time.
  net::awaitable<std::size_t> sweep(std::int64_t now_ms);
  /// renew(now_ms), then sweep(now_ms) if it succeeded (tests).
  net::awaitable<std::size_t> tick(std::int64_t now_ms);

  /// How many sids of a dead instance the sweep cleans at once.
  static constexpr std::size_t sweep_parallelism = 32;

  const std::string& id() const noexcept { return id_; }

 private:
  net::awaitable<void> run();
  struct sweep_work;
  net::awaitable<void> clean_all(std::vector<std::string> sids);
  static net::awaitable<void> clean_some(std::shared_ptr<sweep_work> st, sid_cleanup c,
                                         std::chrono::milliseconds keep);

  net::executor strand_;
  std::string id_;
  std::shared_ptr<coord::shared::shared_dict> instances_;
  sids_factory sids_of_;
  std::shared_ptr<coord::shared::shared_dict> own_sids_;
  sid_cleanup cleanup_;
  lease_options opts_;
  boost::asio::steady_timer timer_;
  // Strand only:
  std::function<void()> on_lapsed_;
  std::int64_t quiet_until_ms_ = 0;  ///< no sweep before this (epoch ms): see sweep()
  std::int64_t held_until_ms_ = 0;   ///< the lease last written (0: none yet)
  bool sweeping_ = false;            ///< a background sweep runs
  std::atomic<bool> stopped_{false};
  std::atomic<bool> finished_{false};
};

}  // namespace owcore::realtime::openwebui
