#pragma once
// A one-command-at-a-time Redis connection and the start-up/readiness probe built on it.
// The probe answers "can this process reach the Redis it is configured for?" for all three
// topologies, with a reason an operator can act on when it cannot.

#include "owcore/net/executor.hpp"
#include "owcore/net/stream.hpp"
#include "owcore/redis/resp.hpp"
#include "owcore/redis/url.hpp"

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace owcore::redis {

/// A single Redis connection that runs one request (one command or one pipeline) at a time.
/// For probes, Sentinel queries and diagnostics; the serving path uses the multiplexed client.
/// Not thread-safe; use from one strand. Every request has a deadline.
class basic_connection {
 public:
  explicit basic_connection(net::executor ex);

  /// Connects (within `opts.timeout`), then authenticates, selects `db` (when non-zero) and sets
  /// the client name (when non-empty). On failure returns a message naming the failed step.
  net::awaitable<std::string> open(const net::connect_options& opts, const credentials& auth,
                                   int db = 0, std::string_view client_name = {});

  /// Sends one command and waits for its reply, at most `timeout`. On a transport error or
  /// timeout the connection is closed and `ec` is set; server error replies are returned as
  /// replies of kind::error with `ec` clear.
  net::awaitable<std::pair<boost::system::error_code, reply>> exec(
      std::vector<std::string> args, std::chrono::steady_clock::duration timeout);

  void close() noexcept { stream_.close(); }
  bool is_open() const noexcept { return stream_.is_open(); }
  const std::string& peer() const noexcept { return stream_.peer(); }

 private:
  net::awaitable<boost::system::error_code> read_reply(reply& out);
  net::stream stream_;
  reply_parser parser_;
  std::string read_buf_;
};

/// The topology a client is configured for (SPEC §2.2 precedence: Sentinel, Cluster, standalone).
enum class topology { standalone, sentinel, cluster };

/// Returns "standalone", "sentinel" or "cluster".
std::string_view to_string(topology t) noexcept;

/// What to probe. `node` is the standalone server, the cluster seed, or (Sentinel) the master's
/// credentials/db/TLS with its address discovered from `sentinels`.
struct probe_options {
  topology topo = topology::standalone;
  url_config node;
  std::vector<std::pair<std::string, std::uint16_t>> sentinels;
  std::string service_name = "mymaster";
  credentials sentinel_auth;
  std::chrono::steady_clock::duration timeout = std::chrono::seconds(5);  ///< per step
};

/// The outcome of a probe. `ok` false means unreachable or misconfigured; `error` then says why
/// (never containing a password).
struct probe_report {
  bool ok = false;
  std::string error;
  std::string address;     ///< "host:port" of the node that answered PING (the master)
  double latency_ms = 0;   ///< PING round trip
};

/// Connects as configured and PINGs. Sentinel: asks the sentinels for the master (first answer
/// wins, the next sentinel is tried on error), then checks that ROLE on it says master.
net::awaitable<probe_report> probe(probe_options opts);

}  // namespace owcore::redis
