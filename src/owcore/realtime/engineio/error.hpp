#pragma once
// The Engine.IO layer's error codes: one enum, one category. Codecs and the session
// state machine report problems as these values; the HTTP and WebSocket shells map them onto
// status codes and close reasons.

#include <boost/system/error_code.hpp>

#include <type_traits>

namespace owcore::realtime::engineio {

/// Errors of the Engine.IO protocol layer.
enum class error {
  bad_packet = 1,        ///< an empty packet or an unknown packet type digit
  bad_base64,            ///< a `b`-prefixed polling packet that is not valid base64
  too_many_packets,      ///< a polling payload holds more packets than allowed
  payload_too_large,     ///< a polling body or WebSocket message exceeds max_payload
  unknown_transport,     ///< `transport` is missing, unknown, or disabled on this server
  unsupported_version,   ///< `EIO` is missing or not 4
  unknown_sid,           ///< no open session has this id
  bad_handshake_method,  ///< a handshake (no sid) that is not a GET
  bad_request,           ///< a request the session's state does not allow (duplicate GET, ...)
  forbidden_origin,      ///< the Origin header is not in the allowed list
  too_many_sessions,     ///< the server's session limit is reached
  queue_overflow,        ///< a session's outbound queue passed its limit
};

/// The category of `engineio::error`; a function-local static, safe from any thread.
const boost::system::error_category& engineio_category() noexcept;

/// Makes `engineio::error` values usable as `boost::system::error_code`.
inline boost::system::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), engineio_category()};
}

}  // namespace owcore::realtime::engineio

template <>
struct boost::system::is_error_code_enum<owcore::realtime::engineio::error> : std::true_type {};
