#pragma once
// The Engine.IO request parameters (`EIO`, `transport`, `sid` in the query string), the Origin
// check and the handshake (`open` packet) payload. Sans-io: strings in, values out.

#include <boost/system/result.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace owcore::realtime::engineio {

/// The two transports of Engine.IO v4.
enum class transport_kind { polling, websocket };

/// The wire name of a transport ("polling", "websocket").
std::string_view to_string(transport_kind t) noexcept;

/// The Engine.IO query parameters of one request, validated.
struct request_params {
  transport_kind transport = transport_kind::polling;  ///< `transport`
  std::optional<std::string> sid;  ///< absent for a handshake
};

/// Returns the percent-decoded value of query parameter `name` in `target` (a request target
/// such as "/socket.io/?EIO=4&transport=polling"), or nullopt when it is absent or does not
/// decode. `+` is decoded as a space. The first occurrence wins.
std::optional<std::string> query_param(std::string_view target, std::string_view name);

/// Validates the parameters every Engine.IO request carries: `EIO` must be "4"
/// (error::unsupported_version), `transport` must be "polling" or "websocket"
/// (error::unknown_transport); a present `sid` must be non-empty (error::unknown_sid).
boost::system::result<request_params> parse_request(std::string_view target);

/// True when `origin` (an Origin header value) is allowed by `allowed`: the list contains "*",
/// or an entry equal to `origin` ignoring ASCII case and a trailing '/'.
bool origin_allowed(std::string_view origin, const std::vector<std::string>& allowed) noexcept;

/// The values announced in the handshake.
struct handshake_info {
  std::string sid;                    ///< the new session's id
  std::vector<std::string> upgrades;  ///< ["websocket"] for an upgradable polling session, else []
  std::chrono::milliseconds ping_interval{25000};  ///< `pingInterval`
  std::chrono::milliseconds ping_timeout{20000};   ///< `pingTimeout`
  std::size_t max_payload = 1'000'000;             ///< `maxPayload`
};

/// The JSON payload of the `open` packet: {"sid","upgrades","pingInterval","pingTimeout",
/// "maxPayload"}.
std::string open_payload(const handshake_info& info);

}  // namespace owcore::realtime::engineio
