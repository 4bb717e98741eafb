#pragma once
// The start-up/readiness probe: "can this process reach the Redis it is configured for?" for all
// three topologies, with a reason an operator can act on when it cannot (docs/redis.md).

#include "owcore/net/executor.hpp"
#include "owcore/redis/inspect.hpp"

#include <boost/system/error_code.hpp>

#include <string>

namespace owcore::redis {

/// What to probe: the deployment as the inspector describes it (redis/inspect.hpp).
using probe_options = inspect_options;

/// The outcome of a probe. `ok` false means unreachable or misconfigured; `error` then says why
/// (never containing a password) and `code` is its error code.
struct probe_report {
  bool ok = false;
  std::string error;
  boost::system::error_code code;
  std::string address;    ///< "host:port" of the node that answered PING (the master)
  double latency_ms = 0;  ///< PING round trip
};

/// Connects as configured and PINGs once, through the inspector's node inspection. Sentinel: asks the sentinels for the master (first answer
/// wins, the next sentinel is tried on a transport or server error; a sentinel that does not know
/// the service ends the probe), then checks that ROLE on it says master.
net::awaitable<probe_report> probe(probe_options opts);

}  // namespace owcore::redis
