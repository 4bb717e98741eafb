#pragma once
// The key schema of the shared dicts and cleanup locks (docs/wire.md, "Shared dicts and locks"),
// in one place. Every name is Open WebUI's: `f"{REDIS_KEY_PREFIX}:<name>"`, no hash tag (the
// prefix is a raw string, docs/wire.md, "Redis keys"). Each dict and each lock is a single key, so
// every operation of this service touches exactly one key and runs on Redis Cluster as it is.

#include <string>
#include <string_view>

namespace owcore::coord::shared::keys {

/// Hash, field = Socket.IO sid, value = the user record JSON plus `last_seen_at`.
inline constexpr std::string_view session_pool = "session_pool";
/// Hash, field = model id, value = `{"<sid>": {"updated_at": <int epoch s>}, ...}`.
inline constexpr std::string_view usage_pool = "usage_pool";
/// Hash, field = model id, value = the model JSON; replaced in bulk (Python's `set(mapping)`).
inline constexpr std::string_view models = "models";
/// Suffix of a dict's signature key, "<prefix>:models:signature" for P:models (Open WebUI 0.11.1,
/// docs/wire.md): a string "<sha256 hex of the mapping>:<uuid4 hex>", no TTL. Python workers cache
/// P:models and refetch it only when this key is absent or changed, so every write of the hash
/// must delete it (or, for a whole replacement, set a new one).
inline constexpr std::string_view signature_suffix = ":signature";
/// String, value = the holder's owner token; TTL WEBSOCKET_REDIS_LOCK_TIMEOUT.
inline constexpr std::string_view usage_cleanup_lock = "usage_cleanup_lock";
/// String, value = the holder's owner token; TTL WEBSOCKET_REDIS_LOCK_TIMEOUT.
inline constexpr std::string_view session_cleanup_lock = "session_cleanup_lock";

/// The Redis key of `name` under `prefix`: "<prefix>:<name>", exactly Python's f-string (an empty
/// prefix yields ":<name>", as it does in Open WebUI).
inline std::string key(std::string_view prefix, std::string_view name) {
  std::string k;
  k.reserve(prefix.size() + 1 + name.size());
  k.append(prefix).append(1, ':').append(name);
  return k;
}

}  // namespace owcore::coord::shared::keys
