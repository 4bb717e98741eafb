#pragma once
// What a coordination service needs to run on Redis. Every service has a memory backend (one
// process, no Redis) and a Redis backend built from this; both pass the same tests.

#include "owcore/redis/client.hpp"

#include <memory>
#include <string>

namespace owcore::coord {

/// A Redis client (App or WS, docs/wire.md, "Redis clients") and the key prefix P
/// (REDIS_KEY_PREFIX). Copyable.
struct redis_backend {
  std::shared_ptr<redis::client> client;
  std::string prefix = "open-webui";
};

}  // namespace owcore::coord
