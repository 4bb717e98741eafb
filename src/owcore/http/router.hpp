#pragma once
// Routing of HTTP requests to coroutine handlers by method and exact path.

#include "owcore/http/metrics.hpp"
#include "owcore/net/executor.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace owcore::http {

namespace bhttp = boost::beast::http;

/// A request with its body read into a string (bounded by server_options::body_limit).
using request = bhttp::request<bhttp::string_body>;
/// A response; the server fills in Server, Content-Length and keep-alive.
using response = bhttp::response<bhttp::string_body>;

/// A route handler. Runs on the connection's strand; may suspend. Exceptions become a 500.
using handler = std::function<net::awaitable<response>(const request&)>;

/// Takes over a connection whose request asks for a protocol upgrade (WebSocket). It receives the
/// request, the stream (on the connection's strand) and any bytes already read past the request;
/// from then on the HTTP server no longer owns or tracks the connection, so the taker is
/// responsible for its shutdown and limits. Must not block.
using upgrade_handler = std::function<void(request req, boost::beast::tcp_stream stream,
                                           boost::beast::flat_buffer buffer)>;

/// Builds a JSON response with the request's HTTP version.
response json_response(const request& req, bhttp::status status, std::string body);

/// Method + exact path routing (the query string is ignored for matching). Immutable after set-up:
/// `add` is not thread-safe, `dispatch` is safe to call concurrently once set-up is done.
class router {
 public:
  /// Registers `h` for `method` on `path` (e.g. "/health"). A later registration replaces it.
  void add(bhttp::verb method, std::string path, handler h);

  /// Registers `h` for `method` on every path that starts with `prefix` and has a non-empty,
  /// slash-free rest (e.g. "/api/tasks/stop/" serves "/api/tasks/stop/<id>"). Exact routes win;
  /// among prefixes the longest wins. The handler reads the rest with `path_param`.
  void add_prefix(bhttp::verb method, std::string prefix, handler h);

  /// Registers `h` for upgrade requests (`Connection: upgrade`, `Upgrade: websocket`) whose path
  /// starts with `prefix`. Non-upgrade requests to the same path go through the normal routes.
  void add_upgrade(std::string prefix, upgrade_handler h);

  /// The upgrade handler for `req`, or null when `req` is not an upgrade or none matches. When
  /// found and `counters` is given, it receives the upgrade route's counters (http/metrics.hpp).
  const upgrade_handler* find_upgrade(const request& req, route_metrics** counters = nullptr) const;

  /// Calls the matching handler. Unknown path: 404 JSON; known path, other method: 405 with an
  /// Allow header. HEAD is served by the GET handler with the body dropped. Counts the response
  /// under the route's label (a handler's exception as 500, then rethrown).
  net::awaitable<response> dispatch(const request& req) const;

 private:
  struct route {
    std::map<bhttp::verb, handler> methods;
    route_metrics* counters = nullptr;  ///< this route's slot, resolved once at registration
  };
  struct upgrade_route {
    upgrade_handler take;
    route_metrics* counters = nullptr;
  };
  std::map<std::string, route, std::less<>> routes_;
  std::map<std::string, route, std::greater<>> prefixes_;  // longest first
  std::map<std::string, upgrade_route, std::greater<>> upgrades_;
  route_metrics* unmatched_ = &metrics().routes.slot("unmatched");
};

/// The path of a request target without its query string.
std::string_view target_path(std::string_view target) noexcept;

/// The percent-decoded rest of the request path after `prefix`; nullopt when it is not a
/// single non-empty path segment or does not decode.
std::optional<std::string> path_param(const request& req, std::string_view prefix);

}  // namespace owcore::http
