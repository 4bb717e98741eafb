#pragma once
// The auth key schema (docs/wire.md, "Tokens and revocation"). Keys are built only from claims of a
// token whose signature has been verified, and only after check_claim_text() accepted them.

#include <string>
#include <string_view>

namespace owcore::coord::auth::keys {

/// `P:auth:token:<jti>:revoked` = "1", TTL = the token's remaining lifetime.
inline std::string token_revoked(std::string_view prefix, std::string_view jti) {
  return std::string(prefix) + ":auth:token:" + std::string(jti) + ":revoked";
}

/// `P:auth:user:<id>:revoked_at` = decimal epoch seconds, TTL 30 days.
inline std::string user_revoked_at(std::string_view prefix, std::string_view user_id) {
  return std::string(prefix) + ":auth:user:" + std::string(user_id) + ":revoked_at";
}

}  // namespace owcore::coord::auth::keys
