#pragma once
// The set-up request sent on every new Redis connection, and the check of its replies, written
// once for node connections, subscribers, Sentinel queries and the start-up probe
// (docs/redis.md). Sans-io: options in, a request out; replies in, an error_info out.
//
// The steps are pipelined in one write: AUTH (when a password is set), SELECT (db != 0),
// CLIENT SETNAME (when a name is set), ROLE (when a master is required), and PING when asked to
// confirm the connection and nothing else is sent. The first failing step decides; later steps fail only as a consequence (NOAUTH after a refused AUTH).

#include "owcore/redis/error.hpp"
#include "owcore/redis/protocol/request.hpp"

#include <boost/system/error_code.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace owcore::redis {

/// Credentials for AUTH. An empty password means no AUTH; an empty username with a password
/// means the legacy single-argument `AUTH password`.
struct credentials {
  std::string username;
  std::string password;
};

/// What to set up on a new connection.
struct setup_options {
  credentials auth;
  int db = 0;                   ///< SELECT db when non-zero (pass 0 for Cluster and pub/sub)
  std::string client_name;      ///< CLIENT SETNAME when non-empty
  bool require_master = false;  ///< ROLE must say "master" (Sentinel: the answer may be stale)
  /// Make at least one round trip (PING when no other step is sent). TLS connections set it: a
  /// TLS 1.3 server refuses a client certificate only after the handshake, so the refusal should
  /// show here, worded as a connect failure, not on the first caller's request.
  bool confirm = false;
};

/// One step of the set-up pipeline.
enum class setup_step { auth, select, set_name, role, ping };

/// The composed set-up: the request to write (possibly empty: nothing to do) and which step each
/// of its commands is. A value type.
struct setup_request {
  request req;
  std::vector<setup_step> steps;
  int db = 0;  ///< for the wording of a SELECT failure
  bool empty() const noexcept { return steps.empty(); }
};

/// Composes the set-up pipeline for `opts`. Pure, thread-safe.
setup_request compose_setup_request(const setup_options& opts);

/// Checks the replies to `setup` (one per command, in order) from the node `peer` ("host:port").
/// Returns a clear error_info on success, else the first failing step:
///   auth_failed    "AUTH to <peer> refused: <server text>"
///   server_error   "SELECT <db> on <peer> refused: ..." / "CLIENT SETNAME on <peer> refused: ..."
///   not_master     "node <peer> named by the sentinels is not a master (ROLE)"
///   auth_failed    "PING to <peer> refused: NOAUTH ..." (a confirming PING without credentials)
///   protocol_error when the number of replies does not match.
/// Pure, thread-safe.
error_info check_setup(const setup_request& setup, const response& replies,
                       std::string_view peer);

/// A set-up failure read back: where it stopped and, for a refusal, the server's own words.
struct setup_failure {
  enum class stage { connect, transport, refused };
  stage at = stage::transport;
  setup_step step = setup_step::auth;  ///< for `refused`: the step the server refused
  std::string server_text;             ///< for `refused`: the error reply ("" for ROLE)
};

/// Reads back a failure of io::open_node (the wordings of connect_failure,
/// setup_transport_failure and check_setup, all written in this file) for callers that word
/// failures their own way (`owcore doctor`'s findings). Pure, thread-safe.
setup_failure read_setup_failure(const error_info& e);

/// The wording of a failed connect (TCP, TLS or resolution): "cannot connect to <peer>: <why>".
/// This is the text of the start-up error line (docs/redis.md), kept byte-stable.
error_info connect_failure(std::string_view peer, boost::system::error_code ec);

/// The wording of a transport failure (timeout, drop) while the set-up pipeline was in flight:
/// "set-up of <peer> failed: <why>".
error_info setup_transport_failure(std::string_view peer, boost::system::error_code ec);

}  // namespace owcore::redis
