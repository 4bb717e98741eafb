#include "owcore/coord/tasks/task_service.hpp"

#include "owcore/base/pyjson.hpp"
#include "owcore/base/uuid.hpp"
#include "owcore/coord/metrics.hpp"
#include "owcore/coord/auth/authenticator.hpp"
#include "owcore/coord/tasks/task_registry.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json/object.hpp>
#include <spdlog/logger.h>

#include <atomic>
#include <mutex>
#include <unordered_map>

namespace owcore::coord::tasks {

namespace asio = boost::asio;
using boost::system::error_code;
template <class T>
using result = boost::system::result<T>;

namespace {

error_code invalid_argument() { return make_error_code(boost::system::errc::invalid_argument); }

// The backend-independent half of the service: the tasks running in this process, each on its
// own strand with its own cancellation signal. Where tasks are recorded, listed and stopped
// from elsewhere is the registry's business (task_registry.hpp).
class service final : public task_service,
                      public detail::local_tasks,
                      public std::enable_shared_from_this<service> {
 public:
  service(net::executor ex, task_options opts, std::string instance_id,
          std::shared_ptr<detail::task_registry> registry)
      : ex_(std::move(ex)),
        opts_(std::move(opts)),
        instance_id_(std::move(instance_id)),
        registry_(std::move(registry)) {}

  void start() override {
    registry_->start(std::weak_ptr<detail::local_tasks>(shared_from_this()));
  }

  void stop() override {
    stopped_ = true;
    registry_->stop();
    for (auto& id : local_ids()) cancel_local(id);
  }

  net::awaitable<result<std::string>> create(std::string item_id, task_body body,
                                             std::string task_id) override {
    if (stopped_) co_return make_error_code(boost::system::errc::operation_canceled);
    if (task_id.empty()) task_id = base::uuid4();
    if (!auth::check_claim_text(task_id) || (!item_id.empty() && !auth::check_claim_text(item_id)))
      co_return invalid_argument();
    {
      std::lock_guard lock(mutex_);
      if (local_.size() >= opts_.max_local_tasks)
        co_return make_error_code(boost::system::errc::resource_unavailable_try_again);
      if (local_.contains(task_id)) co_return make_error_code(boost::system::errc::file_exists);
      // Reserve the id so a stop arriving during registration is not lost.
      auto& t = local_[task_id];
      t.item = item_id;
      t.signal = std::make_shared<asio::cancellation_signal>();
      t.strand = std::make_shared<asio::strand<net::executor>>(asio::make_strand(ex_));
    }
    if (auto ec = co_await registry_->add(task_id, item_id)) {
      std::lock_guard lock(mutex_);
      local_.erase(task_id);
      co_return ec;
    }
    std::shared_ptr<asio::cancellation_signal> signal;
    std::shared_ptr<asio::strand<net::executor>> strand;
    {
      std::lock_guard lock(mutex_);
      signal = local_[task_id].signal;
      strand = local_[task_id].strand;
    }
    metrics().tasks.started.inc();
    metrics().tasks.running.add();
    asio::co_spawn(*strand, run(shared_from_this(), task_id, item_id, std::move(body)),
                   asio::bind_cancellation_slot(signal->slot(), asio::detached));
    co_return task_id;
  }

  net::awaitable<result<std::vector<std::string>>> list() override {
    co_return co_await registry_->list();
  }

  net::awaitable<result<std::vector<std::string>>> list_by_item(std::string item_id) override {
    if (!auth::check_claim_text(item_id)) co_return std::vector<std::string>{};
    co_return co_await registry_->list_by_item(std::move(item_id));
  }

  net::awaitable<result<stop_outcome>> stop_task(std::string task_id) override {
    if (!auth::check_claim_text(task_id)) co_return stop_outcome::not_found;
    if (cancel_local(task_id)) co_return stop_outcome::stopped_local;
    co_return co_await registry_->stop_remote(std::move(task_id));
  }

  net::awaitable<result<std::size_t>> stop_item(std::string item_id) override {
    auto ids = co_await list_by_item(item_id);
    if (!ids) co_return ids.error();
    std::size_t n = 0;
    for (auto& id : *ids) {
      auto r = co_await stop_task(id);
      if (!r) co_return r.error();
      if (*r != stop_outcome::not_found) ++n;
    }
    co_return n;
  }

  std::size_t local_count() const override {
    std::lock_guard lock(mutex_);
    return local_.size();
  }

  const std::string& instance_id() const noexcept override { return instance_id_; }

  // detail::local_tasks

  std::vector<std::string> local_ids() const override {
    std::lock_guard lock(mutex_);
    std::vector<std::string> ids;
    ids.reserve(local_.size());
    for (auto& [id, t] : local_) ids.push_back(id);
    return ids;
  }

  bool is_local(const std::string& id) const override {
    std::lock_guard lock(mutex_);
    return local_.contains(id);
  }

  bool cancel_local(const std::string& id) override {
    std::shared_ptr<asio::cancellation_signal> signal;
    std::shared_ptr<asio::strand<net::executor>> strand;
    {
      std::lock_guard lock(mutex_);
      auto it = local_.find(id);
      if (it == local_.end()) return false;
      if (it->second.cancel_requested) return true;
      it->second.cancel_requested = true;
      metrics().tasks.stopped.inc();
      signal = it->second.signal;
      strand = it->second.strand;
    }
    if (opts_.log) opts_.log->info("task {}: cancelling", id);
    asio::post(*strand, [signal] { signal->emit(asio::cancellation_type::terminal); });
    return true;
  }

 private:
  struct local_task {
    std::string item;
    std::shared_ptr<asio::cancellation_signal> signal;
    std::shared_ptr<asio::strand<net::executor>> strand;
    bool cancel_requested = false;
  };

  // Coroutine parameters are taken by value: a reference would dangle across suspensions.
  static net::awaitable<void> run(std::shared_ptr<service> self, std::string id, std::string item,
                                  task_body body) {
    bool skip = false;
    {
      std::lock_guard lock(self->mutex_);
      if (auto it = self->local_.find(id); it != self->local_.end())
        skip = it->second.cancel_requested;
    }
    if (!skip) {
      try {
        co_await body();
      } catch (const std::exception& e) {
        if (self->opts_.log) self->opts_.log->debug("task {} ended: {}", id, e.what());
      }
    }
    metrics().tasks.running.sub();
    metrics().tasks.finished.inc();
    // Cleanup must run even though the coroutine was cancelled.
    co_await asio::this_coro::reset_cancellation_state();
    co_await self->registry_->remove(id, item);
    std::lock_guard lock(self->mutex_);
    self->local_.erase(id);
  }

  net::executor ex_;
  task_options opts_;
  std::string instance_id_;
  std::shared_ptr<detail::task_registry> registry_;
  mutable std::mutex mutex_;  ///< guards local_; never held across a suspension
  std::unordered_map<std::string, local_task> local_;
  std::atomic<bool> stopped_{false};
};

}  // namespace

std::shared_ptr<task_service> make_memory_task_service(net::executor ex, task_options opts) {
  auto registry = detail::make_memory_task_registry();
  return std::make_shared<service>(std::move(ex), std::move(opts), base::uuid4_hex(),
                                   std::move(registry));
}

std::shared_ptr<task_service> make_redis_task_service(net::executor ex, redis_backend backend,
                                                      task_options opts) {
  std::string instance_id = base::uuid4_hex();
  auto registry = detail::make_redis_task_registry(ex, std::move(backend), opts, instance_id);
  return std::make_shared<service>(std::move(ex), std::move(opts), std::move(instance_id),
                                   std::move(registry));
}

}  // namespace owcore::coord::tasks
