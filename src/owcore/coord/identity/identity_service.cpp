#include "owcore/coord/identity/identity_service.hpp"

#include <spdlog/logger.h>

#include <algorithm>
#include <vector>

namespace owcore::coord::identity {

bool verified_role(std::string_view role) noexcept { return role == "user" || role == "admin"; }

identity_service::identity_service(std::shared_ptr<db::database> db, std::shared_ptr<const auth::authenticator> auth,
                                   identity_options opts)
    : db_(std::move(db)), auth_(std::move(auth)), opts_(opts) {}

net::awaitable<std::variant<caller, auth::auth_failure>> identity_service::authenticate(std::string_view token) {
  using k = auth::auth_failure::kind;
  auto verified = co_await auth_->verify(token);
  if (auto* f = std::get_if<auth::auth_failure>(&verified)) co_return std::move(*f);
  auto claims = std::get<auth::user>(std::move(verified));
  auto row = co_await user(claims.id);
  if (!row) {
    const auto now = std::chrono::steady_clock::now();
    bool say = false;
    {
      std::lock_guard lock(mutex_);
      if (now - last_log_ >= std::chrono::seconds(1)) {
        last_log_ = now;
        say = true;
      }
    }
    if (say && opts_.log) opts_.log->warn("cannot load a user from the database: {}", row.error().message());
    co_return auth::auth_failure{k::unavailable, "User database unavailable"};
  }
  if (!*row) co_return auth::auth_failure{k::invalid, "Invalid token"};
  co_return caller{std::move(claims), std::move(**row)};
}

net::awaitable<db::result<std::optional<db::user_row>>> identity_service::user(const std::string& id) {
  const auto now = std::chrono::steady_clock::now();
  if (opts_.cache_ttl.count() > 0) {
    std::lock_guard lock(mutex_);
    if (auto it = cache_.find(id); it != cache_.end() && now - it->second.loaded < opts_.cache_ttl)
      co_return it->second.user;
  }
  auto found = co_await db::load_user(*db_, id);
  if (!found) co_return found.error();
  std::optional<db::user_row> out;
  if (found->state == db::user_lookup::status::found && verified_role(found->user.role))
    out = std::move(found->user);
  if (opts_.cache_ttl.count() > 0) {
    std::lock_guard lock(mutex_);
    if (cache_.size() >= opts_.cache_limit) {
      // Drop the older half: O(n log n) once per cache_limit/2 loads.
      std::vector<std::chrono::steady_clock::time_point> ages;
      ages.reserve(cache_.size());
      for (auto& [_, e] : cache_) ages.push_back(e.loaded);
      auto mid = ages.begin() + static_cast<std::ptrdiff_t>(ages.size() / 2);
      std::nth_element(ages.begin(), mid, ages.end());
      std::erase_if(cache_, [&](const auto& kv) { return kv.second.loaded <= *mid; });
    }
    cache_[id] = entry{out, now};
  }
  co_return out;
}

void identity_service::forget(const std::string& id) {
  std::lock_guard lock(mutex_);
  cache_.erase(id);
}

}  // namespace owcore::coord::identity
