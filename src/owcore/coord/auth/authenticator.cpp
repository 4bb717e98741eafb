#include "owcore/coord/auth/authenticator.hpp"

#include "owcore/base/uuid.hpp"
#include "owcore/coord/auth/jwt.hpp"
#include "owcore/coord/auth/keys.hpp"

#include <charconv>
#include <cmath>
#include <mutex>
#include <unordered_map>

namespace owcore::coord::auth {
namespace {

std::int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::optional<std::int64_t> number_claim(const boost::json::object& o, std::string_view k) {
  auto v = o.if_contains(k);
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
  // A double outside int64 (or NaN/inf) is no usable time: casting it would be undefined.
  if (v->is_double() && std::isfinite(v->as_double()) && std::fabs(v->as_double()) < 9.2e18)
    return static_cast<std::int64_t>(v->as_double());
  return std::nullopt;
}

// Python: `int(revoked_at)`; anything unparsable means "no user-wide revocation".
std::optional<std::int64_t> parse_int(std::string_view s) {
  std::int64_t v = 0;
  while (!s.empty() && (s.front() == ' ' || s.front() == '+')) s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

bool revoked_by_user(const user& u, std::optional<std::int64_t> revoked_at) {
  return revoked_at && (!u.iat || *u.iat <= *revoked_at);
}

class memory_revocations final : public revocation_store {
 public:
  net::awaitable<std::optional<bool>> is_revoked(const user& u) override {
    std::lock_guard lock(mutex_);
    const auto now = now_s();
    if (auto it = tokens_.find(u.jti); !u.jti.empty() && it != tokens_.end() && it->second > now)
      co_return true;
    if (auto it = users_.find(u.id); it != users_.end()) co_return revoked_by_user(u, it->second);
    co_return false;
  }
  net::awaitable<bool> revoke_token(std::string jti, std::int64_t exp) override {
    std::lock_guard lock(mutex_);
    if (exp > now_s()) tokens_[jti] = exp;
    co_return true;
  }
  net::awaitable<bool> revoke_user(std::string user_id) override {
    std::lock_guard lock(mutex_);
    users_[user_id] = now_s();
    co_return true;
  }

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, std::int64_t> tokens_;  // jti -> expiry
  std::unordered_map<std::string, std::int64_t> users_;   // id -> revoked_at
};

class redis_revocations final : public revocation_store {
 public:
  explicit redis_revocations(redis_backend b) : b_(std::move(b)) {}

  net::awaitable<std::optional<bool>> is_revoked(const user& u) override {
    // Two keys in two hash slots: two requests (a Cluster cannot take them in one).
    if (!u.jti.empty()) {
      auto [ec, r] = co_await b_.client->exec_one(
          redis::request()
              .push("GET", redis::key(keys::token_revoked(b_.prefix, u.jti)))
              .idempotent());
      if (ec || r.is_error()) co_return std::nullopt;
      // Python: `if await redis.get(key)` — any non-empty value is truthy.
      if (!r.is_nil() && !r.str.empty()) co_return true;
    }
    auto [ec, r] = co_await b_.client->exec_one(
        redis::request()
            .push("GET", redis::key(keys::user_revoked_at(b_.prefix, u.id)))
            .idempotent());
    if (ec || r.is_error()) co_return std::nullopt;
    co_return revoked_by_user(u, r.is_nil() ? std::nullopt : parse_int(r.str));
  }

  net::awaitable<bool> revoke_token(std::string jti, std::int64_t exp) override {
    const auto ttl = exp - now_s();
    if (ttl <= 0) co_return true;
    auto [ec, r] = co_await b_.client->exec_one(
        redis::request()
            .push("SET", redis::key(keys::token_revoked(b_.prefix, jti)), "1", "EX", ttl)
            .idempotent());
    co_return !ec && !r.is_error();
  }

  net::awaitable<bool> revoke_user(std::string user_id) override {
    auto [ec, r] = co_await b_.client->exec_one(
        redis::request()
            .push("SET", redis::key(keys::user_revoked_at(b_.prefix, user_id)),
                  std::to_string(now_s()), "EX", 2592000)
            .idempotent());
    co_return !ec && !r.is_error();
  }

 private:
  redis_backend b_;
};

}  // namespace

std::shared_ptr<revocation_store> make_memory_revocations() {
  return std::make_shared<memory_revocations>();
}
std::shared_ptr<revocation_store> make_redis_revocations(redis_backend backend) {
  return std::make_shared<redis_revocations>(std::move(backend));
}

bool check_claim_text(std::string_view s) noexcept {
  if (s.empty() || s.size() > 256) return false;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '*' || c == '?' || c == '[' || c == ']' || c == '{' ||
        c == '}')
      return false;
  }
  return true;
}

net::awaitable<std::variant<user, auth_failure>> authenticator::verify(
    std::string_view token) const {
  using k = auth_failure::kind;
  if (token.empty()) co_return auth_failure{k::missing, "Not authenticated"};
  auto checked = verify_hs256(token, secret_, now_s());
  if (auto* e = std::get_if<jwt_error>(&checked))
    co_return auth_failure{e->type == jwt_error::kind::expired ? k::expired : k::invalid,
                           e->type == jwt_error::kind::expired ? "Token expired" : "Invalid token"};
  const auto& claims = std::get<boost::json::object>(checked);
  user u;
  auto id = claims.if_contains("id");
  if (!id || !id->is_string() || !check_claim_text(id->as_string()))
    co_return auth_failure{k::invalid, "Invalid token"};
  u.id = id->as_string();
  if (auto jti = claims.if_contains("jti"); jti && jti->is_string()) {
    if (!check_claim_text(jti->as_string())) co_return auth_failure{k::invalid, "Invalid token"};
    u.jti = jti->as_string();
  }
  u.iat = number_claim(claims, "iat");
  u.exp = number_claim(claims, "exp");
  auto revoked = co_await revocations_->is_revoked(u);
  if (!revoked) co_return auth_failure{k::unavailable, "Authentication backend unavailable"};
  if (*revoked) co_return auth_failure{k::revoked, "Token revoked"};
  co_return u;
}

std::string authenticator::mint(const std::string& id,
                                std::optional<std::chrono::seconds> expires_in) const {
  boost::json::object c;
  c["id"] = id;
  c["jti"] = base::uuid4();
  const auto now = now_s();
  c["iat"] = now;
  if (expires_in) c["exp"] = now + expires_in->count();
  return sign_hs256(c, secret_);
}

}  // namespace owcore::coord::auth
