#include "owcore/realtime/openwebui/pool_jobs.hpp"

#include "owcore/coord/identity/db_writes.hpp"

#include <spdlog/logger.h>

#include <algorithm>
#include <string>
#include <vector>

namespace owcore::realtime::openwebui {

namespace shared = coord::shared;

net::awaitable<std::size_t> sweep_usage(std::shared_ptr<shared::shared_dict> usage, std::int64_t now,
                                        std::chrono::seconds timeout) {
  auto models = co_await usage->keys();
  if (!models) co_return 0;
  std::size_t dropped = 0;
  const std::int64_t older_than = now - timeout.count();
  for (auto& m : *models) {
    // Python keeps a sid while now - updated_at <= timeout.
    auto r = co_await usage->prune(std::move(m), older_than);
    if (r) dropped += r->removed.size();
  }
  co_return dropped;
}

net::awaitable<std::size_t> sweep_sessions(std::shared_ptr<shared::shared_dict> sessions, std::int64_t now,
                                           std::chrono::seconds timeout) {
  const std::int64_t older_than = now - timeout.count();
  std::size_t deleted = 0;
  std::string cursor = "0";
  // HSCAN in batches of 200, as Python 0.11.2+ does; bounded in case a cursor never returns to 0.
  for (int step = 0; step < 1'000'000; ++step) {
    auto page = co_await sessions->scan(cursor, 200);
    if (!page) break;
    for (auto& e : page->entries) {
      const auto* o = e.second.if_object();
      const auto* seen = o ? o->if_contains("last_seen_at") : nullptr;
      const bool fresh = seen && seen->is_number() && seen->to_number<double>() >= static_cast<double>(older_than);
      if (fresh) continue;
      // Decided again inside Redis: a heartbeat since the listing keeps the entry.
      auto r = co_await sessions->erase_stale(std::move(e.first), older_than);
      if (r && *r) ++deleted;
    }
    cursor = std::move(page->cursor);
    if (cursor == "0") break;
  }
  co_return deleted;
}

namespace {

// A keeper job (a named type: no lambda captures in coroutine frames, see handlers.cpp).
struct usage_job {
  std::shared_ptr<shared::shared_dict> usage;
  std::chrono::seconds timeout;
  net::awaitable<void> operator()() const {
    auto n = co_await sweep_usage(usage, coord::identity::now_seconds(), timeout);
    (void)n;
  }
};

struct session_job {
  std::shared_ptr<shared::shared_dict> sessions;
  std::chrono::seconds timeout;
  std::shared_ptr<spdlog::logger> log;
  net::awaitable<void> operator()() const {
    auto n = co_await sweep_sessions(sessions, coord::identity::now_seconds(), timeout);
    if (n > 0 && log) log->info("session reaper: removed {} stale P:session_pool entries", n);
  }
};

shared::lock_keeper_options keeper_options(const shared::owner_lock& lock, std::chrono::seconds period,
                                           const pool_job_options& opts, const char* name) {
  shared::lock_keeper_options k;
  k.period = period;
  // Python 0.11.1+: contend forever, sleeping uniform(T/2, T) between attempts.
  k.retry_min = lock.ttl() / 2;
  k.retry_max = lock.ttl();
  k.log = opts.log;
  k.log_name = name;
  return k;
}

}  // namespace

pool_jobs start_pool_jobs(net::executor ex, std::shared_ptr<shared::shared_dict> usage,
                          std::shared_ptr<shared::shared_dict> sessions, std::shared_ptr<shared::owner_lock> usage_lock,
                          std::shared_ptr<shared::owner_lock> session_lock, const pool_job_options& opts) {
  pool_jobs jobs;
  auto uo = keeper_options(*usage_lock, opts.usage_timeout, opts, "usage cleaner");
  auto so = keeper_options(*session_lock, opts.session_timeout, opts, "session reaper");
  shared::lock_keeper::job uj = usage_job{std::move(usage), opts.usage_timeout};
  shared::lock_keeper::job sj = session_job{std::move(sessions), opts.session_timeout, opts.log};
  jobs.usage_cleaner = shared::lock_keeper::start(ex, std::move(usage_lock), std::move(uj), std::move(uo));
  jobs.session_reaper = shared::lock_keeper::start(ex, std::move(session_lock), std::move(sj), std::move(so));
  return jobs;
}

std::chrono::seconds session_pool_timeout(std::optional<double> heartbeat_interval_s) noexcept {
  if (!heartbeat_interval_s || !(*heartbeat_interval_s > 0)) return std::chrono::seconds(120);
  const double t = std::max(4 * *heartbeat_interval_s, 120.0);
  if (t > 365.0 * 24 * 3600) return std::chrono::seconds(365 * 24 * 3600);
  return std::chrono::seconds(static_cast<std::int64_t>(t));
}

}  // namespace owcore::realtime::openwebui
