#pragma once
// The topology a Redis client is configured for.

#include <string_view>

namespace owcore::redis {

/// Standalone, Sentinel or Cluster (precedence when several are configured: Sentinel, Cluster,
/// standalone; see docs/redis.md).
enum class topology { standalone, sentinel, cluster };

/// Returns "standalone", "sentinel" or "cluster".
std::string_view to_string(topology t) noexcept;

}  // namespace owcore::redis
