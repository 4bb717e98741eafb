#pragma once
// Readiness: "can this instance serve requests that need its shared state?" The HTTP layer asks
// this service; it never talks to Redis itself (docs/architecture.md, layers).

#include "owcore/net/executor.hpp"
#include "owcore/redis/client.hpp"

#include <chrono>
#include <memory>
#include <string>

namespace owcore::coord {

/// The answer of one readiness check.
struct readiness_report {
  bool ready = false;
  std::string reason;   ///< why not ready; empty when ready
};

/// A readiness check. Implementations must allow concurrent `check()` calls from any executor.
class readiness {
 public:
  virtual ~readiness() = default;
  /// Performs the check; completes within the implementation's own deadline.
  virtual net::awaitable<readiness_report> check() = 0;
};

/// The in-memory backend: nothing shared to wait for, always ready.
std::shared_ptr<readiness> make_memory_readiness();

/// Ready when the App Redis client answers PING within `timeout` (through its own topology
/// handling: the current Sentinel master, any Cluster master).
std::shared_ptr<readiness> make_redis_readiness(std::shared_ptr<redis::client> app,
                                                std::chrono::steady_clock::duration timeout =
                                                    std::chrono::seconds(2));

}  // namespace owcore::coord
