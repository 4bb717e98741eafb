#pragma once
// The task registry's key schema (docs/wire.md, "Tasks"). The first three are Open WebUI's,
// matched exactly; the rest are owcore side keys that Python never reads.

#include <string>
#include <string_view>
#include <vector>

namespace owcore::coord::tasks::keys {

inline std::string p(std::string_view prefix, std::string_view rest) {
  return std::string(prefix) + std::string(rest);
}

/// Hash: task id -> item id ("" when none). Python's registry.
inline std::string registry(std::string_view P) { return p(P, ":tasks"); }
/// Set of task ids of one item (chat id, `note:<id>`, ...). Python's.
inline std::string item(std::string_view P, std::string_view item_id) {
  return p(P, ":tasks:item:") + std::string(item_id);
}
/// Pub/sub channel of stop commands: {"action": "stop", "task_id": "<id>"}. Python's.
inline std::string commands(std::string_view P) { return p(P, ":tasks:commands"); }

/// Hash: task id -> JSON {chat_id, message_id, content, output}, a reply in flight (Open WebUI
/// 0.11.1, docs/wire.md), fields with a TTL (HEXPIRE REDIS_RESPONSE_STREAM_TTL). Python's; owcore
/// never writes it, only HDELs a task's field when the task is cleaned up.
inline std::string response_streams(std::string_view P) { return p(P, ":tasks:response_streams"); }
/// Per-task response-stream keys of unreleased Open WebUI branches (a string, or ledger, content
/// and journal keys), deleted with the task as a harmless precaution; never written.
inline std::vector<std::string> response_stream_variants(std::string_view P, std::string_view task_id) {
  const std::string base = p(P, ":tasks:response_stream:");
  const std::string id(task_id);
  return {base + id, base + "ledger:" + id, base + "content:" + id, base + "journal:" + id};
}
/// String with a TTL, refreshed by the owning instance: the task is alive while it exists.
inline std::string lease(std::string_view P, std::string_view task_id) {
  return p(P, ":tasks:lease:") + std::string(task_id);
}
/// Short-lived stop marker: a stop is honoured even if its pub/sub message was lost.
inline std::string stop_marker(std::string_view P, std::string_view task_id) {
  return p(P, ":tasks:stop:") + std::string(task_id);
}
/// Hash: task id -> instance id, for every task an owcore instance registered. An entry of
/// `registry` listed here but without a lease belongs to a dead owcore instance.
inline std::string owned(std::string_view P) { return p(P, ":tasks:owcore"); }
/// Hash: task id -> epoch seconds when a reaper first saw it without an owcore owner (Python
/// tasks), for the operator's opt-in maximum age.
inline std::string seen(std::string_view P) { return p(P, ":tasks:seen"); }
/// String with a TTL: instance liveness (informational, for operators and doctor).
inline std::string instance(std::string_view P, std::string_view instance_id) {
  return p(P, ":instances:") + std::string(instance_id);
}

}  // namespace owcore::coord::tasks::keys
