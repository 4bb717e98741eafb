#pragma once
// Redis Sentinel, sans-io (docs/redis.md): parsing the replies owcore reads from sentinels and
// masters (SENTINEL GET-MASTER-ADDR-BY-NAME, `+switch-master` messages, ROLE), and the failover
// decision of the Sentinel client: when a request is retried, and when the connection must be
// moved to the master the sentinels name now. Values in, values out; no I/O.

#include "owcore/redis/error.hpp"
#include "owcore/redis/protocol/address.hpp"
#include "owcore/redis/protocol/request.hpp"
#include "owcore/redis/protocol/resp.hpp"

#include <boost/system/error_code.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace owcore::redis {

/// A sentinel's answer to `SENTINEL GET-MASTER-ADDR-BY-NAME <service>`: the master's address, or
/// why there is none. `err` codes and details (`<sentinel>` is the address asked):
///   server_error    "<sentinel>: <server text>"            (an error reply, e.g. NOAUTH)
///   unknown_master  "sentinel <sentinel> does not know a master named '<service>'" (nil, other shape)
///   protocol_error  "<sentinel>: malformed master address" (port not in 1..65535)
struct master_answer {
  error_info err;
  address master;
};

/// Parses the reply `r` of the sentinel at `sentinel` about `service`. Pure, thread-safe.
master_answer parse_master_answer(const reply& r, std::string_view service,
                                  std::string_view sentinel);

/// A `+switch-master` message: "<name> <old-ip> <old-port> <new-ip> <new-port>".
struct switch_master {
  std::string name;
  address from;
  address to;
};

/// Parses a `+switch-master` payload; nullopt when it has another shape. Pure, thread-safe.
std::optional<switch_master> parse_switch_master(std::string_view payload);

/// The first elements of a ROLE reply: "master", "slave" (with the master's address) or
/// "sentinel".
struct role_reply {
  std::string name;
  std::optional<address> master;  ///< for "slave": the master it replicates
};

/// Parses a ROLE reply; nullopt for an error reply or another shape. Pure, thread-safe.
std::optional<role_reply> parse_role(const reply& r);

/// What the Sentinel client does after one attempt of a request.
enum class sentinel_verdict {
  done,                 ///< hand the outcome to the caller
  retry,                ///< try again on the same connection (it was never written)
  reconnect_and_retry,  ///< the node is a replica now (READONLY): re-resolve the master, retry
};

/// The Sentinel client's retry and failover decision (docs/redis.md), for attempt `attempt`
/// (1-based) of at most `max_attempts`: READONLY in any reply means the master was demoted, so
/// reconnect through the sentinels and retry; net::error::timeout means the request never got a
/// usable connection (never written), so retry. unknown_outcome and every other outcome are done:
/// a request that may have run is never re-sent. Pure, thread-safe.
sentinel_verdict judge_sentinel_attempt(boost::system::error_code ec, const response& replies,
                                        int attempt, int max_attempts);

/// True when `m` reports a failover of `service`: every connection to that service's master must
/// reconnect (and re-resolve) at once instead of waiting for an error.
bool is_failover_of(const switch_master& m, std::string_view service) noexcept;

}  // namespace owcore::redis
