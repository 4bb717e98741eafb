#pragma once
// The Socket.IO layer's error codes: decoding and type-check failures, which close
// the offending client, and the outcomes of server-to-client acknowledgements.

#include <boost/system/error_code.hpp>

#include <type_traits>

namespace owcore::realtime::socketio {

/// Errors of the Socket.IO layer.
enum class error {
  // --- malformed input (the client is disconnected) ---
  bad_packet_type = 1,     ///< empty packet or a type digit outside 0-6
  bad_attachment_count,    ///< a binary packet without a valid "<n>-" attachment count
  too_many_attachments,    ///< the declared attachment count exceeds the limit
  attachments_too_large,   ///< the attachments of one packet exceed the byte limit
  bad_namespace,           ///< a namespace that is too long
  bad_ack_id,              ///< an acknowledgement id that is too long
  bad_json,                ///< the payload is not valid JSON (or nests too deep)
  bad_payload,             ///< the payload has the wrong shape for the packet type
  bad_event_name,          ///< an event whose name is not a string
  reserved_event,          ///< a client sent an event name reserved for the server
  bad_placeholder,         ///< an attachment placeholder whose index is not a valid integer
  unexpected_binary,       ///< a binary message while no attachment was expected
  unexpected_text,         ///< a text message while attachments were still expected
  unexpected_packet,       ///< a packet type a client may not send (CONNECT_ERROR)
  // --- acknowledgements ---
  ack_timeout,             ///< the client did not acknowledge in time
  disconnected,            ///< the socket disconnected before acknowledging
  no_such_socket,          ///< no connected socket has this id (on this instance)
  too_many_pending_acks,   ///< the socket already has the maximum of unanswered calls
};

/// The category of `socketio::error`; a function-local static, safe from any thread.
const boost::system::error_category& socketio_category() noexcept;

/// Makes `socketio::error` values usable as `boost::system::error_code`.
inline boost::system::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), socketio_category()};
}

}  // namespace owcore::realtime::socketio

template <>
struct boost::system::is_error_code_enum<owcore::realtime::socketio::error> : std::true_type {};
