#include "support/redis_client.hpp"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <utility>

namespace owcore::test {
namespace {

struct reply_deleter {
  void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

timeval to_timeval(std::chrono::milliseconds timeout) {
  const auto ms = std::max<long long>(timeout.count(), 1);
  return timeval{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
}

reply convert(const redisReply& r) {
  reply out;
  switch (r.type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      out.type = reply::kind::string;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = reply::kind::error;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = reply::kind::integer;
      out.integer = r.integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = reply::kind::array;
      out.elements.reserve(r.elements);
      for (std::size_t i = 0; i < r.elements; ++i) out.elements.push_back(convert(*r.element[i]));
      break;
    default:
      out.type = reply::kind::nil;
      break;
  }
  return out;
}

}  // namespace

std::string reply::to_string() const {
  switch (type) {
    case kind::nil:
      return "(nil)";
    case kind::string:
      return '"' + str + '"';
    case kind::integer:
      return std::to_string(integer);
    case kind::error:
      return "(error) " + str;
    case kind::array: {
      std::string s = "[";
      for (std::size_t i = 0; i < elements.size(); ++i) {
        if (i > 0) s += ", ";
        s += elements[i].to_string();
      }
      return s + "]";
    }
  }
  return "(unknown)";
}

void redis_connection::context_deleter::operator()(redisContext* ctx) const noexcept {
  redisFree(ctx);
}

redis_connection::redis_connection(std::string host, int port, std::chrono::milliseconds timeout,
                                   const std::string& password)
    : host_(std::move(host)), port_(port) {
  ctx_.reset(redisConnectWithTimeout(host_.c_str(), port_, to_timeval(timeout)));
  if (!ctx_) throw std::runtime_error("redis: cannot allocate a context for " + address());
  if (ctx_->err != 0) {
    throw std::runtime_error("redis: cannot connect to " + address() + ": " + ctx_->errstr);
  }
  set_timeout(timeout);
  if (!password.empty()) {
    const reply r = command({"AUTH", password});
    if (!r.is_ok()) throw std::runtime_error("redis: AUTH at " + address() + ": " + r.to_string());
  }
}

redis_connection::~redis_connection() = default;
redis_connection::redis_connection(redis_connection&&) noexcept = default;
redis_connection& redis_connection::operator=(redis_connection&&) noexcept = default;

void redis_connection::set_timeout(std::chrono::milliseconds timeout) {
  if (!ctx_ || redisSetTimeout(ctx_.get(), to_timeval(timeout)) != REDIS_OK) {
    throw std::runtime_error("redis: cannot set the timeout on " + address());
  }
}

std::string redis_connection::address() const { return host_ + ":" + std::to_string(port_); }

reply redis_connection::command(const std::vector<std::string>& args) {
  if (!ctx_ || ctx_->err != 0) {
    throw std::runtime_error("redis: connection to " + address() + " is broken");
  }
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  reply_ptr r(static_cast<redisReply*>(
      redisCommandArgv(ctx_.get(), static_cast<int>(argv.size()), argv.data(), lens.data())));
  if (!r) {
    const std::string name = args.empty() ? std::string("(empty)") : args.front();
    throw std::runtime_error("redis: " + name + " at " + address() + " failed: " + ctx_->errstr);
  }
  return convert(*r);
}

reply redis_command(int port, const std::vector<std::string>& args,
                    std::chrono::milliseconds timeout, const std::string& password) {
  redis_connection c("127.0.0.1", port, timeout, password);
  return c.command(args);
}

std::optional<reply> try_redis_command(int port, const std::vector<std::string>& args,
                                       std::chrono::milliseconds timeout,
                                       const std::string& password) noexcept {
  try {
    return redis_command(port, args, timeout, password);
  } catch (...) {
    return std::nullopt;
  }
}

std::optional<std::string> info_field(std::string_view info, std::string_view field) {
  std::size_t pos = 0;
  while (pos < info.size()) {
    std::size_t end = info.find('\n', pos);
    if (end == std::string_view::npos) end = info.size();
    std::string_view line = info.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > field.size() && line.substr(0, field.size()) == field &&
        line[field.size()] == ':') {
      return std::string(line.substr(field.size() + 1));
    }
    pos = end + 1;
  }
  return std::nullopt;
}

std::optional<std::string> map_field(const reply& flat_map, std::string_view key) {
  if (!flat_map.is_array()) return std::nullopt;
  const auto& e = flat_map.elements;
  for (std::size_t i = 0; i + 1 < e.size(); i += 2) {
    if (e[i].is_string() && e[i].str == key) {
      if (e[i + 1].is_string()) return e[i + 1].str;
      if (e[i + 1].is_integer()) return std::to_string(e[i + 1].integer);
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::pair<std::string, int> split_address(std::string_view address) {
  const auto colon = address.rfind(':');
  int port = 0;
  if (colon == std::string_view::npos || colon + 1 >= address.size()) {
    throw std::runtime_error("malformed address: " + std::string(address));
  }
  const auto digits = address.substr(colon + 1);
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc{} || ptr != digits.data() + digits.size() || port <= 0 || port > 65535) {
    throw std::runtime_error("malformed address: " + std::string(address));
  }
  return {std::string(address.substr(0, colon)), port};
}

}  // namespace owcore::test
