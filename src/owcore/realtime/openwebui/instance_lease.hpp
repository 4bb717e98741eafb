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
// Every instance sweeps every ttl/3 (the sweep is idempotent, so no lock is needed): for each
// instance whose lease ran out, every sid it held is cleaned as a disconnect would clean it (the
// P:session_pool entry, the sid in every P:usage_pool model, its Yjs presence and reverse index,
// clearing documents left without users), then its sid hash and its registry field are deleted.
// Everything a dead instance held is therefore gone within about ttl + ttl/3. Pending note saves
// are tasks, which the task service's own leases already reap.
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
net::awaitable<void> clean_sid(sid_cleanup c, std::string sid);

/// One instance's lease. Thread-safe. Create with make_shared, then start().
class instance_lease : public std::enable_shared_from_this<instance_lease> {
 public:
  /// `instances` is the registry hash; `sids_of(id)` makes the sid hash of instance `id`.
  using sids_factory = std::function<std::shared_ptr<coord::shared::shared_dict>(const std::string& instance_id)>;
  instance_lease(net::executor ex, std::string instance_id, std::shared_ptr<coord::shared::shared_dict> instances,
                 sids_factory sids_of, sid_cleanup cleanup, lease_options opts);

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

  /// One refresh and sweep at `now_ms` (epoch ms); returns how many dead instances were cleaned.
  /// Exposed for tests; the loop calls it.
  net::awaitable<std::size_t> tick(std::int64_t now_ms);

  const std::string& id() const noexcept { return id_; }

 private:
  net::awaitable<void> run();

  net::executor strand_;
  std::string id_;
  std::shared_ptr<coord::shared::shared_dict> instances_;
  sids_factory sids_of_;
  std::shared_ptr<coord::shared::shared_dict> own_sids_;
  sid_cleanup cleanup_;
  lease_options opts_;
  boost::asio::steady_timer timer_;
  std::atomic<bool> stopped_{false};
  std::atomic<bool> finished_{false};
};

}  // namespace owcore::realtime::openwebui
