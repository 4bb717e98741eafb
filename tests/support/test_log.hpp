// The logger test code hands to owcore's services: stderr (ctest keeps it with the test's output),
// level info. Header-only, like io_runner.hpp: the support library itself does not link spdlog.
#pragma once

#include <spdlog/logger.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <memory>

namespace owcore::test {

/// One process-wide logger named "test"; thread-safe.
inline std::shared_ptr<spdlog::logger> test_log() {
  static const auto log = [] {
    auto l = std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    l->set_level(spdlog::level::info);
    return l;
  }();
  return log;
}

}  // namespace owcore::test
