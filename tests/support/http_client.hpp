// A blocking HTTP/1.1 client for integration tests, able to send a request in slow pieces.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace owcore::test {

/// A parsed HTTP response. Header names are lower-cased.
struct http_response {
  int status = 0;
  std::map<std::string, std::string> headers;
  std::string body;
};

/// One TCP connection to 127.0.0.1:port. Every call has a deadline; failures throw
/// std::runtime_error saying what timed out or failed. Not thread-safe.
class http_connection {
 public:
  explicit http_connection(int port, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  ~http_connection();
  http_connection(const http_connection&) = delete;
  http_connection& operator=(const http_connection&) = delete;

  /// Sends raw bytes (e.g. part of a request).
  void send(std::string_view bytes);

  /// Reads one response (status line, headers, Content-Length body; no body when `head` is true,
  /// as for a HEAD request). Throws on timeout or when the peer closes before it is complete.
  http_response read_response(std::chrono::milliseconds timeout = std::chrono::seconds(5),
                              bool head = false);

  /// True when the server closed the connection (a read returns EOF or reset) within `timeout`.
  bool closed_by_peer(std::chrono::milliseconds timeout = std::chrono::seconds(5));

 private:
  int fd_ = -1;
  std::string buffer_;
};

/// GET `path` on a new connection; nullopt if nothing listens or no response comes in time.
std::optional<http_response> http_get(int port, const std::string& path,
                                      std::chrono::milliseconds timeout = std::chrono::seconds(5));

/// Polls GET `path` until it answers with any status or `deadline` passes.
std::optional<http_response> wait_for_http(int port, const std::string& path,
                                           std::chrono::milliseconds deadline);

}  // namespace owcore::test
