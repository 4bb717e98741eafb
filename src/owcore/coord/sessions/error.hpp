#pragma once
// The session service's error codes. Store transport failures keep their own
// categories (owcore.redis, owcore.net); these are the session-level outcomes.

#include <boost/system/error_code.hpp>

#include <type_traits>

namespace owcore::coord::sessions {

/// Errors produced by the session code. The first four only come out of the sans-io signed
/// cookie functions; a service turns them into "no session" and never returns them.
enum class error {
  malformed_cookie = 1,  ///< signed cookie: missing separators, bad base64 or timestamp
  bad_signature,         ///< signed cookie: the HMAC does not match WEBUI_SECRET_KEY
  expired,               ///< signed cookie: older than the maximum age, or dated in the future
  bad_payload,           ///< signed cookie: the signature holds but the payload is not
                         ///< base64 of a JSON object
  bad_session_data,      ///< stored JSON is malformed or not an object
  reserved_key,          ///< a write tried to set `__metadata__` (or a caller-reserved key)
  too_large,             ///< the encoded session would exceed the configured size limit
  deleted,               ///< the session was deleted concurrently; the write was not applied
  contention,            ///< the value kept changing under us; retry budget exhausted
  unexpected_reply,      ///< the store answered with a reply of the wrong type
};

/// The category of `sessions::error`; safe to call from any thread.
const boost::system::error_category& session_category() noexcept;

inline boost::system::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), session_category()};
}

}  // namespace owcore::coord::sessions

template <>
struct boost::system::is_error_code_enum<owcore::coord::sessions::error> : std::true_type {};
