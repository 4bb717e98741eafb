#include "owcore/coord/tasks/task_registry.hpp"

#include "owcore/coord/auth/authenticator.hpp"
#include "owcore/coord/tasks/keys.hpp"
#include "owcore/redis/error.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <spdlog/logger.h>

#include <atomic>
#include <map>
#include <mutex>

namespace owcore::coord::tasks::detail {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;
template <class T>
using result = boost::system::result<T>;

std::int64_t epoch_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class redis_registry final : public task_registry,
                             public std::enable_shared_from_this<redis_registry> {
 public:
  redis_registry(net::executor ex, redis_backend rb, task_options opts, std::string instance_id)
      : ex_(std::move(ex)),
        rb_(std::move(rb)),
        opts_(std::move(opts)),
        instance_id_(std::move(instance_id)) {}

  void start(std::weak_ptr<local_tasks> tasks) override {
    tasks_ = std::move(tasks);
    auto weak = weak_from_this();
    sub_ = rb_.client->make_subscriber(
        [weak](const redis::message& m) {
          if (auto self = weak.lock()) self->on_command(m.payload);
        },
        "task commands", "");
    sub_->subscribe(keys::commands(rb_.prefix));
    sub_->start();
    asio::co_spawn(ex_, maintenance(weak), asio::detached);
  }

  void stop() override {
    stopped_ = true;
    if (sub_) sub_->stop();
    std::lock_guard lock(mutex_);
    if (timer_) asio::post(timer_->get_executor(), [t = timer_] { t->cancel(); });
  }

  // Lease first, then the owner mark, then Python's registry: a reaper can never see an owned
  // registry entry without its lease while the task is alive.
  net::awaitable<error_code> add(std::string id, std::string item) override {
    const auto& P = rb_.prefix;
    {
      std::lock_guard lock(mutex_);
      items_[id] = item;
    }
    if (auto ec = co_await run_request(redis::request()
                                           .push("SET", redis::key(keys::lease(P, id)),
                                                 instance_id_, "PX", opts_.lease_ttl.count())
                                           .idempotent()))
      co_return ec;
    if (auto ec =
            co_await run_request(redis::request()
                                     .push("HSET", redis::key(keys::owned(P)), id, instance_id_)
                                     .idempotent()))
      co_return ec;
    if (auto ec = co_await run_request(
            redis::request().push("HSET", redis::key(keys::registry(P)), id, item).idempotent()))
      co_return ec;
    if (!item.empty())
      if (auto ec = co_await run_request(
              redis::request().push("SADD", redis::key(keys::item(P, item)), id).idempotent()))
        co_return ec;
    co_return error_code{};
  }

  // Python's registry entries first, then the side keys. SREM alone: Redis drops empty sets,
  // so there is no SCARD-then-DEL race (keys in docs/wire.md, "Redis keys").
  net::awaitable<void> remove(std::string id, std::string item) override {
    const auto& P = rb_.prefix;
    {
      std::lock_guard lock(mutex_);
      items_.erase(id);
    }
    co_await run_request(
        redis::request().push("HDEL", redis::key(keys::registry(P)), id).idempotent());
    if (!item.empty())
      co_await run_request(
          redis::request().push("SREM", redis::key(keys::item(P, item)), id).idempotent());
    // A Python task's in-flight reply dies with it (Python's cleanup HDELs it too). One key per
    // request: the variants are separate keys in separate Cluster slots.
    co_await run_request(
        redis::request().push("HDEL", redis::key(keys::response_streams(P)), id).idempotent());
    for (const auto& k : keys::response_stream_variants(P, id))
      co_await run_request(redis::request().push("DEL", redis::key(k)).idempotent());
    co_await run_request(
        redis::request().push("HDEL", redis::key(keys::owned(P)), id).idempotent());
    co_await run_request(redis::request().push("DEL", redis::key(keys::lease(P, id))).idempotent());
    co_await run_request(
        redis::request().push("DEL", redis::key(keys::stop_marker(P, id))).idempotent());
    co_await run_request(redis::request().push("HDEL", redis::key(keys::seen(P)), id).idempotent());
  }

  net::awaitable<result<std::vector<std::string>>> list() override {
    auto [ec, r] = co_await rb_.client->exec_one(
        redis::request().push("HKEYS", redis::key(keys::registry(rb_.prefix))).idempotent());
    if (ec) co_return ec;
    if (r.is_error()) co_return redis::reply_error(r.str);
    std::vector<std::string> out;
    for (auto& e : r.elements) out.push_back(std::move(e.str));
    co_return out;
  }

  net::awaitable<result<std::vector<std::string>>> list_by_item(std::string item) override {
    auto [ec, r] = co_await rb_.client->exec_one(
        redis::request().push("SMEMBERS", redis::key(keys::item(rb_.prefix, item))).idempotent());
    if (ec) co_return ec;
    if (r.is_error()) co_return redis::reply_error(r.str);
    std::vector<std::string> out;
    for (auto& e : r.elements) out.push_back(std::move(e.str));
    co_return out;
  }

  net::awaitable<result<stop_outcome>> stop_remote(std::string task_id) override {
    const auto& P = rb_.prefix;
    auto [ec, item] = co_await rb_.client->exec_one(
        redis::request().push("HGET", redis::key(keys::registry(P)), task_id).idempotent());
    if (ec) co_return ec;
    auto [oec, owner] = co_await rb_.client->exec_one(
        redis::request().push("HGET", redis::key(keys::owned(P)), task_id).idempotent());
    if (oec) co_return oec;
    bool owner_alive = false;
    if (!owner.is_nil()) {
      auto [lec, lease] = co_await rb_.client->exec_one(
          redis::request().push("EXISTS", redis::key(keys::lease(P, task_id))).idempotent());
      if (lec) co_return lec;
      owner_alive = lease.integer == 1;
    }
    // The marker first: an owner that misses the message still sees it on its next lease tick.
    auto [mec, m] =
        co_await rb_.client->exec_one(redis::request()
                                          .push("SET", redis::key(keys::stop_marker(P, task_id)),
                                                "1", "PX", opts_.stop_marker_ttl.count())
                                          .idempotent());
    if (mec) co_return mec;
    auto [pec, p] = co_await rb_.client->exec_one(
        redis::request().push("PUBLISH", keys::commands(P), stop_command_json(task_id)));
    if (pec) co_return pec;
    // A live owcore owner removes its own entries once the task has really stopped. For a Python
    // task (or a dead owner) do what Python's stop_task does: clean the registry now.
    // (A named local: g++ 12 mishandles temporaries of a conditional inside co_await.)
    std::string item_id = item.is_nil() ? std::string{} : item.str;
    if (!owner_alive) co_await remove(task_id, item_id);
    if (opts_.log)
      opts_.log->info("task {}: stop sent ({})", task_id,
                      owner.is_nil() ? "no owcore owner: registry cleaned" : "owner " + owner.str);
    co_return item.is_nil() && owner.is_nil() ? stop_outcome::not_found : stop_outcome::stop_sent;
  }

 private:
  // Runs one request and reports only whether it reached Redis without error. Coroutine
  // parameters are taken by value throughout: a reference would dangle across suspensions.
  net::awaitable<error_code> run_request(redis::request req) {
    auto [ec, r] = co_await rb_.client->exec_one(std::move(req));
    if (!ec && r.is_error()) ec = redis::reply_error(r.str);
    co_return ec;
  }

  std::vector<std::string> local_ids() const {
    auto t = tasks_.lock();
    return t ? t->local_ids() : std::vector<std::string>{};
  }
  bool is_local(const std::string& id) const {
    auto t = tasks_.lock();
    return t && t->is_local(id);
  }
  void cancel_local(const std::string& id) {
    if (auto t = tasks_.lock()) t->cancel_local(id);
  }

  void on_command(const std::string& payload) {
    auto command = parse_task_command(payload);
    if (!command) {
      if (opts_.log) opts_.log->warn("ignoring a malformed message on the task command channel");
      return;
    }
    if (command->action == "stop") cancel_local(command->task_id);
  }

  static net::awaitable<void> maintenance(std::weak_ptr<redis_registry> weak) {
    auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor);
    std::chrono::steady_clock::time_point next_reap{};
    std::chrono::milliseconds tick{};
    if (auto self = weak.lock()) {
      std::lock_guard lock(self->mutex_);
      self->timer_ = timer;
      tick = std::max<std::chrono::milliseconds>(std::chrono::milliseconds(50),
                                                 self->opts_.lease_ttl / 3);
    }
    for (;;) {
      {
        auto self = weak.lock();
        if (!self || self->stopped_) co_return;
        co_await self->refresh_leases();
        if (std::chrono::steady_clock::now() >= next_reap) {
          co_await self->reap();
          next_reap = std::chrono::steady_clock::now() + self->opts_.reaper_period;
        }
      }
      timer->expires_after(tick);
      auto [ec] = co_await timer->async_wait(net::use_tuple);
      if (ec) co_return;
    }
  }

  net::awaitable<void> refresh_leases() {
    const auto& P = rb_.prefix;
    const std::vector<std::string> ids = local_ids();
    co_await run_request(redis::request()
                             .push("SET", redis::key(keys::instance(P, instance_id_)), epoch_s(),
                                   "PX", opts_.lease_ttl.count())
                             .idempotent());
    for (const auto& id : ids) {
      // A task that ended during an earlier await of this loop has had its lease deleted; setting
      // it again would leave a lease without a task until it expires.
      if (!is_local(id)) continue;
      co_await run_request(redis::request()
                               .push("SET", redis::key(keys::lease(P, id)), instance_id_, "PX",
                                     opts_.lease_ttl.count())
                               .idempotent());
      co_await register_again_if_lost(id);
      auto [ec, marker] = co_await rb_.client->exec_one(
          redis::request().push("EXISTS", redis::key(keys::stop_marker(P, id))).idempotent());
      if (!ec && marker.integer == 1) cancel_local(id);
    }
  }

  // A running task whose registry entry is gone (an asynchronous replica promoted before it
  // received the HSET, a FLUSHALL, an operator's HDEL) would run on unlisted, and a stop through
  // another instance would answer 404: write the owner mark, the entry and the item set again.
  // A task ending meanwhile leaves at most entries whose lease expires, which reap() removes.
  net::awaitable<void> register_again_if_lost(std::string id) {
    const auto& P = rb_.prefix;
    auto [ec, listed] = co_await rb_.client->exec_one(
        redis::request().push("HEXISTS", redis::key(keys::registry(P)), id).idempotent());
    if (ec || listed.is_error() || listed.integer != 0) co_return;
    std::string item;
    {
      std::lock_guard lock(mutex_);
      auto it = items_.find(id);
      if (it == items_.end()) co_return;
      item = it->second;
    }
    if (!is_local(id)) co_return;
    if (opts_.log)
      opts_.log->warn("task {}: its registry entry was lost in Redis while it runs; registering it again", id);
    co_await run_request(
        redis::request().push("HSET", redis::key(keys::owned(P)), id, instance_id_).idempotent());
    co_await run_request(redis::request().push("HSET", redis::key(keys::registry(P)), id, item).idempotent());
    if (!item.empty())
      co_await run_request(redis::request().push("SADD", redis::key(keys::item(P, item)), id).idempotent());
  }

  // Deletes the owner mark of `id` once its lease has expired (a leftover of a dead owner).
  struct drop_stale_owner {
    std::shared_ptr<redis_registry> self;
    std::string id;
    net::awaitable<void> operator()() const {
      auto [lec, lease] = co_await self->rb_.client->exec_one(
          redis::request()
              .push("EXISTS", redis::key(keys::lease(self->rb_.prefix, id)))
              .idempotent());
      if (!lec && lease.integer == 0)
        co_await self->run_request(
            redis::request().push("HDEL", redis::key(keys::owned(self->rb_.prefix)), id));
    }
  };

  net::awaitable<void> reap() {
    const auto& P = rb_.prefix;
    auto [ec, reg] = co_await rb_.client->exec_one(
        redis::request().push("HGETALL", redis::key(keys::registry(P))).idempotent());
    auto [oec, own] = co_await rb_.client->exec_one(
        redis::request().push("HGETALL", redis::key(keys::owned(P))).idempotent());
    if (ec || oec || reg.is_error() || own.is_error()) co_return;
    std::map<std::string, std::string> owners;
    for (std::size_t i = 0; i + 1 < own.elements.size(); i += 2)
      owners[own.elements[i].str] = own.elements[i + 1].str;
    std::map<std::string, std::string> registered;  // id -> item
    for (std::size_t i = 0; i + 1 < reg.elements.size(); i += 2)
      registered.emplace(reg.elements[i].str, reg.elements[i + 1].str);
    const auto now = epoch_s();
    for (std::size_t i = 0; i + 1 < reg.elements.size(); i += 2) {
      const auto& id = reg.elements[i].str;
      const auto& item = reg.elements[i + 1].str;
      if (!auth::check_claim_text(id)) continue;
      if (is_local(id)) continue;
      if (auto o = owners.find(id); o != owners.end()) {
        auto [lec, lease] = co_await rb_.client->exec_one(
            redis::request().push("EXISTS", redis::key(keys::lease(P, id))).idempotent());
        if (lec || lease.integer != 0) continue;
        if (opts_.log)
          opts_.log->warn("task {}: owner instance {} is gone (lease expired); removing it", id,
                          o->second);
        co_await remove(id, item);
      } else if (opts_.python_max_age) {
        co_await run_request(
            redis::request().push("HSETNX", redis::key(keys::seen(P)), id, now).idempotent());
        auto [sec, seen] = co_await rb_.client->exec_one(
            redis::request().push("HGET", redis::key(keys::seen(P)), id).idempotent());
        std::int64_t first = now;
        try {
          if (!sec && !seen.is_nil()) first = std::stoll(seen.str);
        } catch (const std::exception&) {
        }
        if (now - first > opts_.python_max_age->count()) {
          if (opts_.log)
            opts_.log->warn("task {}: registered by a non-owcore instance {} s ago; removing it",
                            id, now - first);
          co_await remove(id, item);
        }
      }
    }
    // Owner marks whose registry entry is gone and whose lease expired are leftovers. Checked
    // off the reaper's path, one small coroutine each.
    for (const auto& [id, inst] : owners) {
      if (registered.contains(id) || is_local(id)) continue;
      asio::co_spawn(ex_, drop_stale_owner{shared_from_this(), id}, asio::detached);
    }
  }

  net::executor ex_;
  redis_backend rb_;
  task_options opts_;
  std::string instance_id_;
  std::weak_ptr<local_tasks> tasks_;
  std::shared_ptr<redis::subscriber> sub_;
  std::mutex mutex_;  ///< guards timer_ and items_
  std::shared_ptr<asio::steady_timer> timer_;
  std::map<std::string, std::string> items_;  ///< item id of each task added here and not removed
  std::atomic<bool> stopped_{false};
};

}  // namespace

std::shared_ptr<task_registry> make_redis_task_registry(net::executor ex, redis_backend backend,
                                                        task_options opts,
                                                        std::string instance_id) {
  return std::make_shared<redis_registry>(std::move(ex), std::move(backend), std::move(opts),
                                          std::move(instance_id));
}

}  // namespace owcore::coord::tasks::detail
