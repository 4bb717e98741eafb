#pragma once
// The `owui-session` cookie on the wire (docs/wire.md, "Sessions"): reading it from a request the
// way Starlette does, and writing Set-Cookie exactly as starsessions (Redis mode) or Starlette's
// SessionMiddleware (signed mode) write it. The session logic itself lives in
// coord/sessions/session_service.hpp; this file only translates between it and HTTP.
//
// Set-Cookie, per mode (`; secure` only with WEBUI_SESSION_COOKIE_SECURE=true):
//   Redis, set:    owui-session=<id>; path=/; httponly; samesite=<v>[; secure]   (no Max-Age)
//   Redis, clear:  owui-session=''; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT; httponly;
//                  samesite=<v>[; secure]
//   signed, set:   owui-session=<signed>; path=/; Max-Age=1209600; httponly; samesite=<v>[; secure]
//   signed, clear: owui-session=null; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT; httponly;
//                  samesite=<v>[; secure]

#include "owcore/coord/backend.hpp"
#include "owcore/coord/sessions/session_service.hpp"
#include "owcore/http/router.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace owcore::http {

/// Session settings; `app` fills them from `settings` (docs/wire.md, "Sessions").
struct session_options {
  /// ENABLE_STAR_SESSIONS_MIDDLEWARE=true (and an App Redis, as Python falls back to the signed
  /// cookie without one): sessions in `P:session:<id>`. Otherwise the signed cookie.
  bool redis_mode = false;
  /// WEBUI_SECRET_KEY (resolved). Required in signed mode; unused in Redis mode.
  std::string secret_key;
  std::string same_site = "lax";  ///< WEBUI_SESSION_COOKIE_SAME_SITE, written as given
  bool secure = false;            ///< WEBUI_SESSION_COOKIE_SECURE: adds `; secure`
  /// Redis mode: TTL of every write and read (starsessions' gc_ttl, 30 days).
  std::chrono::seconds redis_ttl{30 * 24 * 3600};
  /// Signed mode: signature age limit and the cookie's Max-Age (Starlette's 14 days).
  std::chrono::seconds cookie_max_age{14 * 24 * 3600};
  std::string cookie_name = "owui-session";
  /// Redis mode: largest session JSON owcore writes (bytes).
  std::size_t max_session_bytes = 64 * 1024;
  /// Signed mode: largest cookie value owcore writes (browsers drop cookies over 4096 bytes).
  std::size_t max_cookie_bytes = 4000;
  /// Top-level keys that PATCH /api/owcore/session may not write (400). The default protects
  /// Authlib's OAuth state (`_state_<provider>_<state>`), which clients must not forge;
  /// `__metadata__` is always reserved.
  std::vector<std::string> reserved_key_prefixes{"_state_"};
};

/// Parses a Cookie header value like Starlette's `cookie_parser`: split on ';', then on the first
/// '=', trim whitespace, unquote a "quoted" value (Python's http.cookies rules), and let a later
/// cookie of the same name win. Returns the value of `name`, nullopt if absent. Never throws
/// except std::bad_alloc.
std::optional<std::string> parse_request_cookie(std::string_view header, std::string_view name);

/// Reads and writes the session cookie around a coord::sessions::session_service. Immutable after
/// construction; safe to use from any thread.
class session_middleware {
 public:
  /// `service` must not be null.
  session_middleware(session_options options,
                     std::shared_ptr<coord::sessions::session_service> service);

  const session_options& options() const noexcept { return opts_; }
  const std::shared_ptr<coord::sessions::session_service>& service() const noexcept {
    return service_;
  }

  /// The session cookie of `req` (from its first Cookie header, as Starlette reads it).
  std::optional<std::string> cookie(const request& req) const;

  /// The Set-Cookie value for `change` in this mode; empty for cookie_action::keep.
  std::string set_cookie(const coord::sessions::cookie_change& change) const;

  /// Appends the Set-Cookie header for `change` to `res` (nothing for keep).
  void apply(response& res, const coord::sessions::cookie_change& change) const;

 private:
  session_options opts_;
  std::shared_ptr<coord::sessions::session_service> service_;
  std::string flags_;  // "httponly; samesite=<v>[; secure]"
};

/// Builds the middleware and its service: Redis mode uses `redis` (the App Redis and
/// REDIS_KEY_PREFIX) or, when it is nullopt, the in-memory store; signed mode uses
/// `options.secret_key`. Throws std::invalid_argument for signed mode without a secret key.
/// The secret is handed to the service (which keeps only the derived signing key) and is not
/// kept in the middleware's options().
std::shared_ptr<session_middleware> make_session_middleware(
    session_options options, std::optional<coord::redis_backend> redis);

}  // namespace owcore::http
