#pragma once
// One Redis client interface over the three topologies: standalone, Sentinel and
// Cluster are data chosen by configuration, behind `client::exec`. Services build requests and
// never know which topology serves them.

#include "owcore/net/executor.hpp"
#include "owcore/redis/io/connection.hpp"
#include "owcore/redis/error.hpp"
#include "owcore/redis/topology.hpp"
#include "owcore/redis/protocol/request.hpp"
#include "owcore/redis/io/subscriber.hpp"
#include "owcore/redis/url.hpp"

#include <boost/system/error_code.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace spdlog {
class logger;
}

namespace owcore::redis {

/// Everything needed to build a client of any topology (the App or the WS client; docs/redis.md).
struct client_options {
  topology topo = topology::standalone;
  url_config node;                      ///< standalone node, Cluster seed, or (Sentinel) the
                                        ///< master's credentials/db/TLS
  std::vector<address> sentinels;       ///< Sentinel mode: every sentinel
  std::string service_name = "mymaster";
  credentials sentinel_auth;            ///< AUTH to the sentinels themselves
  std::vector<address> extra_seeds;     ///< Cluster: further seed nodes besides `node`

  /// Sentinel retry contract (docs/redis.md, protocol/sentinel.hpp): total attempts per request on READONLY, timeouts and
  /// connection errors that are safe to retry (REDIS_SENTINEL_MAX_RETRY_COUNT, at least 1).
  int max_attempts = 2;
  /// Sleep between those attempts (REDIS_RECONNECT_DELAY, milliseconds in the variable).
  std::chrono::steady_clock::duration retry_delay = std::chrono::milliseconds(0);

  std::chrono::steady_clock::duration connect_timeout = std::chrono::seconds(5);
  std::chrono::steady_clock::duration reply_timeout = std::chrono::seconds(30);
  /// How long a request may wait for a usable connection (a failover in progress). The default
  /// rides out Redis's default Sentinel failover (down-after 30 s plus the election).
  std::chrono::steady_clock::duration queue_timeout = std::chrono::seconds(60);
  std::chrono::steady_clock::duration health_check_interval = std::chrono::seconds(0);
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_cap{5000};
  std::size_t max_queued = 100000;

  std::shared_ptr<spdlog::logger> log;
  std::string name = "redis";           ///< "app" or "ws": prefixes log lines
};

/// What a client knows about one node right now (for `owcore doctor` and logs).
struct node_status {
  std::string address;                  ///< "host:port"
  std::string role;                     ///< "master" or "replica" (as far as known)
  bool connected = false;
  std::vector<std::pair<int, int>> slots;  ///< Cluster: owned slot ranges
};

/// A Redis client. Thread-safe: every member may be called from any thread or executor.
class client {
 public:
  virtual ~client() = default;

  /// Starts connecting in the background (and the Sentinel switch-master watcher).
  virtual void start() = 0;
  /// Stops every connection and subscriber it made; pending requests fail with error::stopped.
  virtual void stop() = 0;

  /// Runs `req` on the right node and completes with one reply per command, or an error:
  /// cross_slot (Cluster, nothing sent), unknown_outcome (written, then the connection dropped and
  /// the request is not idempotent), net::error::timeout (no usable connection within
  /// queue_timeout, or no reply within reply_timeout), stopped. Server error replies are values.
  virtual net::awaitable<std::pair<boost::system::error_code, response>> exec(request req) = 0;

  /// A new supervised subscriber on its own connection, following the topology: the standalone
  /// node, the current Sentinel master, or (Cluster) any master for SUBSCRIBE/PSUBSCRIBE, or the
  /// owner of `shard_channel`'s slot when it is non-empty (for SSUBSCRIBE of that channel and
  /// others in the same slot). Add subscriptions, then start() it.
  virtual std::shared_ptr<subscriber> make_subscriber(message_handler on_message,
                                                      std::string log_name,
                                                      std::string shard_channel) = 0;

  virtual topology topo() const noexcept = 0;

  /// The nodes as currently known (cheap; no network).
  virtual std::vector<node_status> nodes() const = 0;

  /// Convenience: one command, one reply; a transport error is returned as `ec`.
  net::awaitable<std::pair<boost::system::error_code, reply>> exec_one(request req);
};

/// Builds a client for `opts.topo`. Nothing connects until start().
std::shared_ptr<client> make_client(net::executor ex, client_options opts);

/// Asks `sentinels` in order for the master of `service` (protocol/sentinel.hpp parses each
/// answer). Returns the address, or no_sentinel with a detail saying what every sentinel answered.
/// Used by the Sentinel client.
net::awaitable<std::pair<error_info, address>> resolve_master(
    const std::vector<address>& sentinels, const std::string& service, const credentials& auth,
    const net::tls_options& tls, std::chrono::steady_clock::duration timeout);

}  // namespace owcore::redis
