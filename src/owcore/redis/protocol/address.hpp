#pragma once
// The one address type of the Redis layer (docs/redis.md): a host and a TCP port, parsed from and
// rendered to "host:port". The IPv6 rule is stated once, here:
//   - to_string() brackets a host that contains a colon ("[::1]:6380"), so the text can be read
//     back unambiguously and pasted into a URL;
//   - parse() accepts the bracketed form and also the unbracketed one Redis itself writes in MOVED,
//     ASK and CLUSTER SLOTS ("::1:6380"): the port is always after the last colon.
// Sans-io: no Asio, no allocation beyond the host string.

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace owcore::redis {

/// A node address: host name or IP literal (IPv6 unbracketed, possibly with a zone "%eth0") and a
/// port. A value type; thread-safe as any value. An empty host means "the host of the node that
/// sent this address" (Redis 7 unknown-endpoint, see resolve_address() in cluster_slots.hpp).
struct address {
  std::string host;
  std::uint16_t port = 0;

  /// Parses "host:port" at the last colon. The port must be decimal digits in 1..65535. Brackets
  /// around the host are stripped ("[::1]:6380" -> "::1"); an unbracketed IPv6 host works too
  /// ("::1:6380"). The host may be empty (":6380"). nullopt for anything else: no colon, bad
  /// port, unbalanced brackets, control bytes or spaces in the host. Never throws (but bad_alloc).
  static std::optional<address> parse(std::string_view host_port);

  /// "host:port", with the host bracketed when it contains a colon ("[::1]:6380").
  std::string to_string() const;

  friend auto operator<=>(const address&, const address&) = default;
  friend bool operator==(const address&, const address&) = default;
};

}  // namespace owcore::redis
