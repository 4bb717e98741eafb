#pragma once
// The per-process client cache of Open WebUI's get_redis_connection (docs/redis.md): one client per
// (url, sentinels, cluster, decode_responses) key, created on first use and shared afterwards.
// Unlike Python's module-level dict, it is an object the application owns and stops at shutdown.

#include "owcore/redis/client.hpp"

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

namespace owcore::redis {

/// The cache key, as in Python: the URL string, the sentinel list, the cluster flag and the
/// decode flag (owcore always decodes, but keeps the flag so the key means the same).
struct client_key {
  std::string url;
  std::vector<address> sentinels;  ///< host and port of each sentinel
  bool cluster = false;
  bool decode_responses = true;
  friend auto operator<=>(const client_key&, const client_key&) = default;
};

/// Thread-safe cache of started clients.
class client_cache {
 public:
  explicit client_cache(net::executor ex) : ex_(std::move(ex)) {}
  ~client_cache() { stop_all(); }

  /// The client for `key`. On a miss, builds it from `make()` and starts it; later calls with an
  /// equal key return the same object (and do not call `make`).
  std::shared_ptr<client> get(const client_key& key, const std::function<client_options()>& make);

  /// Number of distinct clients created so far.
  std::size_t size() const;

  /// Stops every cached client (they stay in the cache, stopped). Idempotent.
  void stop_all();

 private:
  net::executor ex_;
  mutable std::mutex mutex_;
  std::map<client_key, std::shared_ptr<client>> clients_;
};

}  // namespace owcore::redis
