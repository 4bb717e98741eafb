#pragma once
// The start-up/readiness probe: "can this process reach the Redis it is configured for?" for all
// three topologies, with a reason an operator can act on when it cannot (docs/redis.md).

#include "owcore/net/executor.hpp"
#include "owcore/redis/io/basic_connection.hpp"
#include "owcore/redis/protocol/address.hpp"
#include "owcore/redis/topology.hpp"
#include "owcore/redis/url.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace owcore::redis {

/// What to probe. `node` is the standalone server, the cluster seed, or (Sentinel) the master's
/// credentials/db/TLS with its address discovered from `sentinels`.
struct probe_options {
  topology topo = topology::standalone;
  url_config node;
  std::vector<address> sentinels;
  std::string service_name = "mymaster";
  credentials sentinel_auth;
  std::chrono::steady_clock::duration timeout = std::chrono::seconds(5);  ///< per step
};

/// The outcome of a probe. `ok` false means unreachable or misconfigured; `error` then says why
/// (never containing a password) and `code` is its error code.
struct probe_report {
  bool ok = false;
  std::string error;
  boost::system::error_code code;
  std::string address;     ///< "host:port" of the node that answered PING (the master)
  double latency_ms = 0;   ///< PING round trip
};

/// Connects as configured and PINGs. Sentinel: asks the sentinels for the master (first answer
/// wins, the next sentinel is tried on a transport or server error; a sentinel that does not know
/// the service ends the probe), then checks that ROLE on it says master.
net::awaitable<probe_report> probe(probe_options opts);

}  // namespace owcore::redis
