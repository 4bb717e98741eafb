#include "owcore/http/server.hpp"

#include "owcore/net/listener.hpp"
#include "owcore/net/timeout.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <spdlog/logger.h>

#include <vector>

namespace owcore::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::ip::tcp;
using boost::system::error_code;
using clock = std::chrono::steady_clock;

class server::connection : public std::enable_shared_from_this<connection> {
 public:
  connection(std::shared_ptr<server> srv, tcp::socket sock, std::uint64_t id)
      : srv_(std::move(srv)), ex_(sock.get_executor()), stream_(std::move(sock)), id_(id) {
    error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
  }

  // Kept apart from the stream, which is moved away on an upgrade.
  net::executor get_executor() { return ex_; }

  net::awaitable<void> run() {
    auto self = shared_from_this();
    try {
      co_await serve();
    } catch (const std::exception& e) {
      if (srv_->opts_.access_log) srv_->opts_.access_log->error("connection {}: {}", remote_, e.what());
    }
    if (!upgraded_) {
      error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      stream_.socket().close(ignored);
    }
    srv_->connection_closed(id_);
  }

  /// On shutdown: an idle keep-alive connection closes now; a busy one finishes its request.
  void stop_if_idle() {
    asio::post(get_executor(), [self = shared_from_this()] {
      if (self->idle_ && !self->upgraded_) {
        error_code ignored;
        self->stream_.socket().cancel(ignored);
      }
    });
  }

  void force_close() {
    asio::post(get_executor(), [self = shared_from_this()] {
      if (self->upgraded_) return;
      error_code ignored;
      self->stream_.socket().close(ignored);
    });
  }

 private:
  net::awaitable<error_code> wait_readable() {
    auto [ec] = co_await stream_.socket().async_wait(tcp::socket::wait_read, net::use_tuple);
    co_return ec;
  }

  net::awaitable<void> serve() {
    const auto& opts = srv_->opts_;
    for (;;) {
      if (buffer_.size() == 0) {
        if (srv_->stopping_) co_return;
        idle_ = true;
        auto ec = co_await net::with_timeout(wait_readable(), opts.idle_timeout);
        idle_ = false;
        if (ec) co_return;  // idle timeout, peer gone, or shutdown cancelled the wait
      }

      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(opts.header_limit));
      parser.body_limit(opts.body_limit);
      stream_.expires_after(opts.request_timeout);
      auto [rec, nread] = co_await bhttp::async_read(stream_, buffer_, parser, net::use_tuple);
      const auto start = clock::now();
      if (rec) {
        // Answer what the client can act on; anything else (reset, eof mid-request) just closes.
        bhttp::status status{};
        if (rec == bhttp::error::body_limit) status = bhttp::status::payload_too_large;
        else if (rec == bhttp::error::header_limit)
          status = bhttp::status::request_header_fields_too_large;
        else if (rec == beast::error::timeout) status = bhttp::status::request_timeout;
        else if (rec.category() == make_error_code(bhttp::error::bad_target).category() &&
                 rec != bhttp::error::end_of_stream && rec != bhttp::error::partial_message)
          status = bhttp::status::bad_request;
        else co_return;
        metrics().routes.slot("unparsed").count(static_cast<unsigned>(status));
        request dummy;
        auto res = json_response(dummy, status,
                                 std::string(R"({"detail":")") + std::string(bhttp::obsolete_reason(status)) + "\"}");
        res.keep_alive(false);
        co_await send(res, "-", "-", start);
        co_return;
      }

      request req = parser.release();
      route_metrics* upgrade_counters = nullptr;
      if (auto* take = srv_->routes_->find_upgrade(req, &upgrade_counters)) {
        // Counted as taken over (101); the taker may still answer an error and close.
        if (upgrade_counters) upgrade_counters->count(101);
        if (opts.access_log)
          opts.access_log->info("{} \"{} {}\" 101 upgrade", remote_, req.method_string(), target_path(req.target()));
        stream_.expires_never();
        (*take)(std::move(req), std::move(stream_), std::move(buffer_));
        upgraded_ = true;
        co_return;
      }
      response res;
      try {
        res = co_await srv_->routes_->dispatch(req);
      } catch (const std::exception& e) {
        if (opts.access_log) opts.access_log->error("handler for {} failed: {}", target_path(req.target()), e.what());
        res = json_response(req, bhttp::status::internal_server_error,
                            R"({"detail":"Internal Server Error"})");
      }
      const bool keep = req.keep_alive() && !srv_->stopping_;
      res.keep_alive(keep);
      if (req.method() == bhttp::verb::head) {
        res.prepare_payload();
        bhttp::response<bhttp::empty_body> head{res.base()};
        head.keep_alive(keep);
        if (!co_await send(head, req.method_string(), req.target(), start, res.body().size()))
          co_return;
      } else if (!co_await send(res, req.method_string(), req.target(), start)) {
        co_return;
      }
      if (!keep) co_return;
    }
  }

  template <class Message>
  net::awaitable<bool> send(Message& res, std::string_view method, std::string_view target,
                            clock::time_point start, std::size_t logged_bytes = SIZE_MAX) {
    res.set(bhttp::field::server, "owcore");
    if constexpr (std::is_same_v<Message, response>) res.prepare_payload();
    stream_.expires_after(srv_->opts_.request_timeout);
    auto [ec, n] = co_await bhttp::async_write(stream_, res, net::use_tuple);
    if (const auto& log = srv_->opts_.access_log) {
      std::size_t bytes = logged_bytes;
      if constexpr (std::is_same_v<Message, response>) bytes = res.body().size();
      log->info("{} \"{} {}\" {} {} {:.2f}ms{}", remote_, method, target_path(target),
                res.result_int(), bytes,
                std::chrono::duration<double, std::milli>(clock::now() - start).count(),
                ec ? " write failed: " + ec.message() : std::string());
    }
    co_return !ec;
  }

  std::shared_ptr<server> srv_;
  net::executor ex_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::uint64_t id_;
  std::string remote_ = "-";
  bool idle_ = false;  ///< true only while waiting for the first byte of a request
  bool upgraded_ = false;  ///< the stream was handed to an upgrade handler
};

server::server(net::executor ex, server_options opts, std::shared_ptr<const router> routes)
    : ex_(ex), strand_(asio::make_strand(ex)), opts_(std::move(opts)), routes_(std::move(routes)),
      drained_(strand_) {}

server::~server() = default;

boost::system::result<void> server::listen() {
  auto acceptor = net::open_acceptor(strand_, opts_.host, opts_.port);
  if (!acceptor) return acceptor.error();
  error_code ec;
  local_port_ = acceptor->local_endpoint(ec).port();
  acceptor_.emplace(std::move(*acceptor));
  return {};
}

std::size_t server::connection_count() const {
  std::lock_guard lock(mutex_);
  return connections_.size();
}

void server::connection_closed(std::uint64_t id) {
  bool drained = false;
  {
    std::lock_guard lock(mutex_);
    connections_.erase(id);
    drained = connections_.empty() && stopping_;
  }
  if (drained) asio::post(strand_, [self = shared_from_this()] { self->drained_.cancel(); });
}

void server::shutdown() {
  asio::post(strand_, [self = shared_from_this()] {
    if (self->stopping_.exchange(true)) return;
    error_code ignored;
    if (self->acceptor_) self->acceptor_->close(ignored);
    std::vector<std::shared_ptr<connection>> live;
    {
      std::lock_guard lock(self->mutex_);
      for (auto& [id, weak] : self->connections_)
        if (auto c = weak.lock()) live.push_back(std::move(c));
    }
    for (auto& c : live) c->stop_if_idle();
  });
}

net::awaitable<void> server::run() {
  auto self = shared_from_this();
  while (!stopping_ && acceptor_ && acceptor_->is_open()) {
    auto [ec, sock] = co_await acceptor_->async_accept(net::make_strand(ex_), net::use_tuple);
    if (ec) {
      if (stopping_ || ec == asio::error::operation_aborted) break;
      // Out of descriptors and similar: back off briefly instead of spinning.
      asio::steady_timer pause(strand_, std::chrono::milliseconds(100));
      co_await pause.async_wait(net::use_tuple);
      continue;
    }
    std::shared_ptr<connection> c;
    {
      std::lock_guard lock(mutex_);
      if (connections_.size() >= opts_.max_connections) continue;  // sock closes on scope exit
      c = std::make_shared<connection>(self, std::move(sock), next_id_++);
      connections_.emplace(next_id_ - 1, c);
    }
    // The completion handler owns the connection until its coroutine ends: the coroutine may
    // start after `c` here is gone (it only takes its own reference once it runs).
    asio::co_spawn(c->get_executor(), c->run(), [c](std::exception_ptr) {});
  }

  // Drain: wait for in-flight requests until the deadline, then close what is left.
  drained_.expires_after(opts_.shutdown_timeout);
  while (connection_count() > 0 && drained_.expiry() > clock::now())
    co_await drained_.async_wait(net::use_tuple);
  if (connection_count() > 0) {
    std::vector<std::shared_ptr<connection>> live;
    {
      std::lock_guard lock(mutex_);
      for (auto& [id, weak] : connections_)
        if (auto c = weak.lock()) live.push_back(std::move(c));
    }
    if (opts_.access_log)
      opts_.access_log->warn("shutdown deadline passed; closing {} connection(s)", live.size());
    for (auto& c : live) c->force_close();
    drained_.expires_after(std::chrono::seconds(1));
    while (connection_count() > 0 && drained_.expiry() > clock::now())
      co_await drained_.async_wait(net::use_tuple);
  }
}

}  // namespace owcore::http
