#pragma once
// HS256 JSON Web Tokens as Open WebUI issues them (PyJWT; docs/wire.md, "Tokens and
// revocation"). Sans-io: strings in, values out. Only HS256 is accepted; "none" and every other
// algorithm are rejected.

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace owcore::coord::auth {

/// Why a token was refused. The text never echoes the token.
struct jwt_error {
  enum class kind { malformed, bad_algorithm, bad_signature, expired, bad_claims };
  kind type = kind::malformed;
  std::string message;
};

/// Signs `claims` with HS256 under `secret`: base64url(header).base64url(payload).base64url(sig).
std::string sign_hs256(const boost::json::object& claims, std::string_view secret);

/// Verifies `token`: three base64url parts, header alg HS256, constant-time signature check,
/// payload a JSON object, `exp` (when present) a number greater than `now`, `iat` (when present)
/// a number. Inputs longer than 8 KiB are refused. Pure; thread-safe.
std::variant<boost::json::object, jwt_error> verify_hs256(std::string_view token, std::string_view secret,
                                                          std::int64_t now_epoch_s);

/// Base64url without padding (RFC 4648 §5), as JWTs use it.
std::string base64url_encode(std::string_view bytes);
/// Decodes base64url with or without padding; nullopt on any invalid character or length.
std::optional<std::string> base64url_decode(std::string_view text);

/// Parses Open WebUI's duration syntax (JWT_EXPIRES_IN): "-1" (no expiry → nullopt duration
/// with ok=true), or one or more <number><unit> with units ms, s, m, h, d, w ("4w", "1h30m").
struct duration_parse {
  bool ok = false;
  std::optional<std::chrono::seconds> value;  ///< nullopt with ok = never expires
};
duration_parse parse_duration(std::string_view text);

}  // namespace owcore::coord::auth
