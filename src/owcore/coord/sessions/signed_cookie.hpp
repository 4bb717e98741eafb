#pragma once
// The signed session cookie of Starlette's SessionMiddleware, used when the Redis session store
// is off (docs/wire.md, "Signed cookie"). Sans-io: bytes and the current time in, values out.
//
// Format, written from the itsdangerous 2.2 and Starlette descriptions:
//   cookie    = payload "." timestamp "." signature
//   payload   = standard base64 (with '=' padding) of the session's UTF-8 JSON object
//   timestamp = URL-safe base64 without padding of the signing time (Unix seconds) as a
//               big-endian integer with its leading zero bytes removed
//   signature = URL-safe base64 without padding of HMAC-SHA1(key, payload "." timestamp)
//   key       = SHA1(salt + "signer" + secret)  (itsdangerous' "django-concat" derivation;
//               Starlette keeps TimestampSigner's default salt "itsdangerous.Signer")
// Starlette accepts the cookie for max_age = 14 days; itsdangerous also rejects a timestamp in
// the future (negative age). The secret is WEBUI_SECRET_KEY as UTF-8 bytes.

#include "owcore/coord/sessions/error.hpp"

#include <boost/json/object.hpp>
#include <boost/system/result.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace owcore::coord::sessions {

/// Base64 of `bytes`: the standard alphabet with '=' padding (`url_safe` false), or the URL-safe
/// alphabet ('-', '_') without padding (`url_safe` true), as itsdangerous writes it.
std::string base64_encode(std::string_view bytes, bool url_safe);

/// Strict inverse of base64_encode: only the chosen alphabet; padding required (standard) or
/// forbidden (URL-safe); non-zero trailing bits rejected, so every input has one decoding.
/// Returns nullopt for anything else.
std::optional<std::string> base64_decode(std::string_view text, bool url_safe);

/// itsdangerous' TimestampSigner with HMAC-SHA1 and django-concat key derivation.
/// Immutable after construction; safe to share between threads. The derived key is wiped on
/// destruction.
class timestamp_signer {
 public:
  /// itsdangerous' default salt (Signer and TimestampSigner, as Starlette uses them).
  static constexpr std::string_view default_salt = "itsdangerous.Signer";

  explicit timestamp_signer(std::string_view secret_key, std::string_view salt = default_salt);
  ~timestamp_signer();
  timestamp_signer(const timestamp_signer&) = default;
  timestamp_signer& operator=(const timestamp_signer&) = default;

  /// `value "." timestamp "." signature` for a signature made at `timestamp` (Unix seconds,
  /// >= 0). Any bytes, including none, are signed as given.
  std::string sign(std::string_view value, std::int64_t timestamp) const;

  /// Verifies `signed_value` and returns the `value` part (a view into `signed_value`).
  /// Errors: malformed_cookie (fewer than two '.', a timestamp that is not canonical URL-safe
  /// base64 of at most 8 bytes), bad_signature, expired (`now - timestamp` above `max_age`, or
  /// below zero; no age check when `max_age` is nullopt). The signature is compared in
  /// constant time against the canonical encoding; non-canonical spellings are rejected.
  boost::system::result<std::string_view> unsign(std::string_view signed_value, std::int64_t now,
                                                 std::optional<std::int64_t> max_age) const;

  /// The URL-safe base64 HMAC of `value` (27 characters).
  std::string signature(std::string_view value) const;

 private:
  std::array<unsigned char, 20> key_{};
};

/// Starlette's cookie for session `data`: base64 of its JSON, signed at `now`. The JSON is
/// compact (Python's json.loads reads it the same as its own spelling).
std::string encode_session_cookie(const timestamp_signer& signer, const boost::json::object& data,
                                  std::int64_t now);

/// Verifies and decodes a cookie value written by Starlette or encode_session_cookie.
/// Errors: those of unsign(), and bad_payload when the verified payload is not base64 of a JSON
/// object (Starlette would raise there; owcore treats it as no session).
boost::system::result<boost::json::object> decode_session_cookie(const timestamp_signer& signer,
                                                                 std::string_view cookie,
                                                                 std::int64_t now,
                                                                 std::int64_t max_age);

}  // namespace owcore::coord::sessions
