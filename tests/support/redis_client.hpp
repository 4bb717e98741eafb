// A small blocking Redis client for test code only (hiredis synchronous API, RESP2).
//
// The product code talks to Redis asynchronously; this exists so tests and the topology helpers
// can set up and inspect servers without an event loop. Never use it inside an io thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct redisContext;  // hiredis; kept out of this header

namespace owcore::test {

/// One RESP2 reply as a plain value. Status replies ("+OK", "+PONG") are folded into `string`.
struct reply {
  enum class kind { nil, string, integer, array, error };

  kind type = kind::nil;
  std::string str;              ///< the text for `string` and `error`
  long long integer = 0;        ///< the value for `integer`
  std::vector<reply> elements;  ///< the items for `array`

  bool is_nil() const noexcept { return type == kind::nil; }
  bool is_string() const noexcept { return type == kind::string; }
  bool is_integer() const noexcept { return type == kind::integer; }
  bool is_array() const noexcept { return type == kind::array; }
  bool is_error() const noexcept { return type == kind::error; }
  /// True for the string "OK".
  bool is_ok() const noexcept { return type == kind::string && str == "OK"; }

  /// A one-line rendering for assertion messages, e.g. `["master", 12, (nil)]` or `(error) ERR x`.
  std::string to_string() const;
};

/// One blocking connection to a Redis server or sentinel.
///
/// Every connect, read and write is bounded by the timeout. After an I/O error or timeout the
/// connection is broken and every later command() throws; open a new one. Not thread-safe.
/// Movable, not copyable.
class redis_connection {
 public:
  /// Connects to host:port and, if `password` is non-empty, sends AUTH. Throws
  /// std::runtime_error if the connection fails or times out, or AUTH is refused.
  redis_connection(std::string host, int port,
                   std::chrono::milliseconds timeout = std::chrono::seconds(2),
                   const std::string& password = {});
  ~redis_connection();
  redis_connection(redis_connection&&) noexcept;
  redis_connection& operator=(redis_connection&&) noexcept;
  redis_connection(const redis_connection&) = delete;
  redis_connection& operator=(const redis_connection&) = delete;

  /// Sends one command (binary-safe arguments) and waits for its reply. Redis errors come back
  /// as reply::kind::error; I/O errors and timeouts throw std::runtime_error.
  reply command(const std::vector<std::string>& args);

  /// Changes the read/write timeout for later commands.
  void set_timeout(std::chrono::milliseconds timeout);

  /// "host:port", for messages.
  std::string address() const;

 private:
  struct context_deleter {
    void operator()(redisContext* ctx) const noexcept;
  };

  std::string host_;
  int port_ = 0;
  std::unique_ptr<redisContext, context_deleter> ctx_;
};

/// Connects to 127.0.0.1:`port`, runs one command, disconnects. Throws like redis_connection.
reply redis_command(int port, const std::vector<std::string>& args,
                    std::chrono::milliseconds timeout = std::chrono::seconds(2),
                    const std::string& password = {});

/// Like redis_command, but returns nullopt instead of throwing when the server can't be reached
/// or doesn't answer in time. Redis error replies are still returned as values.
std::optional<reply> try_redis_command(int port, const std::vector<std::string>& args,
                                       std::chrono::milliseconds timeout = std::chrono::seconds(2),
                                       const std::string& password = {}) noexcept;

/// The value of `field` in an INFO reply ("field:value" lines), nullopt if absent.
std::optional<std::string> info_field(std::string_view info, std::string_view field);

/// The value after `key` in a flat key/value array (SENTINEL MASTER, SENTINEL REPLICAS items,
/// CLUSTER SHARDS maps), nullopt if absent or not a string.
std::optional<std::string> map_field(const reply& flat_map, std::string_view key);

/// Splits "host:port" at the last ':'. Throws std::runtime_error on a malformed address.
std::pair<std::string, int> split_address(std::string_view address);

}  // namespace owcore::test
