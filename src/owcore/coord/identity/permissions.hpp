#pragma once
// Open WebUI's permission rules for the socket tier, exactly (docs/identity.md, "Permissions"):
// - features.channels: admin, or any of the user's groups has a truthy permissions.features.channels,
//   or else the environment default USER_PERMISSIONS_FEATURES_CHANNELS (the admin-edited config
//   table is not consulted, as in Python's socket handlers);
// - note access: admin, owner, or a grant with exactly that permission for user:*, the user or one
//   of the user's groups; `anyone` grants ignored; write does not imply read;
// - the channels a user-join enters: active membership of group/dm channels plus standard channels
//   owned or granted `read`; none at all without features.channels.
// Roles always come from the caller's database row (identity_service), never from a pool entry.

#include "owcore/db/queries.hpp"
#include "owcore/net/executor.hpp"

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace owcore::coord::identity {

struct permission_options {
  bool default_features_channels = true;  ///< USER_PERMISSIONS_FEATURES_CHANNELS
  /// How long a note-access answer may be reused (per user, note and permission); 0 = never.
  /// Bounds how late a revoked grant takes effect on the per-keystroke path.
  std::chrono::milliseconds note_cache_ttl{3000};
  std::size_t cache_limit = 100000;  ///< cached answers at most (cleared when full)
};

/// Thread-safe; share one per process.
class permission_service {
 public:
  permission_service(std::shared_ptr<db::database> db, permission_options opts = {});

  /// has_permission(uid, path) as Python evaluates it (groups, then the environment default).
  net::awaitable<db::result<bool>> has_permission(const db::user_row& u, std::string_view path);

  /// Admin or features.channels.
  net::awaitable<db::result<bool>> can_use_channels(const db::user_row& u);

  /// The channel ids whose rooms user-join and join-channels enter; empty without the right.
  net::awaitable<db::result<std::vector<std::string>>> channels_to_join(const db::user_row& u);

  /// Whether `u` may `permission` ("read" or "write") the note `note_id` (without the `note:`
  /// prefix). False for a missing note. Cached per options::note_cache_ttl.
  net::awaitable<db::result<bool>> can_access_note(const db::user_row& u, const std::string& note_id,
                                                   const std::string& permission);
  /// The same, never from the cache (used at save time).
  net::awaitable<db::result<bool>> can_access_note_fresh(const db::user_row& u, const std::string& note_id,
                                                         const std::string& permission);

 private:
  std::shared_ptr<db::database> db_;
  permission_options opts_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::pair<bool, std::chrono::steady_clock::time_point>> notes_;
};

}  // namespace owcore::coord::identity
