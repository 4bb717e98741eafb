#pragma once
// Process-wide logging set-up (spdlog). Logs go to stderr; stdout is kept for command output.

#include <memory>
#include <string>
#include <string_view>

namespace spdlog {
class logger;
}

namespace owcore::app {

/// `format`: "text" or "json" (LOG_FORMAT; anything else is treated as text). `level`: a Python
/// logging level name (GLOBAL_LOG_LEVEL). Call once at start-up, before any other thread runs.
void init_logging(std::string_view format, std::string_view level);

/// The named logger ("owcore", "access", "redis", ...), created on first use with the format and
/// level of init_logging. Thread-safe.
std::shared_ptr<spdlog::logger> get_logger(const std::string& name);

}  // namespace owcore::app
