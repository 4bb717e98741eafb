#pragma once
// Authentication of HTTP requests: the token comes from `Authorization: Bearer <jwt>` or the
// `token` cookie, exactly where Open WebUI looks for it.

#include "owcore/coord/auth/authenticator.hpp"
#include "owcore/http/router.hpp"

#include <optional>
#include <string_view>
#include <variant>

namespace owcore::http {

/// The bearer token of `req` (Authorization header first, then the `token` cookie); empty if none.
std::string_view request_token(const request& req) noexcept;

/// The value of cookie `name` in the request's Cookie headers; nullopt if absent.
std::optional<std::string_view> request_cookie(const request& req, std::string_view name) noexcept;

/// The verified user, or the response to send instead: 401 (missing, invalid, expired, revoked
/// token), 403 (not an admin when `admin_only`), 503 (revocation store unavailable: fail closed).
net::awaitable<std::variant<coord::auth::user, response>> authenticate(
    const request& req, const coord::auth::authenticator& auth, bool admin_only = false);

}  // namespace owcore::http
