#pragma once
// Who is calling: verifies Open WebUI's HS256 JWTs and checks the revocation keys (docs/wire.md,
// "Tokens and revocation") on every call, failing closed when the revocation store cannot answer.

#include "owcore/coord/backend.hpp"
#include "owcore/net/executor.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace owcore::coord::auth {

/// The claims of a verified token: `id`, `jti`, `iat`, `exp`. Who the user is (name, role) comes
/// from the database (coord/identity), never from the token: a `name` or `role` claim is ignored.
struct user {
  std::string id;
  std::string jti;
  std::optional<std::int64_t> iat, exp;
};

/// Why authentication failed. `unavailable` means the revocation store could not be asked; the
/// request is refused (fail closed), but with 503 rather than 401 so clients keep their token.
struct auth_failure {
  enum class kind { missing, invalid, expired, revoked, unavailable };
  kind type = kind::invalid;
  std::string message;
};

/// Where revocations live: memory (one process) or Redis (the App Redis, shared with Python).
/// Thread-safe.
class revocation_store {
 public:
  virtual ~revocation_store() = default;
  /// True when the token is revoked (its jti, or its user since `iat`); nullopt when the store
  /// cannot answer.
  virtual net::awaitable<std::optional<bool>> is_revoked(const user& u) = 0;
  /// Sign-out: revokes `jti` until `exp` (nothing when exp has passed), as Python does.
  virtual net::awaitable<bool> revoke_token(std::string jti, std::int64_t exp) = 0;
  /// Back-channel logout: every token of `user_id` issued at or before now is revoked (30 days).
  virtual net::awaitable<bool> revoke_user(std::string user_id) = 0;
};

std::shared_ptr<revocation_store> make_memory_revocations();
std::shared_ptr<revocation_store> make_redis_revocations(redis_backend backend);

/// True when `s` may be used inside a Redis key: 1..256 printable ASCII characters, no spaces,
/// no '*', '?', '[' or ']' (glob characters), no braces (hash tags).
bool check_claim_text(std::string_view s) noexcept;

/// Verifies tokens. Thread-safe; cheap to share.
class authenticator {
 public:
  authenticator(std::string secret, std::shared_ptr<revocation_store> revocations)
      : secret_(std::move(secret)), revocations_(std::move(revocations)) {}

  /// Verifies `token` (signature, expiry, claims) and then its revocation.
  net::awaitable<std::variant<user, auth_failure>> verify(std::string_view token) const;

  /// Mints a token exactly as Open WebUI's create_token does: {"id", "jti" (uuid4), "iat",
  /// "exp"?}. `expires_in` nullopt = no exp (cannot be revoked by jti).
  std::string mint(const std::string& id, std::optional<std::chrono::seconds> expires_in) const;

  revocation_store& revocations() const noexcept { return *revocations_; }

 private:
  std::string secret_;
  std::shared_ptr<revocation_store> revocations_;
};

}  // namespace owcore::coord::auth
