#include "owcore/coord/tasks/task_service.hpp"

#include "owcore/base/pyjson.hpp"
#include "owcore/base/uuid.hpp"
#include "owcore/coord/auth/authenticator.hpp"
#include "owcore/coord/tasks/keys.hpp"
#include "owcore/redis/error.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <spdlog/logger.h>

#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

namespace owcore::coord::tasks {

namespace asio = boost::asio;
using boost::system::error_code;
template <class T>
using result = boost::system::result<T>;

std::string stop_command_json(const std::string& task_id) {
  const boost::json::object command{{"action", "stop"}, {"task_id", task_id}};
  return base::pyjson::dump(command, base::pyjson::style::stdlib);
}

namespace {

std::int64_t epoch_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

error_code invalid_argument() { return make_error_code(boost::system::errc::invalid_argument); }

class service final : public task_service, public std::enable_shared_from_this<service> {
 public:
  service(net::executor ex, std::optional<redis_backend> rb, task_options opts)
      : ex_(std::move(ex)),
        rb_(std::move(rb)),
        opts_(std::move(opts)),
        instance_id_(base::uuid4_hex()) {}

  void start() override {
    if (!rb_) return;
    auto weak = weak_from_this();
    sub_ = rb_->client->make_subscriber(
        [weak](const redis::message& m) {
          if (auto self = weak.lock()) self->on_command(m.payload);
        },
        "task commands", "");
    sub_->subscribe(keys::commands(rb_->prefix));
    sub_->start();
    asio::co_spawn(ex_, maintenance(weak), asio::detached);
  }

  void stop() override {
    stopped_ = true;
    if (sub_) sub_->stop();
    std::vector<std::string> ids;
    {
      std::lock_guard lock(mutex_);
      for (auto& [id, t] : local_) ids.push_back(id);
      if (timer_) asio::post(timer_->get_executor(), [t = timer_] { t->cancel(); });
    }
    for (auto& id : ids) cancel_local(id);
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
    if (auto ec = co_await register_task(task_id, item_id)) {
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
    asio::co_spawn(*strand, run(shared_from_this(), task_id, item_id, std::move(body)),
                   asio::bind_cancellation_slot(signal->slot(), asio::detached));
    co_return task_id;
  }

  net::awaitable<result<std::vector<std::string>>> list() override {
    if (!rb_) {
      std::lock_guard lock(mutex_);
      std::vector<std::string> out;
      for (auto& [id, item] : mem_registry_) out.push_back(id);
      co_return out;
    }
    auto [ec, r] = co_await rb_->client->exec_one(
        redis::request().push("HKEYS", redis::key(keys::registry(rb_->prefix))).idempotent());
    if (ec) co_return ec;
    if (r.is_error()) co_return make_error_code(redis::error::server_error);
    std::vector<std::string> out;
    for (auto& e : r.elements) out.push_back(std::move(e.str));
    co_return out;
  }

  net::awaitable<result<std::vector<std::string>>> list_by_item(std::string item_id) override {
    if (!auth::check_claim_text(item_id)) co_return std::vector<std::string>{};
    if (!rb_) {
      std::lock_guard lock(mutex_);
      auto it = mem_items_.find(item_id);
      if (it == mem_items_.end()) co_return std::vector<std::string>{};
      co_return std::vector<std::string>(it->second.begin(), it->second.end());
    }
    auto [ec, r] = co_await rb_->client->exec_one(
        redis::request()
            .push("SMEMBERS", redis::key(keys::item(rb_->prefix, item_id)))
            .idempotent());
    if (ec) co_return ec;
    if (r.is_error()) co_return make_error_code(redis::error::server_error);
    std::vector<std::string> out;
    for (auto& e : r.elements) out.push_back(std::move(e.str));
    co_return out;
  }

  net::awaitable<result<stop_outcome>> stop_task(std::string task_id) override {
    if (!auth::check_claim_text(task_id)) co_return stop_outcome::not_found;
    if (cancel_local(task_id)) co_return stop_outcome::stopped_local;
    if (!rb_) co_return stop_outcome::not_found;
    const auto& P = rb_->prefix;

    auto [ec, item] = co_await rb_->client->exec_one(
        redis::request().push("HGET", redis::key(keys::registry(P)), task_id).idempotent());
    if (ec) co_return ec;
    auto [oec, owner] = co_await rb_->client->exec_one(
        redis::request().push("HGET", redis::key(keys::owned(P)), task_id).idempotent());
    if (oec) co_return oec;
    bool owner_alive = false;
    if (!owner.is_nil()) {
      auto [lec, lease] = co_await rb_->client->exec_one(
          redis::request().push("EXISTS", redis::key(keys::lease(P, task_id))).idempotent());
      if (lec) co_return lec;
      owner_alive = lease.integer == 1;
    }
    // The marker first: an owner that misses the message still sees it on its next lease tick.
    auto [mec, m] =
        co_await rb_->client->exec_one(redis::request()
                                           .push("SET", redis::key(keys::stop_marker(P, task_id)),
                                                 "1", "PX", opts_.stop_marker_ttl.count())
                                           .idempotent());
    if (mec) co_return mec;
    auto [pec, p] = co_await rb_->client->exec_one(
        redis::request().push("PUBLISH", keys::commands(P), stop_command_json(task_id)));
    if (pec) co_return pec;
    // A live owcore owner removes its own entries once the task has really stopped. For a Python
    // task (or a dead owner) do what Python's stop_task does: clean the registry now.
    // (A named local: g++ 12 mishandles temporaries of a conditional inside co_await.)
    std::string item_id = item.is_nil() ? std::string{} : item.str;
    if (!owner_alive) co_await unregister(task_id, item_id);
    if (opts_.log)
      opts_.log->info("task {}: stop sent ({})", task_id,
                      owner.is_nil() ? "no owcore owner: registry cleaned" : "owner " + owner.str);
    co_return item.is_nil() && owner.is_nil() ? stop_outcome::not_found : stop_outcome::stop_sent;
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

 private:
  struct local_task {
    std::string item;
    std::shared_ptr<asio::cancellation_signal> signal;
    std::shared_ptr<asio::strand<net::executor>> strand;
    bool cancel_requested = false;
  };

  // Coroutine parameters are taken by value throughout: a reference parameter would dangle across
  // suspensions when bound to a temporary.
  // Runs one request and reports only whether it reached Redis without error.
  net::awaitable<error_code> run_request(redis::request req) {
    auto [ec, r] = co_await rb_->client->exec_one(std::move(req));
    if (!ec && r.is_error()) ec = make_error_code(redis::error::server_error);
    co_return ec;
  }

  // Lease first, then the owner mark, then Python's registry: a reaper can never see an owned
  // registry entry without its lease while the task is alive.
  net::awaitable<error_code> register_task(std::string id, std::string item) {
    if (!rb_) {
      std::lock_guard lock(mutex_);
      mem_registry_[id] = item;
      if (!item.empty()) mem_items_[item].insert(id);
      co_return error_code{};
    }
    const auto& P = rb_->prefix;
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
  // so there is no SCARD-then-DEL race (SPEC §8.2.4).
  net::awaitable<void> unregister(std::string id, std::string item) {
    if (!rb_) {
      std::lock_guard lock(mutex_);
      mem_registry_.erase(id);
      if (auto it = mem_items_.find(item); it != mem_items_.end()) {
        it->second.erase(id);
        if (it->second.empty()) mem_items_.erase(it);
      }
      co_return;
    }
    const auto& P = rb_->prefix;
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
    // Cleanup must run even though the coroutine was cancelled.
    co_await asio::this_coro::reset_cancellation_state();
    co_await self->unregister(id, item);
    std::lock_guard lock(self->mutex_);
    self->local_.erase(id);
  }

  bool cancel_local(const std::string& id) {
    std::shared_ptr<asio::cancellation_signal> signal;
    std::shared_ptr<asio::strand<net::executor>> strand;
    {
      std::lock_guard lock(mutex_);
      auto it = local_.find(id);
      if (it == local_.end()) return false;
      if (it->second.cancel_requested) return true;
      it->second.cancel_requested = true;
      signal = it->second.signal;
      strand = it->second.strand;
    }
    if (opts_.log) opts_.log->info("task {}: cancelling", id);
    asio::post(*strand, [signal] { signal->emit(asio::cancellation_type::terminal); });
    return true;
  }

  void on_command(const std::string& payload) {
    if (payload.size() > 64 * 1024) return;
    error_code ec;
    auto v = boost::json::parse(payload, ec);
    const boost::json::object* o = (!ec && v.is_object()) ? &v.as_object() : nullptr;
    const boost::json::value* action = o ? o->if_contains("action") : nullptr;
    const boost::json::value* id = o ? o->if_contains("task_id") : nullptr;
    if (!action || !id || !action->is_string() || !id->is_string()) {
      if (opts_.log) opts_.log->warn("ignoring a malformed message on the task command channel");
      return;
    }
    if (action->as_string() == "stop") cancel_local(std::string(id->as_string()));
  }

  static net::awaitable<void> maintenance(std::weak_ptr<service> weak) {
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
    const auto& P = rb_->prefix;
    std::vector<std::string> ids;
    {
      std::lock_guard lock(mutex_);
      for (auto& [id, t] : local_) ids.push_back(id);
    }
    co_await run_request(redis::request()
                             .push("SET", redis::key(keys::instance(P, instance_id_)), epoch_s(),
                                   "PX", opts_.lease_ttl.count())
                             .idempotent());
    for (const auto& id : ids) {
      co_await run_request(redis::request()
                               .push("SET", redis::key(keys::lease(P, id)), instance_id_, "PX",
                                     opts_.lease_ttl.count())
                               .idempotent());
      auto [ec, marker] = co_await rb_->client->exec_one(
          redis::request().push("EXISTS", redis::key(keys::stop_marker(P, id))).idempotent());
      if (!ec && marker.integer == 1) cancel_local(id);
    }
  }

  net::awaitable<void> reap() {
    const auto& P = rb_->prefix;
    auto [ec, reg] = co_await rb_->client->exec_one(
        redis::request().push("HGETALL", redis::key(keys::registry(P))).idempotent());
    auto [oec, own] = co_await rb_->client->exec_one(
        redis::request().push("HGETALL", redis::key(keys::owned(P))).idempotent());
    if (ec || oec || reg.is_error() || own.is_error()) co_return;
    std::map<std::string, std::string> owners;
    for (std::size_t i = 0; i + 1 < own.elements.size(); i += 2)
      owners[own.elements[i].str] = own.elements[i + 1].str;
    const auto now = epoch_s();
    for (std::size_t i = 0; i + 1 < reg.elements.size(); i += 2) {
      const auto& id = reg.elements[i].str;
      const auto& item = reg.elements[i + 1].str;
      if (!auth::check_claim_text(id)) continue;
      {
        std::lock_guard lock(mutex_);
        if (local_.contains(id)) continue;
      }
      if (auto o = owners.find(id); o != owners.end()) {
        auto [lec, lease] = co_await rb_->client->exec_one(
            redis::request().push("EXISTS", redis::key(keys::lease(P, id))).idempotent());
        if (lec || lease.integer != 0) continue;
        if (opts_.log)
          opts_.log->warn("task {}: owner instance {} is gone (lease expired); removing it", id,
                          o->second);
        co_await unregister(id, item);
      } else if (opts_.python_max_age) {
        co_await run_request(
            redis::request().push("HSETNX", redis::key(keys::seen(P)), id, now).idempotent());
        auto [sec, seen] = co_await rb_->client->exec_one(
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
          co_await unregister(id, item);
        }
      }
    }
    // Owner marks whose registry entry is gone and whose lease expired are leftovers.
    for (const auto& [id, inst] : owners) {
      bool in_registry = false;
      for (std::size_t i = 0; i + 1 < reg.elements.size() && !in_registry; i += 2)
        in_registry = reg.elements[i].str == id;
      if (in_registry) continue;
      std::lock_guard lock(mutex_);
      if (local_.contains(id)) continue;
      (void)inst;
      asio::co_spawn(
          ex_,
          [self = shared_from_this(), id = id]() -> net::awaitable<void> {
            auto [lec, lease] = co_await self->rb_->client->exec_one(
                redis::request()
                    .push("EXISTS", redis::key(keys::lease(self->rb_->prefix, id)))
                    .idempotent());
            if (!lec && lease.integer == 0)
              co_await self->run_request(
                  redis::request().push("HDEL", redis::key(keys::owned(self->rb_->prefix)), id));
          },
          asio::detached);
    }
  }

  net::executor ex_;
  std::optional<redis_backend> rb_;
  task_options opts_;
  std::string instance_id_;
  mutable std::mutex mutex_;  ///< guards local_, mem_*, timer_; never held across a suspension
  std::unordered_map<std::string, local_task> local_;
  std::map<std::string, std::string> mem_registry_;
  std::map<std::string, std::set<std::string>> mem_items_;
  std::shared_ptr<redis::subscriber> sub_;
  std::shared_ptr<asio::steady_timer> timer_;
  std::atomic<bool> stopped_{false};
};

}  // namespace

std::shared_ptr<task_service> make_memory_task_service(net::executor ex, task_options opts) {
  return std::make_shared<service>(std::move(ex), std::nullopt, std::move(opts));
}

std::shared_ptr<task_service> make_redis_task_service(net::executor ex, redis_backend backend,
                                                      task_options opts) {
  return std::make_shared<service>(std::move(ex), std::move(backend), std::move(opts));
}

}  // namespace owcore::coord::tasks
