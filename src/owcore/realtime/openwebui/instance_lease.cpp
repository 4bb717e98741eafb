#include "owcore/realtime/openwebui/instance_lease.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <spdlog/logger.h>

#include <chrono>
#include <vector>

namespace owcore::realtime::openwebui {

namespace asio = boost::asio;
namespace json = boost::json;

std::string instance_sids_key(std::string_view instance_id) {
  std::string k = "owcore:realtime:sids:";
  k += instance_id;
  return k;
}

namespace {

std::int64_t epoch_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

net::awaitable<void> clean_sid(sid_cleanup c, std::string sid, std::chrono::milliseconds keep_empty_for) {
  auto erased = co_await c.session_pool->erase(sid);
  (void)erased;
  auto models = co_await c.usage_pool->keys();
  if (models) {
    for (auto& m : *models) {
      auto r = co_await c.usage_pool->remove_sid(std::move(m), sid);
      (void)r;
    }
  }
  auto docs = co_await c.documents->remove_user_from_all_documents(sid, keep_empty_for);
  (void)docs;
}

struct instance_lease::sweep_work {
  explicit sweep_work(net::executor ex) : done(std::move(ex)) {}
  std::vector<std::string> sids;
  std::size_t next = 0;
  std::size_t workers = 0;
  bool finished = false;
  asio::steady_timer done;
};

net::awaitable<void> instance_lease::clean_some(std::shared_ptr<sweep_work> st, sid_cleanup c,
                                                std::chrono::milliseconds keep) {
  while (st->next < st->sids.size()) co_await clean_sid(c, std::move(st->sids[st->next++]), keep);
}

instance_lease::instance_lease(net::executor ex, std::string instance_id,
                               std::shared_ptr<coord::shared::shared_dict> instances, sids_factory sids_of,
                               sid_cleanup cleanup, lease_options opts)
    : strand_(net::make_strand(ex)),
      id_(std::move(instance_id)),
      instances_(std::move(instances)),
      sids_of_(std::move(sids_of)),
      own_sids_(sids_of_(id_)),
      cleanup_(std::move(cleanup)),
      opts_(std::move(opts)),
      timer_(strand_) {}

void instance_lease::start() {
  auto self = shared_from_this();
  asio::co_spawn(strand_, [self]() { return self->run(); }, [self](std::exception_ptr ep) {
    if (!ep || !self->opts_.log) return;
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      self->opts_.log->error("instance lease {} stopped: {}", self->id_, e.what());
    }
  });
}

void instance_lease::on_lapsed(std::function<void()> hook) {
  asio::post(strand_, [self = shared_from_this(), hook = std::move(hook)]() mutable {
    self->on_lapsed_ = std::move(hook);
  });
}

void instance_lease::stop() {
  if (stopped_.exchange(true)) return;
  auto self = shared_from_this();
  asio::post(strand_, [self] { self->timer_.cancel(); });
}

net::awaitable<void> instance_lease::hold(std::string sid) {
  auto r = co_await own_sids_->set(std::move(sid), json::value(1));
  if (!r && opts_.log) opts_.log->warn("instance lease {}: sid not recorded: {}", id_, r.error().message());
}

net::awaitable<void> instance_lease::release(std::string sid) {
  auto r = co_await own_sids_->erase(std::move(sid));
  (void)r;
}

net::awaitable<bool> instance_lease::renew(std::int64_t now_ms) {
  // A registry field gone while this instance still thought its lease valid means another
  // instance swept it anyway (clocks apart by more than the lease, say).
  bool swept = false;
  if (held_until_ms_ != 0) {
    auto listed = co_await instances_->contains(id_);
    swept = listed && !*listed;
  }
  const std::int64_t until = now_ms + opts_.ttl.count();
  auto refreshed = co_await instances_->set(id_, json::value(until));
  if (!refreshed) {
    if (opts_.log)
      opts_.log->warn("instance lease {} not refreshed: {}", id_, refreshed.error().message());
    // Redis refused this refresh (maxmemory, a failover, a lost connection): it most likely
    // refused the peers' too, so a lease that ran out meanwhile says nothing about its holder.
    // Sweep nothing until one ttl after the last refused refresh; live peers renew by then.
    // (Without this, under `maxmemory` every instance swept every other one, and the Yjs
    // documents of connected editors were deleted: bench/run_chaos standalone-maxmemory.)
    quiet_until_ms_ = now_ms + opts_.ttl.count();
    co_return false;
  }
  const bool lapsed = swept || (held_until_ms_ != 0 && now_ms > held_until_ms_);
  held_until_ms_ = until;
  if (lapsed) {
    if (opts_.log)
      opts_.log->warn("instance lease {} {}: writing back what its sockets hold", id_,
                      swept ? "was swept by another instance" : "ran out before it was renewed");
    if (on_lapsed_) on_lapsed_();
  }
  co_return true;
}

net::awaitable<std::size_t> instance_lease::tick(std::int64_t now_ms) {
  const bool renewed = co_await renew(now_ms);
  if (!renewed) co_return 0;
  const std::size_t cleaned = co_await sweep(now_ms);
  co_return cleaned;
}

net::awaitable<std::size_t> instance_lease::sweep(std::int64_t now_ms) {
  if (now_ms < quiet_until_ms_) co_return 0;
  auto all = co_await instances_->items();
  if (!all) co_return 0;
  std::vector<std::string> dead;
  for (const auto& e : *all) {
    if (e.first == id_) continue;
    const bool alive = e.second.is_number() && e.second.to_number<double>() >= static_cast<double>(now_ms);
    if (!alive) dead.push_back(e.first);
  }
  std::size_t cleaned = 0;
  for (const auto& other : dead) {
    auto sids = sids_of_(other);
    auto held = co_await sids->keys();
    if (!held) continue;
    const std::size_t n = held->size();
    co_await clean_all(std::move(*held));
    auto dropped = co_await sids->clear();
    (void)dropped;
    auto gone = co_await instances_->erase(other);
    (void)gone;
    ++cleaned;
    if (opts_.log)
      opts_.log->warn("instance {} stopped renewing its lease: removed the {} sockets it held from the pools and "
                      "documents", other, n);
  }
  co_return cleaned;
}

// Cleans `sids` with up to sweep_parallelism cleanups in flight: one at a time, the 10,000 sids of
// a dead instance took tens of seconds of round trips.
net::awaitable<void> instance_lease::clean_all(std::vector<std::string> sids) {
  if (sids.empty()) co_return;
  auto ex = co_await asio::this_coro::executor;
  auto st = std::make_shared<sweep_work>(ex);
  st->sids = std::move(sids);
  st->done.expires_at(asio::steady_timer::time_point::max());
  const std::size_t workers = std::min(sweep_parallelism, st->sids.size());
  st->workers = workers;
  for (std::size_t w = 0; w < workers; ++w) {
    // Every worker runs on this coroutine's executor (the strand), so `st` needs no lock. A free
    // function, not a lambda: a lambda coroutine keeps only a pointer to its captures.
    asio::co_spawn(ex, clean_some(st, cleanup_, opts_.ttl), [st](std::exception_ptr) {
      if (--st->workers != 0) return;
      st->finished = true;
      st->done.cancel();
    });
  }
  // The workers cannot finish before this wait starts (co_spawn posts them), but `finished`
  // makes the wait safe either way.
  while (!st->finished) {
    auto waited = co_await st->done.async_wait(net::use_tuple);
    (void)waited;
  }
}

net::awaitable<void> instance_lease::run() {
  const auto period = std::max(opts_.ttl / 3, std::chrono::milliseconds(100));
  auto self = shared_from_this();
  while (!stopped_.load()) {
    const auto now = epoch_ms();
    // The sweep runs beside the renewals, never in front of them: an instance busy cleaning a
    // dead peer's sockets must not let its own lease run out.
    const bool renewed = co_await renew(now);
    if (renewed && !sweeping_) {
      sweeping_ = true;
      asio::co_spawn(strand_, sweep(now), [self](std::exception_ptr ep, std::size_t) {
        self->sweeping_ = false;
        if (ep && self->opts_.log) self->opts_.log->warn("instance lease {}: a sweep failed", self->id_);
      });
    }
    timer_.expires_after(period);
    auto waited = co_await timer_.async_wait(net::use_tuple);
    (void)waited;
  }
  // Withdraw. Disconnect handlers normally cleaned every socket already; whatever is still listed
  // (a handler cut short by the shutdown) is cleaned here, so a clean stop leaves nothing.
  auto held = co_await own_sids_->keys();
  if (held)
    for (auto& sid : *held) co_await clean_sid(cleanup_, std::move(sid));
  auto dropped = co_await own_sids_->clear();
  (void)dropped;
  auto gone = co_await instances_->erase(id_);
  (void)gone;
  finished_.store(true);
}

}  // namespace owcore::realtime::openwebui
