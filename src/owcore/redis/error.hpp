#pragma once
// The `redis` layer's error codes: one enum, one category.

#include <boost/system/error_code.hpp>

#include <string>
#include <string_view>
#include <type_traits>

namespace owcore::redis {

/// Errors produced by owcore's Redis code. Server error replies (`-ERR ...`) are values in
/// `reply`, not error codes; `server_error` is used where a service turns one into a failure.
enum class error {
  invalid_url = 1,      ///< the URL is not a redis://, rediss:// or unix:// URL redis-py accepts
  protocol_error,       ///< the byte stream is not valid RESP2
  reply_too_large,      ///< a reply exceeded the configured size limit
  server_error,         ///< the server answered with an error reply
  auth_failed,          ///< AUTH was refused
  not_master,           ///< ROLE says the node is not the master it should be
  no_sentinel,          ///< no sentinel answered
  unknown_master,       ///< the sentinels do not know the service name
  connection_closed,    ///< the connection closed before the reply arrived
  unknown_outcome,      ///< written, then the connection dropped: it may or may not have run
  queue_full,           ///< the connection's request queue is at its limit
  stopped,              ///< the client was stopped
  cross_slot,           ///< a Cluster request's keys span several hash slots (nothing was sent)
  no_route,             ///< Cluster: no node is known to serve the slot
  too_many_redirects,   ///< Cluster: MOVED/ASK/TRYAGAIN kept coming past the retry budget
  unexpected_reply,     ///< a reply arrived that no request was waiting for
  out_of_memory,        ///< an OOM error reply: maxmemory reached under a noeviction policy
  no_permission,        ///< a NOPERM error reply: the ACL user lacks a command, key or channel
  read_only,            ///< a READONLY error reply: the node is a replica
};

/// The category of `redis::error`; safe to call from any thread.
const boost::system::error_category& redis_category() noexcept;

inline boost::system::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), redis_category()};
}

/// The code for an error reply whose text is `message` ("OOM command not allowed ...", "NOPERM
/// ...", "READONLY ..."): out_of_memory, no_permission or read_only by its first word, else
/// server_error. For services that turn an error reply into a failure, so that the cause reaches
/// the log and the caller. Pure.
boost::system::error_code reply_error(std::string_view message) noexcept;

/// A failure of the Redis layer: a code to branch on and a one-line detail for people (the peer,
/// the step and the server's words; never a password). A clear `ec` means success and an empty
/// detail. A value type.
struct error_info {
  boost::system::error_code ec;
  std::string detail;
  explicit operator bool() const noexcept { return static_cast<bool>(ec); }
};

}  // namespace owcore::redis

template <>
struct boost::system::is_error_code_enum<owcore::redis::error> : std::true_type {};
