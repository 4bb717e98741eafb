#include "owcore/coord/identity/permissions.hpp"

#include "owcore/db/json_columns.hpp"

namespace owcore::coord::identity {

permission_service::permission_service(std::shared_ptr<db::database> db, permission_options opts)
    : db_(std::move(db)), opts_(opts) {}

net::awaitable<db::result<bool>> permission_service::has_permission(const db::user_row& u, std::string_view path) {
  auto groups = co_await db::group_permissions(*db_, u.id);
  if (!groups) co_return groups.error();
  for (const auto& p : *groups)
    if (db::permission_at(p, path)) co_return true;
  // The only default the socket handlers see is the environment's, and it covers only this key.
  co_return path == "features.channels" && opts_.default_features_channels;
}

net::awaitable<db::result<bool>> permission_service::can_use_channels(const db::user_row& u) {
  if (u.role == "admin") co_return true;
  co_return co_await has_permission(u, "features.channels");
}

net::awaitable<db::result<std::vector<std::string>>> permission_service::channels_to_join(const db::user_row& u) {
  auto allowed = co_await can_use_channels(u);
  if (!allowed) co_return allowed.error();
  if (!*allowed) co_return std::vector<std::string>{};
  co_return co_await db::channel_ids(*db_, u.id);
}

net::awaitable<db::result<bool>> permission_service::can_access_note_fresh(const db::user_row& u,
                                                                           const std::string& note_id,
                                                                           const std::string& permission) {
  // The note is loaded first, as Python does before it looks at the role: a missing note is
  // refused to admins too.
  auto row = co_await db::note_access(*db_, note_id, u.id, permission);
  if (!row) co_return row.error();
  if (!*row) co_return false;
  if (u.role == "admin") co_return true;
  co_return (*row)->owner == u.id || (*row)->granted;
}

net::awaitable<db::result<bool>> permission_service::can_access_note(const db::user_row& u,
                                                                     const std::string& note_id,
                                                                     const std::string& permission) {
  if (opts_.note_cache_ttl.count() <= 0) co_return co_await can_access_note_fresh(u, note_id, permission);
  std::string key = u.id;
  key += '\n';
  key += permission;
  key += '\n';
  key += note_id;
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mutex_);
    if (auto it = notes_.find(key); it != notes_.end() && now - it->second.second < opts_.note_cache_ttl)
      co_return it->second.first;
  }
  auto fresh = co_await can_access_note_fresh(u, note_id, permission);
  if (!fresh) co_return fresh.error();
  std::lock_guard lock(mutex_);
  if (notes_.size() >= opts_.cache_limit) notes_.clear();
  notes_[key] = {*fresh, now};
  co_return *fresh;
}

}  // namespace owcore::coord::identity
