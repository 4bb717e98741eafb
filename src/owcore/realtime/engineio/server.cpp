#include "owcore/realtime/engineio/server.hpp"

#include "owcore/realtime/engineio/error.hpp"
#include "owcore/realtime/engineio/handshake.hpp"
#include "owcore/realtime/engineio/websocket.hpp"
#include "owcore/realtime/metrics.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/write.hpp>
#include <spdlog/logger.h>

#include <optional>

#include <unistd.h>

namespace owcore::realtime::engineio {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using asio::ip::tcp;

namespace {

// The reference server's numeric error codes, which clients log.
int wire_code(error e) noexcept {
  switch (e) {
    case error::unknown_transport: return 0;
    case error::unknown_sid: return 1;
    case error::bad_handshake_method: return 2;
    case error::forbidden_origin: return 4;
    case error::unsupported_version: return 5;
    default: return 3;
  }
}

bhttp::status http_status(error e) noexcept {
  switch (e) {
    case error::forbidden_origin: return bhttp::status::forbidden;
    case error::payload_too_large: return bhttp::status::payload_too_large;
    case error::too_many_sessions: return bhttp::status::service_unavailable;
    default: return bhttp::status::bad_request;
  }
}

error to_error(const boost::system::error_code& ec) noexcept {
  if (ec.category() == engineio_category()) return static_cast<error>(ec.value());
  return error::bad_request;
}

// Moves an accepted socket onto `ex` (the session's strand), so that its completions run there.
std::optional<tcp::socket> rehome(beast::tcp_stream stream, const net::executor& ex) {
  tcp::socket old = stream.release_socket();
  boost::system::error_code ec;
  const auto endpoint = old.local_endpoint(ec);
  if (ec) return std::nullopt;
  const auto native = old.release(ec);
  if (ec) return std::nullopt;
  tcp::socket fresh(ex);
  fresh.assign(endpoint.protocol(), native, ec);
  if (ec) {
    ::close(native);
    return std::nullopt;
  }
  return fresh;
}

net::awaitable<void> reject_upgrade(beast::tcp_stream stream, http_response res) {
  res.keep_alive(false);
  res.prepare_payload();
  stream.expires_after(std::chrono::seconds(5));
  co_await bhttp::async_write(stream, res, net::use_tuple);
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.socket().close(ignored);
}

request_info info_of(const http_request& req) {
  request_info info;
  info.target = std::string(req.target());
  info.headers = static_cast<const bhttp::fields&>(req);
  // The handshake's own headers are of no use later and cost memory on every connection.
  for (auto f : {bhttp::field::connection, bhttp::field::upgrade, bhttp::field::sec_websocket_key,
                 bhttp::field::sec_websocket_version, bhttp::field::sec_websocket_extensions})
    info.headers.erase(f);
  return info;
}

}  // namespace

server::server(net::executor ex, server_options opts, open_handler on_open)
    : ex_(std::move(ex)), opts_(std::move(opts)), on_open_(std::move(on_open)) {}

server::~server() = default;

session_config server::make_session_config(transport_kind) const {
  session_config c;
  c.fsm.ping_interval = opts_.ping_interval;
  c.fsm.ping_timeout = opts_.ping_timeout;
  c.fsm.upgrade_timeout = opts_.upgrade_timeout;
  c.fsm.close_linger = opts_.close_linger;
  c.fsm.max_payload = opts_.max_payload;
  c.fsm.max_queued_packets = opts_.max_queued_packets;
  c.fsm.max_queued_bytes = opts_.max_queued_bytes;
  c.limits.max_packets = opts_.max_packets_per_payload;
  c.max_payload = opts_.max_payload;
  c.upgrades_allowed = opts_.allow_upgrades && opts_.allow_websocket;
  if (opts_.trace) c.trace = opts_.log;
  return c;
}

std::string server::make_open_packet(const std::string& sid, transport_kind t) const {
  handshake_info h;
  h.sid = sid;
  if (t == transport_kind::polling && opts_.allow_upgrades && opts_.allow_websocket)
    h.upgrades.emplace_back("websocket");
  h.ping_interval = opts_.ping_interval;
  h.ping_timeout = opts_.ping_timeout;
  h.max_payload = opts_.max_payload;
  return open_payload(h);
}

bool server::try_register(const std::shared_ptr<session>& s) {
  std::lock_guard lock(mutex_);
  if (stopping_ || sessions_.size() >= opts_.max_sessions) return false;
  if (!sessions_.emplace(s->id(), s).second) return false;
  auto& m = metrics().engineio;
  const auto t = static_cast<std::size_t>(s->transport());
  m.opened[t].inc();
  m.sessions[t].add();
  return true;
}

void server::unregister(const std::string& sid, transport_kind current, close_reason why) {
  std::lock_guard lock(mutex_);
  if (sessions_.erase(sid) == 0) return;  // never registered (refused at the limit)
  auto& m = metrics().engineio;
  m.sessions[static_cast<std::size_t>(current)].sub();
  m.closed[static_cast<std::size_t>(why)].inc();
}

std::size_t server::session_count() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

std::shared_ptr<session> server::find(std::string_view sid) const {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(std::string(sid));
  return it == sessions_.end() ? nullptr : it->second.lock();
}

std::shared_ptr<session_listener> server::opened(const std::shared_ptr<session>& s) {
  if (!on_open_) return nullptr;
  try {
    return on_open_(s);
  } catch (const std::exception& e) {
    if (opts_.log) opts_.log->error("engine.io open handler failed for {}: {}", s->id(), e.what());
    s->close(close_reason::protocol_error);
    return nullptr;
  }
}

void server::shutdown() {
  stopping_ = true;
  std::vector<std::shared_ptr<session>> live;
  {
    std::lock_guard lock(mutex_);
    for (auto& [sid, weak] : sessions_)
      if (auto s = weak.lock()) live.push_back(std::move(s));
  }
  for (auto& s : live) s->close(close_reason::shutdown);
}

void server::add_cors(const http_request& req, http_response& res) const {
  const auto origin = req[bhttp::field::origin];
  if (origin.empty()) return;
  res.set(bhttp::field::access_control_allow_origin, origin);
  res.set(bhttp::field::access_control_allow_credentials, "true");
  res.set(bhttp::field::vary, "Origin");
}

http_response server::error_response(const http_request& req, error e) const {
  http_response res{http_status(e), req.version()};
  res.set(bhttp::field::content_type, "application/json");
  res.body() = "{\"code\":" + std::to_string(wire_code(e)) + ",\"message\":\"" +
               make_error_code(e).message() + "\"}";
  if (e != error::forbidden_origin) add_cors(req, res);
  return res;
}

net::awaitable<http_response> server::handshake(http_request req) {
  auto self = shared_from_this();
  if (stopping_) co_return error_response(req, error::too_many_sessions);
  net::executor strand = net::make_strand(ex_);
  auto s = std::make_shared<session>(weak_from_this(), strand, sids_.next(), transport_kind::polling,
                                     make_session_config(transport_kind::polling), info_of(req));
  if (!try_register(s)) co_return error_response(req, error::too_many_sessions);
  auto op = s->open_polling(make_open_packet(s->id(), transport_kind::polling));
  const auto r = co_await asio::co_spawn(strand, std::move(op), asio::use_awaitable);
  http_response res{bhttp::status::ok, req.version()};
  res.set(bhttp::field::content_type, "text/plain; charset=UTF-8");
  res.body() = r.body;
  add_cors(req, res);
  co_return res;
}

net::awaitable<http_response> server::handle_request(http_request req) {
  auto self = shared_from_this();
  const auto origin = req[bhttp::field::origin];
  if (!origin.empty() && !origin_allowed(origin, opts_.cors_allowed_origins))
    co_return error_response(req, error::forbidden_origin);

  if (req.method() == bhttp::verb::options) {
    http_response res{bhttp::status::no_content, req.version()};
    add_cors(req, res);
    res.set(bhttp::field::access_control_allow_methods, "GET, POST, OPTIONS");
    if (auto h = req[bhttp::field::access_control_request_headers]; !h.empty())
      res.set(bhttp::field::access_control_allow_headers, h);
    res.set(bhttp::field::access_control_max_age, "86400");
    co_return res;
  }

  auto params = parse_request(req.target());
  if (!params) co_return error_response(req, to_error(params.error()));
  if (params->transport == transport_kind::websocket)
    // A WebSocket request without the upgrade headers (Open WebUI rejects these too).
    co_return error_response(req, opts_.allow_websocket ? error::bad_request : error::unknown_transport);
  if (!opts_.allow_polling) co_return error_response(req, error::unknown_transport);

  if (!params->sid) {
    if (req.method() != bhttp::verb::get) co_return error_response(req, error::bad_handshake_method);
    co_return co_await handshake(std::move(req));
  }

  auto s = find(*params->sid);
  if (!s) co_return error_response(req, error::unknown_sid);
  auto strand = s->get_executor();
  session::http_result r;
  if (req.method() == bhttp::verb::get) {
    auto op = s->poll();
    r = co_await asio::co_spawn(strand, std::move(op), asio::use_awaitable);
  } else if (req.method() == bhttp::verb::post) {
    auto op = s->post(std::move(req.body()));
    r = co_await asio::co_spawn(strand, std::move(op), asio::use_awaitable);
  } else {
    co_return error_response(req, error::bad_request);
  }
  if (r.status != 200) co_return error_response(req, r.code);
  http_response res{bhttp::status::ok, req.version()};
  res.set(bhttp::field::content_type, "text/plain; charset=UTF-8");
  res.body() = std::move(r.body);
  add_cors(req, res);
  co_return res;
}

void server::handle_upgrade(http_request req, beast::tcp_stream stream, beast::flat_buffer buffer) {
  (void)buffer;  // a client sends nothing before the 101, so no WebSocket bytes can be in it
  auto reject = [&](error e) {
    auto ex = stream.get_executor();
    asio::co_spawn(ex, reject_upgrade(std::move(stream), error_response(req, e)), asio::detached);
  };
  const auto origin = req[bhttp::field::origin];
  if (!origin.empty() && !origin_allowed(origin, opts_.cors_allowed_origins)) return reject(error::forbidden_origin);
  auto params = parse_request(req.target());
  if (!params) return reject(to_error(params.error()));
  if (params->transport != transport_kind::websocket || !opts_.allow_websocket)
    return reject(error::unknown_transport);
  // RFC 6455 §4.2.1: GET, Upgrade: websocket, Connection: Upgrade, version 13, a valid key.
  std::optional<std::string> accept;
  if (req.method() == bhttp::verb::get && ws::has_token(req[bhttp::field::upgrade], "websocket") &&
      ws::has_token(req[bhttp::field::connection], "upgrade") && req[bhttp::field::sec_websocket_version] == "13")
    accept = ws::accept_key(req[bhttp::field::sec_websocket_key]);
  if (!accept) return reject(error::bad_request);

  if (params->sid) {
    auto s = find(*params->sid);
    if (!s) return reject(error::unknown_sid);
    auto moved = rehome(std::move(stream), s->get_executor());
    if (!moved) return;
    asio::dispatch(s->get_executor(), [s, a = std::move(*accept), sock = std::move(*moved)]() mutable {
      session::run_upgrade(s, std::move(a), std::move(sock));
    });
    return;
  }

  if (stopping_ || session_count() >= opts_.max_sessions) return reject(error::too_many_sessions);
  net::executor strand = net::make_strand(ex_);
  auto moved = rehome(std::move(stream), strand);
  if (!moved) return;
  auto s = std::make_shared<session>(weak_from_this(), strand, sids_.next(), transport_kind::websocket,
                                     make_session_config(transport_kind::websocket), info_of(req));
  auto open = make_open_packet(s->id(), transport_kind::websocket);
  asio::dispatch(strand, [s, a = std::move(*accept), sock = std::move(*moved), open = std::move(open)]() mutable {
    session::run_new_websocket(s, std::move(a), std::move(sock), std::move(open));
  });
}

}  // namespace owcore::realtime::engineio
