#pragma once
// Authentication of HTTP requests: the token comes from `Authorization: Bearer <jwt>` or the
// `token` cookie, exactly where Open WebUI looks for it.

#include "owcore/coord/identity/identity_service.hpp"
#include "owcore/http/router.hpp"

#include <optional>
#include <string_view>
#include <variant>

namespace owcore::http {

/// The bearer token of `req` (Authorization header first, then the `token` cookie); empty if none.
std::string_view request_token(const request& req) noexcept;

/// The value of cookie `name` in the request's Cookie headers; nullopt if absent.
std::optional<std::string_view> request_cookie(const request& req, std::string_view name) noexcept;

/// The verified caller, or the response to send instead: 401 (missing, invalid, expired, revoked
/// token; no user row, an incomplete row or a role other than user/admin), 403 (not an admin
/// when `admin_only`; the role is the database's, at most the identity cache TTL old), 503 (the
/// revocation store or the database cannot answer: fail closed).
net::awaitable<std::variant<coord::identity::caller, response>> authenticate(
    const request& req, coord::identity::identity_service& identity, bool admin_only = false);

}  // namespace owcore::http
