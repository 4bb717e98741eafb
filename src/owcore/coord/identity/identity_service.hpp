#pragma once
// Who is calling, from Open WebUI's database: a token is verified (HS256, exp, Redis revocation,
// fail closed), then its `id` is loaded from "user" (only the pool-entry columns). A missing row,
// a NULL required column or a role other than user/admin is unauthenticated. Rows are cached for
// a short TTL (options::cache_ttl), so a role change reaches every decision, fleet-wide, within
// that time (docs/identity.md).

#include "owcore/coord/auth/authenticator.hpp"
#include "owcore/db/queries.hpp"
#include "owcore/net/executor.hpp"

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>

namespace spdlog {
class logger;
}

namespace owcore::coord::identity {

/// A verified caller: the token's claims and the user's row (at most cache_ttl old).
struct caller {
  auth::user token;
  db::user_row user;
  const std::string& id() const noexcept { return user.id; }
  bool is_admin() const noexcept { return user.role == "admin"; }
};

struct identity_options {
  /// How old a cached user row may be when a decision uses it; 0 disables the cache.
  std::chrono::milliseconds cache_ttl{3000};
  /// Cached users at most; when full the oldest half is dropped.
  std::size_t cache_limit = 100000;
  /// Where database failures are logged (rate-limited to one line a second); null = not logged.
  std::shared_ptr<spdlog::logger> log;
};

/// Thread-safe; share one per process.
class identity_service {
 public:
  identity_service(std::shared_ptr<db::database> db, std::shared_ptr<const auth::authenticator> auth,
                   identity_options opts = {});

  /// Verifies `token` and loads its user. Failures: missing/invalid/expired/revoked (401),
  /// unavailable (the revocation store or the database could not answer: 503, fail closed).
  net::awaitable<std::variant<caller, auth::auth_failure>> authenticate(std::string_view token);

  /// The verified user `id` (role user or admin), at most cache_ttl old; nullopt when the row is
  /// missing, incomplete or of another role; an error when the database fails.
  net::awaitable<db::result<std::optional<db::user_row>>> user(const std::string& id);

  /// Drops `id` from the cache (after a local write to the row).
  void forget(const std::string& id);

  const auth::authenticator& authenticator() const noexcept { return *auth_; }
  db::database& database() const noexcept { return *db_; }
  const identity_options& options() const noexcept { return opts_; }

 private:
  struct entry {
    std::optional<db::user_row> user;  // nullopt: known not to authenticate
    std::chrono::steady_clock::time_point loaded;
  };
  std::shared_ptr<db::database> db_;
  std::shared_ptr<const auth::authenticator> auth_;
  identity_options opts_;
  std::mutex mutex_;
  std::unordered_map<std::string, entry> cache_;
  std::chrono::steady_clock::time_point last_log_{};
};

/// True for the roles Open WebUI lets through on sockets and APIs ("user", "admin").
bool verified_role(std::string_view role) noexcept;

}  // namespace owcore::coord::identity
