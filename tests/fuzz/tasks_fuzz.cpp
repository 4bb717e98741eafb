// libFuzzer target for the task command channel `P:tasks:commands`, which every instance of a
// fleet (and anyone with access to the Redis) may publish on (tests/fuzz/run_fuzz tasks).
// Properties: a message over the size limit is never read, and for any task id, reading what
// stop_command_json writes gives back {"stop", id} (Python's and owcore's stop commands are
// understood alike).
//
// fuzz-sources: src/owcore/coord/tasks/commands.cpp
// fuzz-libs: -lboost_json
#include "owcore/coord/tasks/commands.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace tasks = owcore::coord::tasks;

namespace {

[[noreturn]] void broken(const char* what) {
  __builtin_printf("property broken: %s\n", what);
  std::abort();
}

bool valid_utf8_for_json(std::string_view s) {
  // stop_command_json writes any bytes; only UTF-8 text survives as the same string.
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
    if (n == 3) {
      const unsigned cp = ((c & 0x0F) << 12) | ((static_cast<unsigned char>(s[i + 1]) & 0x3F) << 6);
      if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    }
    if (n == 2 && c < 0xC2) return false;
    if (n == 4 && (c > 0xF4 || (c == 0xF0 && static_cast<unsigned char>(s[i + 1]) < 0x90) ||
                   (c == 0xF4 && static_cast<unsigned char>(s[i + 1]) > 0x8F)))
      return false;
    i += n;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto c = tasks::parse_task_command(in);
  if (c && in.size() > tasks::max_command_bytes) broken("an over-long message was read");
  if (in.size() < 1024 && valid_utf8_for_json(in)) {
    const std::string id(in);
    auto again = tasks::parse_task_command(tasks::stop_command_json(id));
    if (!again || again->action != "stop" || again->task_id != id) broken("a stop command does not read back");
  }
  return 0;
}
