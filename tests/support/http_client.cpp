#include "support/http_client.hpp"

#include "support/wait.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace owcore::test {
namespace {

// poll(2)'s timeout: what is left until `d`, in milliseconds.
int poll_ms(deadline d) { return static_cast<int>(remaining(d).count()); }

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

http_connection::http_connection(int port, std::chrono::milliseconds timeout) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS) {
    const std::string err = std::strerror(errno);
    ::close(fd_);
    throw std::runtime_error("connect to port " + std::to_string(port) + ": " + err);
  }
  pollfd p{fd_, POLLOUT, 0};
  int soerr = 0;
  socklen_t len = sizeof soerr;
  if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1 ||
      ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 || soerr != 0) {
    ::close(fd_);
    throw std::runtime_error("connect to port " + std::to_string(port) + " failed: " +
                             (soerr ? std::strerror(soerr) : "timeout"));
  }
}

http_connection::~http_connection() {
  if (fd_ >= 0) ::close(fd_);
}

void http_connection::send(std::string_view bytes) {
  const deadline until = deadline_after(std::chrono::seconds(5));
  while (!bytes.empty()) {
    auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR)
      throw std::runtime_error("send: " + std::string(std::strerror(errno)));
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, poll_ms(until)) != 1) throw std::runtime_error("send timed out");
  }
}

http_response http_connection::read_response(std::chrono::milliseconds timeout, bool head) {
  const deadline until = deadline_after(timeout);
  auto fill = [&]() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, poll_ms(until)) != 1)
      throw std::runtime_error("timed out waiting for a response; got so far: " + buffer_);
    char buf[4096];
    auto n = ::recv(fd_, buf, sizeof buf, 0);
    if (n == 0) throw std::runtime_error("connection closed before a complete response: " + buffer_);
    if (n < 0 && errno != EAGAIN && errno != EINTR)
      throw std::runtime_error("recv: " + std::string(std::strerror(errno)));
    if (n > 0) buffer_.append(buf, static_cast<std::size_t>(n));
  };
  std::size_t header_end;
  while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) fill();

  http_response res;
  const std::string header_block = buffer_.substr(0, header_end);
  auto line_end = header_block.find("\r\n");
  const std::string status_line = header_block.substr(0, line_end);
  if (status_line.size() < 12 || status_line.compare(0, 5, "HTTP/") != 0)
    throw std::runtime_error("bad status line: " + status_line);
  res.status = std::stoi(status_line.substr(9, 3));
  std::size_t pos = line_end == std::string::npos ? header_block.size() : line_end + 2;
  while (pos < header_block.size()) {
    auto end = header_block.find("\r\n", pos);
    if (end == std::string::npos) end = header_block.size();
    auto line = header_block.substr(pos, end - pos);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      auto value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      res.headers[lower(line.substr(0, colon))] = value;
    }
    pos = end + 2;
  }
  std::size_t length = 0;
  if (auto it = res.headers.find("content-length"); it != res.headers.end() && !head)
    length = std::stoul(it->second);
  const std::size_t body_start = header_end + 4;
  while (buffer_.size() < body_start + length) fill();
  res.body = buffer_.substr(body_start, length);
  buffer_.erase(0, body_start + length);
  return res;
}

bool http_connection::closed_by_peer(std::chrono::milliseconds timeout) {
  const deadline until = deadline_after(timeout);
  for (;;) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, poll_ms(until)) != 1) return false;
    char buf[4096];
    auto n = ::recv(fd_, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) return true;
    if (n > 0) buffer_.append(buf, static_cast<std::size_t>(n));
  }
}

std::optional<http_response> http_get(int port, const std::string& path,
                                      std::chrono::milliseconds timeout) {
  try {
    http_connection c(port, timeout);
    c.send("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    return c.read_response(timeout);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<http_response> wait_for_http(int port, const std::string& path,
                                           std::chrono::milliseconds limit) {
  std::optional<http_response> r;
  poll_until(
      deadline_after(limit),
      [&] {
        r = http_get(port, path, std::chrono::milliseconds(500));
        return r.has_value();
      },
      std::chrono::milliseconds(20));
  return r;
}

}  // namespace owcore::test
