#include "owcore/redis/url.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <charconv>
#include <cmath>
#include <set>

namespace owcore::redis {
namespace {

std::optional<int> parse_int(std::string_view s) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<double> parse_seconds(std::string_view s) {
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || !std::isfinite(v) || v < 0)
    return std::nullopt;
  return v;
}

std::optional<bool> parse_bool(std::string_view s) {
  // redis-py's to_bool: "0", "f", "false", "n", "no" (any case) are false, anything else true.
  std::string lower(s);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower.empty()) return std::nullopt;
  return !(lower == "0" || lower == "f" || lower == "false" || lower == "n" || lower == "no");
}

// Options redis-py accepts in a URL query that owcore has no use for; they are accepted so a URL
// shared with Python instances does not break owcore.
const std::set<std::string, std::less<>> ignored_options = {
    "max_connections", "retry_on_timeout", "readonly", "protocol", "decode_responses",
    "socket_keepalive", "timeout", "encoding", "encoding_errors", "single_connection_client"};

}  // namespace

std::variant<url_config, url_error> parse_url(std::string_view text) {
  if (text.empty()) return url_error{"the URL is empty"};
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) return url_error{"not a URL (expected redis://host:port/db)"};
  const boost::urls::url_view u = *parsed;

  url_config cfg;
  const std::string scheme = u.scheme();
  const bool is_unix = scheme == "unix";
  if (scheme != "redis" && scheme != "rediss" && !is_unix)
    return url_error{"unsupported scheme '" + scheme + "' (expected redis, rediss or unix)"};
  cfg.connect.tls.enabled = scheme == "rediss";

  if (u.has_userinfo()) {
    cfg.auth.username = u.user();
    if (u.has_password()) cfg.auth.password = u.password();
  }

  if (is_unix) {
    cfg.connect.unix_path = u.path();
    if (cfg.connect.unix_path.empty()) return url_error{"unix:// URL without a socket path"};
  } else {
    cfg.host = u.host_address();
    cfg.connect.host = cfg.host.empty() ? "localhost" : cfg.host;
    cfg.connect.port = 6379;
    if (u.has_port()) {
      auto port = parse_int(u.port());
      if (!port || *port < 1 || *port > 65535)
        return url_error{"invalid port '" + std::string(u.port()) + "'"};
      cfg.connect.port = static_cast<std::uint16_t>(*port);
    }
    std::string path = u.path();
    if (!path.empty() && path != "/") {
      std::string digits;
      for (char c : path)
        if (c != '/') digits += c;
      auto db = parse_int(digits);
      if (!db || *db < 0) return url_error{"invalid database number in path '" + path + "'"};
      cfg.db = *db;
    }
  }

  bool any_ssl_option = false;
  for (auto param : u.params()) {
    const std::string key = param.key;
    const std::string value = param.has_value ? std::string(param.value) : std::string();
    if (key == "db") {
      auto db = parse_int(value);
      if (!db || *db < 0) return url_error{"invalid db option '" + value + "'"};
      cfg.db = *db;
    } else if (key == "client_name") {
      cfg.client_name = value;
    } else if (key == "socket_timeout" || key == "socket_connect_timeout") {
      auto s = parse_seconds(value);
      if (!s) return url_error{"invalid " + key + " '" + value + "'"};
      (key == "socket_timeout" ? cfg.socket_timeout_s : cfg.socket_connect_timeout_s) = s;
    } else if (key == "health_check_interval") {
      auto s = parse_int(value);
      if (!s || *s < 0) return url_error{"invalid health_check_interval '" + value + "'"};
      cfg.health_check_interval_s = *s;
    } else if (key == "ssl_cert_reqs") {
      any_ssl_option = true;
      if (value == "none" || value == "CERT_NONE") cfg.connect.tls.verify_peer = false;
      else if (value == "required" || value == "optional" || value == "CERT_REQUIRED" ||
               value == "CERT_OPTIONAL")
        cfg.connect.tls.verify_peer = true;
      else return url_error{"invalid ssl_cert_reqs '" + value + "' (none, optional or required)"};
    } else if (key == "ssl_ca_certs") {
      any_ssl_option = true;
      cfg.connect.tls.ca_file = value;
    } else if (key == "ssl_certfile") {
      any_ssl_option = true;
      cfg.connect.tls.cert_file = value;
    } else if (key == "ssl_keyfile") {
      any_ssl_option = true;
      cfg.connect.tls.key_file = value;
    } else if (key == "ssl_ca_path") {
      any_ssl_option = true;
      cfg.connect.tls.ca_path = value;
    } else if (key == "ssl_password") {
      any_ssl_option = true;
      cfg.connect.tls.key_password = value;
    } else if (key == "ssl_check_hostname") {
      any_ssl_option = true;
      auto b = parse_bool(value);
      if (!b) return url_error{"invalid ssl_check_hostname ''"};
      cfg.connect.tls.check_hostname = *b;
    } else if (!ignored_options.contains(key)) {
      return url_error{"unknown URL option '" + key + "'"};
    }
  }
  if (any_ssl_option && !cfg.connect.tls.enabled)
    return url_error{"ssl_* options need the rediss:// scheme"};
  // Python's load_cert_chain needs the certificate; the key alone is refused there too.
  const auto& tls = cfg.connect.tls;
  if (tls.cert_file.empty() && (!tls.key_file.empty() || !tls.key_password.empty()))
    return url_error{"ssl_keyfile and ssl_password need ssl_certfile (the client certificate)"};
  return cfg;
}

}  // namespace owcore::redis
