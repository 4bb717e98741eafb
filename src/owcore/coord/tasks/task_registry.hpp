#pragma once
// Where the task registry lives (docs/architecture.md, coord): the narrow interface the task
// service runs its local tasks against, with a memory backend (one process) and a Redis backend
// (Open WebUI's keys, owcore's leases, the stop channel and the reaper). The service itself
// (task_service.cpp) is backend-independent: it owns the local tasks, their strands and their
// cancellation; a registry only records, lists and stops tasks by id.

#include "owcore/coord/backend.hpp"
#include "owcore/coord/tasks/task_service.hpp"
#include "owcore/net/executor.hpp"

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <memory>
#include <string>
#include <vector>

namespace owcore::coord::tasks::detail {

/// What a registry may ask of the tasks running in this process. Implemented by the service;
/// thread-safe; called from the registry's own loops and its command subscriber.
class local_tasks {
 public:
  virtual ~local_tasks() = default;
  /// The ids of the tasks running (or registering) here.
  virtual std::vector<std::string> local_ids() const = 0;
  /// True when `id` runs (or registers) here.
  virtual bool is_local(const std::string& id) const = 0;
  /// Cancels `id` if it runs here; false when it does not.
  virtual bool cancel_local(const std::string& id) = 0;
};

/// The registry of tasks by id and item. Thread-safe; arguments are taken by value (nothing is
/// referenced across a suspension). Both backends give the same answers for tasks of this
/// process; only the Redis backend sees other instances.
class task_registry {
 public:
  virtual ~task_registry() = default;

  /// Starts whatever keeps the registry true in the background (Redis: the command subscriber,
  /// the lease refresh and the reaper). `tasks` is held weakly.
  virtual void start(std::weak_ptr<local_tasks> tasks) = 0;
  /// Stops the background work; idempotent.
  virtual void stop() = 0;

  /// Records `id` (with `item`, "" for none) before the task starts.
  virtual net::awaitable<boost::system::error_code> add(std::string id, std::string item) = 0;
  /// Removes every entry of `id`; best effort (errors are not reported).
  virtual net::awaitable<void> remove(std::string id, std::string item) = 0;
  /// Every recorded task id.
  virtual net::awaitable<boost::system::result<std::vector<std::string>>> list() = 0;
  /// The task ids of one item.
  virtual net::awaitable<boost::system::result<std::vector<std::string>>> list_by_item(
      std::string item) = 0;
  /// Stops `id`, which does not run in this process (the service checked).
  virtual net::awaitable<boost::system::result<stop_outcome>> stop_remote(std::string id) = 0;
};

/// One process: maps guarded by a mutex; stop_remote always finds nothing.
std::shared_ptr<task_registry> make_memory_task_registry();

/// Open WebUI's registry in Redis plus owcore's leases under `instance_id` (keys.hpp).
std::shared_ptr<task_registry> make_redis_task_registry(net::executor ex, redis_backend backend,
                                                        task_options opts, std::string instance_id);

}  // namespace owcore::coord::tasks::detail
