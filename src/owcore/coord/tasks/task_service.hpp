#pragma once
// Distributed tasks stoppable from any instance (docs/wire.md, "Tasks"), wire-compatible with
// Open WebUI's tasks.py: Python and owcore list and stop each other's tasks. Fixes Python's
// faults (docs/wire.md, "Task registry races", "Leftovers of a killed instance"):
// the registry is written before the task starts; no SCARD-then-DEL; per-task leases and a
// reaper make a crashed instance's entries disappear by themselves; a stop also leaves a marker
// the owner checks, so it is honoured even when the pub/sub message is lost.

#include "owcore/coord/tasks/commands.hpp"
#include "owcore/coord/backend.hpp"
#include "owcore/net/executor.hpp"

#include <boost/system/result.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace spdlog {
class logger;
}

namespace owcore::coord::tasks {

/// A task body. It is cancelled through its coroutine's cancellation slot (a stop); it must not
/// swallow cancellation forever.
using task_body = std::function<net::awaitable<void>()>;

/// Timings and policies. Defaults suit production.
struct task_options {
  std::chrono::milliseconds lease_ttl{15000};       ///< refreshed every lease_ttl/3
  std::chrono::milliseconds reaper_period{10000};   ///< how often dead entries are looked for
  std::chrono::milliseconds stop_marker_ttl{60000};
  /// Opt-in: reap registry entries without an owcore owner (written by Python) once a reaper has
  /// seen them for this long. nullopt = never touch Python's entries.
  std::optional<std::chrono::seconds> python_max_age;
  std::size_t max_local_tasks = 10000;              ///< create() fails beyond this
  std::shared_ptr<spdlog::logger> log;
};

/// What stop_task found.
enum class stop_outcome {
  not_found,       ///< no registry entry and no local task
  stopped_local,   ///< the task ran here and was cancelled
  stop_sent,       ///< a stop command was published (and a stop marker left) for its owner
};

/// The task service. Thread-safe; every member may be called from any thread.
class task_service {
 public:
  virtual ~task_service() = default;

  /// Subscribes to the command channel and starts the lease and reaper loops (Redis backend).
  /// Call at start-up, before serving.
  virtual void start() = 0;
  /// Cancels every local task and stops the loops.
  virtual void stop() = 0;

  /// Registers the task (registry first), then runs `body`. `task_id` empty = a new uuid4.
  /// `item_id` empty = no item. Fails when the registry write fails or the local limit is hit.
  virtual net::awaitable<boost::system::result<std::string>> create(std::string item_id, task_body body,
                                                                    std::string task_id = {}) = 0;
  /// Every registered task id, of every instance (HKEYS P:tasks).
  virtual net::awaitable<boost::system::result<std::vector<std::string>>> list() = 0;
  /// The task ids of one item (SMEMBERS P:tasks:item:<item>).
  virtual net::awaitable<boost::system::result<std::vector<std::string>>> list_by_item(std::string item_id) = 0;
  /// Stops a task wherever it runs.
  virtual net::awaitable<boost::system::result<stop_outcome>> stop_task(std::string task_id) = 0;
  /// Stops every task of an item; returns how many stops were issued.
  virtual net::awaitable<boost::system::result<std::size_t>> stop_item(std::string item_id) = 0;

  /// Tasks running in this process.
  virtual std::size_t local_count() const = 0;
  /// This instance's id (32 hex), used in leases.
  virtual const std::string& instance_id() const noexcept = 0;
};

/// One process, no Redis.
std::shared_ptr<task_service> make_memory_task_service(net::executor ex, task_options opts);
/// Redis backend (the App Redis, docs/wire.md, "Tasks"; prefix P).
std::shared_ptr<task_service> make_redis_task_service(net::executor ex, redis_backend backend,
                                                      task_options opts);

}  // namespace owcore::coord::tasks
