#pragma once
// RESP2 values, the command encoder, and an incremental reply parser over the hiredis reader.
// Sans-io: feed bytes in, take replies out. Fuzzable and unit-tested without sockets.

#include <boost/system/error_code.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct redisReader;

namespace owcore::redis {

/// One decoded RESP2 reply. A value type: copyable, no references into parser buffers.
struct reply {
  enum class kind { string, status, error, integer, nil, array };
  kind type = kind::nil;
  std::string str;              ///< bulk string, status text or error text
  std::int64_t integer = 0;     ///< for kind::integer
  std::vector<reply> elements;  ///< for kind::array

  bool is_error() const noexcept { return type == kind::error; }
  bool is_nil() const noexcept { return type == kind::nil; }
  /// True for a status reply equal to `text` (e.g. "OK", "PONG").
  bool is_status(std::string_view text) const noexcept {
    return type == kind::status && str == text;
  }
};

/// Appends one command, encoded as a RESP array of bulk strings, to `out`. Binary-safe.
void encode_command(std::string& out, std::span<const std::string_view> args);

/// Convenience overload: `encode_command(out, {"SET", key, value})`.
inline void encode_command(std::string& out, std::initializer_list<std::string_view> args) {
  encode_command(out, std::span<const std::string_view>(args.begin(), args.size()));
}

/// Incremental RESP2 parser (the hiredis 0.14 reader, owned with RAII).
/// Not thread-safe; one per connection. Memory is bounded by `max_buffered`: if more unparsed bytes
/// than that accumulate (one reply larger than the limit), `next()` fails with reply_too_large.
/// An array header announcing more than `max_buffered / 4` elements (each takes at least 4 bytes
/// on the wire) is a protocol_error before anything is allocated for it: hiredis would otherwise
/// allocate the announced element table up front (8 bytes per element, whatever arrives).
class reply_parser {
 public:
  /// Redis's own bulk string limit is 512 MB; the default stays well below it.
  static constexpr std::size_t default_max_buffered = 64 * 1024 * 1024;

  explicit reply_parser(std::size_t max_buffered = default_max_buffered);
  reply_parser(reply_parser&&) noexcept;
  reply_parser& operator=(reply_parser&&) noexcept;
  ~reply_parser();

  /// Appends received bytes. Fails with reply_too_large when the limit is exceeded and with
  /// protocol_error after an earlier protocol error (the parser is then unusable).
  boost::system::error_code feed(std::string_view bytes);

  /// The next complete reply, nullopt when more bytes are needed, or an error (protocol_error,
  /// reply_too_large). After an error the connection must be closed.
  std::optional<reply> next(boost::system::error_code& ec);

 private:
  struct reader_deleter {
    void operator()(redisReader* r) const noexcept;
  };
  std::unique_ptr<redisReader, reader_deleter> reader_;
  std::size_t max_buffered_;
};

}  // namespace owcore::redis
