#pragma once
// Parsing Redis URLs the way redis-py's `from_url` does (`redis://`, `rediss://`, `unix://`),
// with percent-decoded credentials and the `ssl_*` query options.

#include "owcore/net/stream.hpp"
#include "owcore/redis/protocol/setup.hpp"  // credentials

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace owcore::redis {

/// Everything a Redis URL configures. Fields keep redis-py's defaults.
struct url_config {
  net::connect_options connect;   ///< host/port or unix path, TLS settings (timeouts unset)
  credentials auth;
  int db = 0;                     ///< from the path (`/3`) or `?db=3`
  std::string client_name;        ///< `?client_name=`
  std::optional<double> socket_timeout_s;          ///< `?socket_timeout=` (seconds)
  std::optional<double> socket_connect_timeout_s;  ///< `?socket_connect_timeout=` (seconds)
  std::optional<int> health_check_interval_s;      ///< `?health_check_interval=` (seconds)
  /// The raw host (Sentinel mode uses it as the master service name; docs/redis.md).
  std::string host;
};

/// A URL that could not be parsed: the reason in plain words (never contains the password).
struct url_error {
  std::string reason;
};

/// Parses `url`. Accepted: `redis://[[user][:password]@]host[:port][/db][?opts]`, `rediss://...`
/// (TLS; `ssl_cert_reqs=none|optional|required`, `ssl_ca_certs`, `ssl_ca_path`, `ssl_certfile`,
/// `ssl_keyfile`, `ssl_password`, `ssl_check_hostname=true|false`; ssl_keyfile and ssl_password
/// need ssl_certfile, whose file then also holds the key when ssl_keyfile is absent), and `unix://[[user][:password]@]/path?db=N`. Unknown query
/// options are errors, as they are in redis-py (which passes them to the connection and fails).
/// Pure function; thread-safe.
std::variant<url_config, url_error> parse_url(std::string_view url);

}  // namespace owcore::redis
