#pragma once
// The Yjs document store's key schema (docs/wire.md, "Yjs documents") in one place, and Open
// WebUI's two document-id normalizations.
//
// Every key below except `rejected` is Open WebUI's YdocManager key, matched byte for byte:
// `f"{REDIS_KEY_PREFIX}:ydoc:documents:{document_id}:..."` with `document_id.replace(':', '_')`.
// There is no hash tag (the prefix is a raw string), so the updates list, the users set
// and the per-sid index of one document generally live in different Cluster slots: every store
// operation that must be atomic touches exactly one of them.
//
// All functions are pure and thread-safe.

#include <string>
#include <string_view>

namespace owcore::coord::ydoc::keys {

/// The id used for authorization (docs/wire.md, "Yjs documents"): a leading `note_` becomes
/// `note:`, so that `note_<id>` cannot alias `note:<id>` past the note access check. Anything else
/// is unchanged.
inline std::string authorization_id(std::string_view document_id) {
  std::string id(document_id);
  if (id.starts_with("note_")) id[4] = ':';
  return id;
}

/// The id used inside keys and stored in the reverse index: every `:` becomes `_` (YdocManager's
/// `document_id.replace(':', '_')`), so `note:abc` is stored as `note_abc`. Idempotent.
inline std::string storage_id(std::string_view document_id) {
  std::string id(document_id);
  for (char& c : id)
    if (c == ':') c = '_';
  return id;
}

/// "<P>:ydoc:documents", YdocManager's `redis_key_prefix`.
inline std::string base(std::string_view prefix) {
  std::string k(prefix);
  k += ":ydoc:documents";
  return k;
}

/// List of the document's Yjs v1 updates, oldest first; each element is the JSON text of an array
/// of byte values (`[1, 2]` from Python's stdlib json, `[1,2]` from orjson and owcore).
/// `document_id` is normalized with storage_id().
inline std::string updates(std::string_view prefix, std::string_view document_id) {
  return base(prefix) + ":" + storage_id(document_id) + ":updates";
}

/// Set of the Socket.IO sids (not user ids) currently in the document.
inline std::string users(std::string_view prefix, std::string_view document_id) {
  return base(prefix) + ":" + storage_id(document_id) + ":users";
}

/// Set of the storage ids of the documents one sid joined: the reverse index that lets disconnect
/// avoid a keyspace SCAN. `sid` is used verbatim.
inline std::string session_documents(std::string_view prefix, std::string_view sid) {
  return base(prefix) + ":session:" + std::string(sid) + ":documents";
}

/// owcore side key that Python never reads: a capped list, with a TTL, of elements compaction
/// found invalid and removed from `updates` (docs/wire.md, "Trust and isolation"), kept for
/// operators. Elements are stored verbatim.
inline std::string rejected(std::string_view prefix, std::string_view document_id) {
  return base(prefix) + ":" + storage_id(document_id) + ":rejected";
}

}  // namespace owcore::coord::ydoc::keys
