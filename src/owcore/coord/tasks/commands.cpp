#include "owcore/coord/tasks/commands.hpp"

#include "owcore/base/pyjson.hpp"

#include <boost/json/object.hpp>

#include <variant>

namespace owcore::coord::tasks {

std::string stop_command_json(const std::string& task_id) {
  const boost::json::object command{{"action", "stop"}, {"task_id", task_id}};
  return base::pyjson::dump(command, base::pyjson::style::stdlib);
}

std::optional<task_command> parse_task_command(std::string_view payload) {
  if (payload.size() > max_command_bytes) return std::nullopt;
  auto v = base::pyjson::load(payload, 16);
  const auto* value = std::get_if<boost::json::value>(&v);
  const auto* o = value ? value->if_object() : nullptr;
  const auto* action = o ? o->if_contains("action") : nullptr;
  const auto* id = o ? o->if_contains("task_id") : nullptr;
  if (!action || !id || !action->is_string() || !id->is_string()) return std::nullopt;
  return task_command{std::string(action->get_string()), std::string(id->get_string())};
}

}  // namespace owcore::coord::tasks
