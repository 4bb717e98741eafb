#pragma once
// The session store's key schema: one key, Open WebUI's (docs/wire.md, "Sessions"), matched
// exactly.
//
// starsessions' RedisStore is built with prefix "P:session:" ("session:" when P is empty) and
// stores `prefix + id` as a string holding the session JSON. owcore adds no side keys: the
// delete-versus-late-write race is closed with compare-and-set scripts on this one key
// (session_store.hpp), so there is nothing a Python reader could trip over.

#include "owcore/coord/sessions/session_id.hpp"

#include <string>
#include <string_view>

namespace owcore::coord::sessions::keys {

/// String: the session JSON (session_data.hpp). `P:session:<id>`, or `session:<id>` when the
/// prefix P (REDIS_KEY_PREFIX) is empty. Takes a validated id only (session_id.hpp).
inline std::string session(std::string_view P, const session_id& id) {
  std::string k;
  k.reserve(P.size() + 9 + session_id::length);
  if (!P.empty()) {
    k.append(P);
    k.push_back(':');
  }
  k.append("session:");
  k.append(id.str());
  return k;
}

}  // namespace owcore::coord::sessions::keys
