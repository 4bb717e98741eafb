#include "owcore/app/logging.hpp"

#include <spdlog/details/log_msg.h>
#include <spdlog/formatter.h>
#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <mutex>

namespace owcore::app {
namespace {

// One JSON object per line: {"time":..., "level":..., "logger":..., "message":...}.
class json_formatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto t = std::chrono::system_clock::to_time_t(msg.time);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        msg.time.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char ts[32];
    const auto n = std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    fmt::format_to(std::back_inserter(dest), R"({{"time":"{}.{:03d}Z","level":")",
                   std::string_view(ts, n), static_cast<int>(ms));
    const auto level = spdlog::level::to_string_view(msg.level);
    dest.append(level.data(), level.data() + level.size());
    dest.append(std::string_view(R"(","logger":")"));
    escape(msg.logger_name, dest);
    dest.append(std::string_view(R"(","message":")"));
    escape(msg.payload, dest);
    dest.append(std::string_view("\"}\n"));
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<json_formatter>();
  }

 private:
  static void escape(spdlog::string_view_t s, spdlog::memory_buf_t& dest) {
    for (char c : std::string_view(s.data(), s.size())) {
      switch (c) {
        case '"': dest.append(std::string_view("\\\"")); break;
        case '\\': dest.append(std::string_view("\\\\")); break;
        case '\n': dest.append(std::string_view("\\n")); break;
        case '\r': dest.append(std::string_view("\\r")); break;
        case '\t': dest.append(std::string_view("\\t")); break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            fmt::format_to(std::back_inserter(dest), "\\u{:04x}", static_cast<int>(c));
          } else {
            dest.push_back(c);
          }
      }
    }
  }
};

struct log_state {
  std::mutex mutex;
  bool json = false;
  spdlog::level::level_enum level = spdlog::level::info;
  spdlog::sink_ptr sink;
};

log_state& state() {
  static log_state s;
  return s;
}

spdlog::level::level_enum python_level(std::string_view name) {
  if (name == "DEBUG") return spdlog::level::debug;
  if (name == "WARNING" || name == "WARN") return spdlog::level::warn;
  if (name == "ERROR") return spdlog::level::err;
  if (name == "CRITICAL") return spdlog::level::critical;
  return spdlog::level::info;
}

}  // namespace

void init_logging(std::string_view format, std::string_view level) {
  auto& s = state();
  std::lock_guard lock(s.mutex);
  s.json = format == "json";
  s.level = python_level(level);
  s.sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  if (s.json) s.sink->set_formatter(std::make_unique<json_formatter>());
  else s.sink->set_formatter(std::make_unique<spdlog::pattern_formatter>("%Y-%m-%d %H:%M:%S.%e %-8l %n: %v"));
  spdlog::drop_all();
}

std::shared_ptr<spdlog::logger> get_logger(const std::string& name) {
  auto& s = state();
  std::lock_guard lock(s.mutex);
  if (auto existing = spdlog::get(name)) return existing;
  if (!s.sink) {
    s.sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    s.sink->set_formatter(std::make_unique<spdlog::pattern_formatter>("%Y-%m-%d %H:%M:%S.%e %-8l %n: %v"));
  }
  auto logger = std::make_shared<spdlog::logger>(name, s.sink);
  logger->set_level(s.level);
  logger->flush_on(spdlog::level::info);
  spdlog::register_logger(logger);
  return logger;
}

}  // namespace owcore::app
