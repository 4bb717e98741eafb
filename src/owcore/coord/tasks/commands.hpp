#pragma once
// The messages on Python's task command channel `P:tasks:commands` (docs/wire.md): what
// stop_task publishes, and how owcore reads what any instance publishes there. Pure functions;
// thread-safe.

#include <optional>
#include <string>
#include <string_view>

namespace owcore::coord::tasks {

/// The JSON Python's stop_task publishes, byte for byte: {"action": "stop", "task_id": "<id>"}.
std::string stop_command_json(const std::string& task_id);

/// Messages longer than this are ignored unread.
inline constexpr std::size_t max_command_bytes = 64 * 1024;

/// A command read from the channel.
struct task_command {
  std::string action;   ///< "stop" is the only one Python sends; others are ignored by callers
  std::string task_id;
};

/// Reads a message as json.loads would: an object with string `action` and `task_id` (other
/// members ignored). nullopt for anything else, or for a message over max_command_bytes.
std::optional<task_command> parse_task_command(std::string_view payload);

}  // namespace owcore::coord::tasks
