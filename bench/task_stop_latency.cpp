// Stop-to-cancel latency of distributed tasks across two owcore instances (issue 4).
//
// For each iteration: create a sleep task on instance A over HTTP, then send the stop to instance
// B and time, from the moment the stop request is written:
//   - cancel:    until A has cancelled the task and its registry entry `HDEL P:tasks <id>` has run
//                (seen as a keyspace notification, or with --detect poll by a tight HEXISTS loop);
//   - stop_http: until B's 200 arrives;
//   - stop_msg:  until B's `{"action": "stop", ...}` is delivered on P:tasks:commands (the same
//                moment A receives it, give or take the fan-out);
// and, interleaved with every iteration on the same Redis, the raw floor: PUBLISH on
// P:tasks:commands to delivery on a plain subscriber, and a PING round trip.
//
// Single-threaded: plain blocking POSIX sockets multiplexed with poll(), timestamps taken as each
// reply is read, so no polling interval or thread hop sits inside a measurement. Redis framing uses
// owcore's own sans-io encoder and parser (owcore/redis/protocol/resp.hpp).
//
// bench/run_task_bench starts Redis and the two instances, then runs this.
#include "owcore/redis/protocol/resp.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

namespace {

namespace redis = owcore::redis;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

enum class detect_mode { notify, poll };

struct options {
  int a_port = 0;
  int b_port = 0;
  int redis_port = 0;
  std::string host = "127.0.0.1";
  std::string token;
  std::string prefix = "open-webui";
  std::string item = "bench-chat";
  int count = 200;
  int warmup = 10;
  int gap_ms = 5;
  double deadline_s = 100;
  double cancel_timeout_s = 5;
  detect_mode detect = detect_mode::notify;
};

constexpr std::string_view usage =
    "usage: owcore_task_bench --a-port PA --b-port PB --redis-port R --token JWT\n"
    "                         [--count 200] [--warmup 10] [--gap-ms 5] [--detect notify|poll]\n"
    "                         [--prefix open-webui] [--item bench-chat] [--host 127.0.0.1]\n"
    "                         [--deadline-s 100] [--cancel-timeout-s 5]\n"
    "Tasks are created on A (the owner) and stopped through B. Progress goes to stderr; a table\n"
    "and one line of JSON to stdout. Exit 1 if a task is not cancelled within --cancel-timeout-s\n"
    "or anything fails, 3 if the overall deadline passes.\n";

std::variant<options, std::string> parse_args(int argc, char** argv) {
  options o;
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto flag = args[i];
    if (flag == "--help" || flag == "-h") return std::string{};
    if (i + 1 >= args.size()) return "missing value after " + std::string(flag);
    const std::string v(args[++i]);
    try {
      if (flag == "--a-port") o.a_port = std::stoi(v);
      else if (flag == "--b-port") o.b_port = std::stoi(v);
      else if (flag == "--redis-port") o.redis_port = std::stoi(v);
      else if (flag == "--host") o.host = v;
      else if (flag == "--token") o.token = v;
      else if (flag == "--prefix") o.prefix = v;
      else if (flag == "--item") o.item = v;
      else if (flag == "--count") o.count = std::stoi(v);
      else if (flag == "--warmup") o.warmup = std::stoi(v);
      else if (flag == "--gap-ms") o.gap_ms = std::stoi(v);
      else if (flag == "--deadline-s") o.deadline_s = std::stod(v);
      else if (flag == "--cancel-timeout-s") o.cancel_timeout_s = std::stod(v);
      else if (flag == "--detect") {
        if (v == "notify") o.detect = detect_mode::notify;
        else if (v == "poll") o.detect = detect_mode::poll;
        else return "--detect must be notify or poll";
      } else return "unknown option " + std::string(flag);
    } catch (const std::exception&) {
      return "bad value '" + v + "' for " + std::string(flag);
    }
  }
  auto port_ok = [](int p) { return p > 0 && p < 65536; };
  if (!port_ok(o.a_port) || !port_ok(o.b_port) || !port_ok(o.redis_port))
    return std::string("--a-port, --b-port and --redis-port are required (1..65535)");
  if (o.token.empty()) return std::string("--token is required");
  if (o.count < 1 || o.count > 1000000) return std::string("--count must be 1..1000000");
  if (o.warmup < 0 || o.warmup > 100000) return std::string("--warmup must be 0..100000");
  if (o.gap_ms < 0 || o.gap_ms > 10000) return std::string("--gap-ms must be 0..10000");
  if (!(o.deadline_s > 0 && o.deadline_s <= 3600)) return std::string("--deadline-s must be in (0, 3600]");
  if (!(o.cancel_timeout_s > 0 && o.cancel_timeout_s <= 60)) return std::string("--cancel-timeout-s must be in (0, 60]");
  for (char c : o.item + o.prefix)
    if (c <= ' ' || c == '"' || c == '\\' || c == '/') return std::string("--item/--prefix: no spaces, quotes, slashes");
  return o;
}

struct failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct deadline_passed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

clock_type::time_point g_deadline;

void check_deadline() {
  if (clock_type::now() >= g_deadline) throw deadline_passed("the overall deadline passed");
}

// Waits until `fd` is readable or `until`; false on timeout. Never past the overall deadline.
bool wait_readable(int fd, clock_type::time_point until) {
  until = std::min(until, g_deadline);
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - clock_type::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) throw failure(std::string("poll: ") + std::strerror(errno));
  }
}

// A connected TCP socket (blocking, Nagle off).
class tcp_socket {
 public:
  tcp_socket() = default;
  tcp_socket(const std::string& host, int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw failure(std::string("socket: ") + std::strerror(errno));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1) throw failure("bad IPv4 address " + host);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
      throw failure("connect to " + host + ":" + std::to_string(port) + ": " + std::strerror(errno));
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{5, 0};  // a stuck write fails instead of hanging
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  tcp_socket(tcp_socket&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  tcp_socket& operator=(tcp_socket&& o) noexcept {
    if (this != &o) {
      close();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  ~tcp_socket() { close(); }

  int fd() const noexcept { return fd_; }

  void write_all(std::string_view data) {
    while (!data.empty()) {
      const auto n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw failure(std::string("send: ") + std::strerror(errno));
      data.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  // Reads what is available (call when readable). Returns false on EOF.
  bool read_some(std::string& out) {
    char buf[16384];
    for (;;) {
      const auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw failure(std::string("recv: ") + std::strerror(errno));
      if (n == 0) return false;
      out.append(buf, static_cast<std::size_t>(n));
      return true;
    }
  }
  // True when the peer has closed (or reset) an idle connection.
  bool peer_closed() const {
    char c;
    const auto n = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }

 private:
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int fd_ = -1;
};

// ---- HTTP/1.1 keep-alive client (Content-Length bodies only: what owcore's server sends). ----

struct http_response {
  int status = 0;
  std::string body;
  bool close = false;
};

class http_client {
 public:
  http_client(std::string host, int port, std::string token)
      : host_(std::move(host)), port_(port), token_(std::move(token)) {}

  // Writes the request (reconnecting first if the server closed the idle connection).
  void send(std::string_view method, std::string_view path, std::string_view body = {}) {
    if (sock_.fd() < 0 || sock_.peer_closed()) {
      sock_ = tcp_socket(host_, port_);
      buf_.clear();
    }
    std::string req;
    req.reserve(256 + token_.size() + body.size());
    req.append(method).append(" ").append(path).append(" HTTP/1.1\r\nHost: bench\r\n");
    req.append("Authorization: Bearer ").append(token_).append("\r\n");
    if (!body.empty())
      req.append("Content-Type: application/json\r\nContent-Length: ").append(std::to_string(body.size())).append("\r\n");
    else if (method == "POST")
      req.append("Content-Length: 0\r\n");
    req.append("\r\n").append(body);
    sock_.write_all(req);
  }

  int fd() const noexcept { return sock_.fd(); }

  // Call when fd() is readable: reads, and returns the response once complete.
  std::optional<http_response> on_readable() {
    if (!sock_.read_some(buf_)) throw failure("HTTP server on port " + std::to_string(port_) + " closed the connection");
    return take();
  }

  http_response call(std::string_view method, std::string_view path, std::string_view body,
                     clock_type::duration timeout) {
    send(method, path, body);
    const auto until = clock_type::now() + timeout;
    for (;;) {
      if (!wait_readable(sock_.fd(), until)) {
        check_deadline();
        throw failure("no HTTP response from port " + std::to_string(port_) + " within the timeout");
      }
      if (auto r = on_readable()) return std::move(*r);
    }
  }

 private:
  std::optional<http_response> take() {
    const auto end = buf_.find("\r\n\r\n");
    if (end == std::string::npos) return std::nullopt;
    const std::string_view head(buf_.data(), end);
    http_response r;
    if (head.size() < 12 || head.substr(0, 5) != "HTTP/") throw failure("bad HTTP status line");
    r.status = std::atoi(std::string(head.substr(9, 3)).c_str());
    std::optional<std::size_t> length;
    std::size_t pos = head.find("\r\n");
    while (pos != std::string_view::npos && pos < head.size()) {
      const auto next = head.find("\r\n", pos + 2);
      std::string line(head.substr(pos + 2, (next == std::string_view::npos ? head.size() : next) - pos - 2));
      std::transform(line.begin(), line.end(), line.begin(), [](unsigned char c) { return std::tolower(c); });
      if (line.starts_with("content-length:")) length = std::stoul(line.substr(15));
      else if (line.starts_with("transfer-encoding:")) throw failure("chunked HTTP responses are not supported");
      else if (line.starts_with("connection:") && line.find("close") != std::string::npos) r.close = true;
      pos = next;
    }
    if (!length) throw failure("HTTP response without Content-Length");
    if (buf_.size() < end + 4 + *length) return std::nullopt;
    r.body = buf_.substr(end + 4, *length);
    buf_.erase(0, end + 4 + *length);
    if (r.close) sock_ = tcp_socket();  // reconnect on the next send
    return r;
  }

  std::string host_;
  int port_;
  std::string token_;
  tcp_socket sock_;
  std::string buf_;
};

// ---- Redis connection over owcore's RESP encoder and parser. ----

class redis_conn {
 public:
  redis_conn(const std::string& host, int port) : sock_(host, port) {}

  int fd() const noexcept { return sock_.fd(); }

  void send(std::initializer_list<std::string_view> args) {
    std::string out;
    redis::encode_command(out, args);
    sock_.write_all(out);
  }

  // Call when fd() is readable; replies become available through next().
  void on_readable() {
    std::string in;
    if (!sock_.read_some(in)) throw failure("Redis closed the connection");
    if (auto ec = parser_.feed(in)) throw failure("Redis reply: " + ec.message());
  }

  std::optional<redis::reply> next() {
    boost::system::error_code ec;
    auto r = parser_.next(ec);
    if (ec) throw failure("Redis reply: " + ec.message());
    return r;
  }

  redis::reply wait_reply(clock_type::duration timeout = 5s) {
    const auto until = clock_type::now() + timeout;
    for (;;) {
      if (auto r = next()) return std::move(*r);
      if (!wait_readable(fd(), until)) {
        check_deadline();
        throw failure("no Redis reply within the timeout");
      }
      on_readable();
    }
  }

  redis::reply call(std::initializer_list<std::string_view> args) {
    send(args);
    auto r = wait_reply();
    if (r.is_error()) throw failure("Redis: " + r.str);
    return r;
  }

 private:
  tcp_socket sock_;
  redis::reply_parser parser_;
};

// A pub/sub message: ["message", channel, payload]; anything else (subscribe confirmations) is not.
std::optional<std::pair<std::string, std::string>> as_message(const redis::reply& r) {
  if (r.type != redis::reply::kind::array || r.elements.size() != 3 || r.elements[0].str != "message")
    return std::nullopt;
  return std::make_pair(r.elements[1].str, r.elements[2].str);
}

std::string json_field(const std::string& body, std::string_view name) {
  // Enough for owcore's compact {"task_id":"..."}; the id is a uuid.
  const std::string key = "\"" + std::string(name) + "\":\"";
  const auto p = body.find(key);
  if (p == std::string::npos) return {};
  const auto q = body.find('"', p + key.size());
  if (q == std::string::npos) return {};
  return body.substr(p + key.size(), q - p - key.size());
}

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", s);
  return buf;
}

double ms(clock_type::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

struct stats {
  std::size_t n = 0;
  double min = 0, mean = 0, p50 = 0, p90 = 0, p99 = 0, max = 0;
};

// Nearest-rank percentiles.
stats summarize(std::vector<double> v) {
  stats s;
  s.n = v.size();
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  auto rank = [&](double q) {
    auto k = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
    return v[std::clamp<std::size_t>(k, 1, v.size()) - 1];
  };
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / static_cast<double>(v.size());
  s.min = v.front();
  s.p50 = rank(0.50);
  s.p90 = rank(0.90);
  s.p99 = rank(0.99);
  s.max = v.back();
  return s;
}

struct samples {
  std::vector<double> cancel, stop_http, stop_msg, reaction, create, floor_pubsub, floor_publish_rtt, floor_ping;
  int cancel_before_reply = 0;
};

struct bench {
  const options& o;
  http_client a, b;
  redis_conn cmd;                       // PING, PUBLISH, CONFIG, HEXISTS checks
  redis_conn sub;                       // SUBSCRIBE: the command channel (+ keyspace events)
  std::optional<redis_conn> poller;     // --detect poll: the HEXISTS loop
  std::string registry, commands, keyspace;
  std::optional<std::string> saved_notify;
  std::uint64_t floor_seq = 0;
  std::int64_t floor_receivers = -1;

  explicit bench(const options& opts)
      : o(opts),
        a(opts.host, opts.a_port, opts.token),
        b(opts.host, opts.b_port, opts.token),
        cmd(opts.host, opts.redis_port),
        sub(opts.host, opts.redis_port),
        registry(opts.prefix + ":tasks"),
        commands(opts.prefix + ":tasks:commands"),
        keyspace("__keyspace@0__:" + opts.prefix + ":tasks") {
    if (o.detect == detect_mode::poll) poller.emplace(o.host, o.redis_port);
    else {
      auto cur = cmd.call({"CONFIG", "GET", "notify-keyspace-events"});
      if (cur.elements.size() == 2) saved_notify = cur.elements[1].str;
      // K: keyspace channel, h: hash commands (the registry's HDEL). Restored at the end.
      cmd.call({"CONFIG", "SET", "notify-keyspace-events", "Kh"});
    }
    sub.send({"SUBSCRIBE", commands});
    if (o.detect == detect_mode::notify) sub.send({"SUBSCRIBE", keyspace});
    for (int i = 0; i < (o.detect == detect_mode::notify ? 2 : 1); ++i) {
      auto r = sub.wait_reply();
      if (r.type != redis::reply::kind::array || r.elements.empty() || r.elements[0].str != "subscribe")
        throw failure("SUBSCRIBE failed: " + r.str);
    }
  }

  ~bench() {
    if (saved_notify) {
      try {
        cmd.call({"CONFIG", "SET", "notify-keyspace-events", *saved_notify});
      } catch (const std::exception&) {
      }
    }
  }

  // Raw floor: PING round trip, then PUBLISH on the command channel to delivery on `sub`.
  void floor_sample(samples& s, bool record) {
    auto t0 = clock_type::now();
    if (!cmd.call({"PING"}).is_status("PONG")) throw failure("PING did not answer PONG");
    const double ping = ms(clock_type::now() - t0);

    // The same shape and channel as a real stop; A and B receive it too and find no such task.
    const std::string payload = R"({"action": "stop", "task_id": "bench-floor-)" + std::to_string(++floor_seq) + "\"}";
    std::optional<clock_type::time_point> delivered, replied;
    t0 = clock_type::now();
    cmd.send({"PUBLISH", commands, payload});
    const auto until = t0 + 5s;
    while (!delivered || !replied) {
      pollfd fds[2] = {{cmd.fd(), POLLIN, 0}, {sub.fd(), POLLIN, 0}};
      wait_any(fds, 2, until, "the floor PUBLISH");
      const auto now = clock_type::now();
      if (fds[0].revents) {
        cmd.on_readable();
        if (auto r = cmd.next()) {
          if (r->type != redis::reply::kind::integer) throw failure("PUBLISH: " + r->str);
          floor_receivers = r->integer;
          replied = now;
        }
      }
      if (fds[1].revents) {
        sub.on_readable();
        while (auto r = sub.next())
          if (auto m = as_message(*r); m && m->first == commands && m->second == payload) delivered = now;
      }
    }
    if (record) {
      s.floor_ping.push_back(ping);
      s.floor_pubsub.push_back(ms(*delivered - t0));
      s.floor_publish_rtt.push_back(ms(*replied - t0));
    }
  }

  void wait_any(pollfd* fds, int n, clock_type::time_point until, const char* what) {
    until = std::min(until, g_deadline);
    for (;;) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - clock_type::now()).count();
      if (left <= 0) {
        check_deadline();
        throw failure(std::string("timed out waiting for ") + what);
      }
      const int r = ::poll(fds, static_cast<nfds_t>(n), static_cast<int>(left));
      if (r > 0) return;
      if (r < 0 && errno != EINTR) throw failure(std::string("poll: ") + std::strerror(errno));
    }
  }

  void task_sample(samples& s, bool record, int iteration) {
    const std::string create_body =
        R"({"kind":"sleep","seconds":600,"item_id":")" + o.item + "\"}";
    auto t0 = clock_type::now();
    auto created = a.call("POST", "/api/owcore/tasks", create_body, 10s);
    const double create_ms = ms(clock_type::now() - t0);
    if (created.status != 200) throw failure("create on A: HTTP " + std::to_string(created.status) + " " + created.body);
    const auto id = json_field(created.body, "task_id");
    if (id.empty()) throw failure("create on A: no task_id in " + created.body);
    const std::string stop_msg = R"({"action": "stop", "task_id": ")" + id + "\"}";

    // Drain what is already queued for the subscriber (the HSET event of the create), so that no
    // stale wake-up falls inside the measurement.
    for (pollfd p{sub.fd(), POLLIN, 0}; ::poll(&p, 1, 0) > 0; p.revents = 0) sub.on_readable();
    while (sub.next()) {
    }

    std::optional<clock_type::time_point> t_http, t_msg, t_gone;
    t0 = clock_type::now();
    b.send("POST", "/api/tasks/stop/" + id);
    if (poller) poller->send({"HEXISTS", registry, id});
    const auto until = t0 + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(o.cancel_timeout_s));
    std::optional<http_response> stop_res;
    while (!t_http || !t_msg || !t_gone) {
      // A descriptor whose part is done is left out (poll ignores negative descriptors).
      pollfd fds[3] = {{t_http ? -1 : b.fd(), POLLIN, 0},
                       {t_msg && (t_gone || poller) ? -1 : sub.fd(), POLLIN, 0},
                       {poller && !t_gone ? poller->fd() : -1, POLLIN, 0}};
      const auto limit = std::min(until, g_deadline);
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(limit - clock_type::now()).count();
      const int r = left > 0 ? ::poll(fds, 3, static_cast<int>(left)) : 0;
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) throw failure(std::string("poll: ") + std::strerror(errno));
      const auto now = clock_type::now();
      if (r == 0) {
        check_deadline();
        throw failure("iteration " + std::to_string(iteration) + ", task " + id + ": " +
                      (!t_gone ? "not cancelled (registry entry still present)" : !t_http ? "no stop reply from B" : "stop message never seen") +
                      " within " + seconds_text(o.cancel_timeout_s) + " s");
      }
      if (fds[0].revents) {
        if (auto res = b.on_readable()) {
          t_http = now;
          stop_res = std::move(*res);
        }
      }
      if (fds[1].revents) {
        sub.on_readable();
        while (auto rep = sub.next()) {
          auto m = as_message(*rep);
          if (!m) continue;
          if (m->first == commands && m->second == stop_msg && !t_msg) t_msg = now;
          // Only this task's HDEL can touch the registry now (one task at a time, no reaping).
          else if (m->first == keyspace && m->second == "hdel" && !t_gone) t_gone = now;
        }
      }
      if (fds[2].revents) {
        poller->on_readable();
        while (auto rep = poller->next()) {
          if (rep->type != redis::reply::kind::integer) throw failure("HEXISTS: " + rep->str);
          if (rep->integer == 0) t_gone = now;
          else poller->send({"HEXISTS", registry, id});
        }
      }
    }
    if (stop_res->status != 200) throw failure("stop on B: HTTP " + std::to_string(stop_res->status) + " " + stop_res->body);
    if (stop_res->body.find("\"status\":true") == std::string::npos) throw failure("stop on B: " + stop_res->body);
    // The event said "some HDEL on the registry": confirm it was this entry.
    if (cmd.call({"HEXISTS", registry, id}).integer != 0) throw failure("task " + id + ": registry entry still present after HDEL");

    if (record) {
      s.create.push_back(create_ms);
      s.cancel.push_back(ms(*t_gone - t0));
      s.stop_http.push_back(ms(*t_http - t0));
      s.stop_msg.push_back(ms(*t_msg - t0));
      s.reaction.push_back(ms(*t_gone - *t_msg));
      if (*t_gone < *t_http) ++s.cancel_before_reply;
    }
  }
};

std::string fmt_row(const char* name, const stats& s) {
  char line[256];
  std::snprintf(line, sizeof line, "| %-52s | %4zu | %7.3f | %7.3f | %7.3f | %7.3f | %7.3f | %7.3f |", name, s.n,
                s.min, s.p50, s.p90, s.p99, s.max, s.mean);
  return line;
}

std::string fmt_json(const char* name, const stats& s) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "\"%s\":{\"min\":%.3f,\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f,\"mean\":%.3f}",
                name, s.min, s.p50, s.p90, s.p99, s.max, s.mean);
  return buf;
}

int run(const options& o) {
  const auto started = clock_type::now();
  g_deadline = started + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(o.deadline_s));
  bench bn(o);

  // The registry must be ours alone: another task's HDEL would be mistaken for ours.
  if (auto n = bn.cmd.call({"HLEN", bn.registry}).integer; n != 0)
    std::fprintf(stderr, "owcore_task_bench: warning: %s already holds %lld task(s)\n", bn.registry.c_str(),
                 static_cast<long long>(n));

  samples s;
  const int total = o.warmup + o.count;
  for (int i = 0; i < total; ++i) {
    check_deadline();
    const bool record = i >= o.warmup;
    bn.floor_sample(s, record);
    bn.task_sample(s, record, i);
    if ((i + 1) % 50 == 0 || i + 1 == total)
      std::fprintf(stderr, "owcore_task_bench: %d/%d iterations (%d warm-up)\n", i + 1, total, o.warmup);
    if (o.gap_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(o.gap_ms));
  }
  const double elapsed = std::chrono::duration<double>(clock_type::now() - started).count();

  const auto cancel = summarize(s.cancel), http = summarize(s.stop_http), msg = summarize(s.stop_msg),
             reaction = summarize(s.reaction), create = summarize(s.create), floor = summarize(s.floor_pubsub),
             pub_rtt = summarize(s.floor_publish_rtt), ping = summarize(s.floor_ping);
  const char* how = o.detect == detect_mode::notify ? "keyspace notification of the HDEL" : "tight HEXISTS loop";

  std::printf("\nstop-to-cancel across instances: %d tasks created on A (owner), stopped through B; "
              "cancel detected by %s. Milliseconds.\n\n",
              o.count, how);
  std::printf("| %-52s | %4s | %7s | %7s | %7s | %7s | %7s | %7s |\n", "measurement", "n", "min", "p50", "p90", "p99",
              "max", "mean");
  std::printf("|%s|-----:|--------:|--------:|--------:|--------:|--------:|--------:|\n", std::string(54, '-').c_str());
  std::printf("%s\n", fmt_row("stop-to-cancel: stop sent to B -> A's HDEL P:tasks", cancel).c_str());
  std::printf("%s\n", fmt_row("stop HTTP on B: stop sent -> B's 200", http).c_str());
  std::printf("%s\n", fmt_row("  stop sent -> stop message delivered (B's part)", msg).c_str());
  std::printf("%s\n", fmt_row("  stop message delivered -> HDEL (A's part)", reaction).c_str());
  std::printf("%s\n", fmt_row("create on A (HTTP, informational)", create).c_str());
  std::printf("%s\n", fmt_row("Redis floor: PUBLISH -> delivery (same channel)", floor).c_str());
  std::printf("%s\n", fmt_row("Redis floor: PUBLISH reply", pub_rtt).c_str());
  std::printf("%s\n", fmt_row("Redis floor: PING round trip", ping).c_str());
  std::printf("\ncancelled before B's 200 arrived: %d of %d; floor PUBLISH reached %lld subscriber(s); %.1f s\n\n",
              s.cancel_before_reply, o.count, static_cast<long long>(bn.floor_receivers), elapsed);
  std::printf("{\"bench\":\"task_stop_latency\",\"count\":%d,\"warmup\":%d,\"detect\":\"%s\",\"unit\":\"ms\",%s,%s,%s,%s,%s,%s,%s,%s,"
              "\"cancel_before_reply\":%d,\"floor_receivers\":%lld,\"seconds\":%.2f}\n",
              o.count, o.warmup, o.detect == detect_mode::notify ? "notify" : "poll", fmt_json("stop_to_cancel", cancel).c_str(),
              fmt_json("stop_http", http).c_str(), fmt_json("stop_to_message", msg).c_str(),
              fmt_json("message_to_cancel", reaction).c_str(), fmt_json("create", create).c_str(),
              fmt_json("floor_pubsub", floor).c_str(), fmt_json("floor_publish_reply", pub_rtt).c_str(),
              fmt_json("floor_ping", ping).c_str(), s.cancel_before_reply, static_cast<long long>(bn.floor_receivers), elapsed);
  std::fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = parse_args(argc, argv);
  if (auto* err = std::get_if<std::string>(&parsed)) {
    if (!err->empty()) std::fprintf(stderr, "owcore_task_bench: %s\n", err->c_str());
    std::fputs(usage.data(), err->empty() ? stdout : stderr);
    return err->empty() ? 0 : 2;
  }
  try {
    return run(std::get<options>(parsed));
  } catch (const deadline_passed& e) {
    std::fprintf(stderr, "owcore_task_bench: %s\n", e.what());
    return 3;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "owcore_task_bench: %s\n", e.what());
    return 1;
  }
}
