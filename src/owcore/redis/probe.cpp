#include "owcore/redis/probe.hpp"

#include "owcore/net/timeout.hpp"
#include "owcore/redis/error.hpp"

#include <boost/asio/buffer.hpp>


namespace owcore::redis {

using boost::system::error_code;
using clock = std::chrono::steady_clock;

std::string_view to_string(topology t) noexcept {
  switch (t) {
    case topology::standalone: return "standalone";
    case topology::sentinel: return "sentinel";
    case topology::cluster: return "cluster";
  }
  return "unknown";
}

namespace {

// g++ 12 miscompiles braced lists inside co_await expressions ("array used as initializer"), so
// commands are built by this plain function instead.
template <class... A>
std::vector<std::string> args(A&&... a) {
  std::vector<std::string> v;
  v.reserve(sizeof...(a));
  (v.emplace_back(std::forward<A>(a)), ...);
  return v;
}

}  // namespace

basic_connection::basic_connection(net::executor ex) : stream_(std::move(ex)) {}

net::awaitable<std::string> basic_connection::open(const net::connect_options& opts,
                                                   const credentials& auth, int db,
                                                   std::string_view client_name) {
  parser_ = reply_parser();
  if (auto ec = co_await stream_.connect(opts)) co_return "cannot connect to " + peer() + ": " + ec.message();
  const auto step = opts.timeout > clock::duration::zero() ? opts.timeout : std::chrono::seconds(5);
  if (!auth.password.empty()) {
    std::vector<std::string> cmd{"AUTH"};
    if (!auth.username.empty()) cmd.push_back(auth.username);
    cmd.push_back(auth.password);
    auto [ec, r] = co_await exec(std::move(cmd), step);
    if (ec) co_return "AUTH to " + peer() + " failed: " + ec.message();
    if (r.is_error()) co_return "AUTH to " + peer() + " refused: " + r.str;
  }
  if (db != 0) {
    auto [ec, r] = co_await exec(args("SELECT", std::to_string(db)), step);
    if (ec) co_return "SELECT " + std::to_string(db) + " on " + peer() + " failed: " + ec.message();
    if (r.is_error()) co_return "SELECT " + std::to_string(db) + " on " + peer() + " refused: " + r.str;
  }
  if (!client_name.empty()) {
    auto [ec, r] = co_await exec(args("CLIENT", "SETNAME", std::string(client_name)), step);
    if (ec) co_return "CLIENT SETNAME on " + peer() + " failed: " + ec.message();
  }
  co_return std::string{};
}

net::awaitable<error_code> basic_connection::read_reply(reply& out) {
  // (A member buffer: g++ 12 cannot keep a std::array local in a coroutine frame.)
  if (read_buf_.empty()) read_buf_.resize(16 * 1024);
  for (;;) {
    error_code ec;
    if (auto r = parser_.next(ec)) {
      out = std::move(*r);
      co_return error_code{};
    }
    if (ec) co_return ec;
    auto [rec, n] = co_await stream_.read_some(boost::asio::buffer(read_buf_));
    if (rec) co_return rec;
    if (auto fec = parser_.feed(std::string_view(read_buf_.data(), n))) co_return fec;
  }
}

net::awaitable<std::pair<error_code, reply>> basic_connection::exec(std::vector<std::string> args,
                                                                    clock::duration timeout) {
  std::string out;
  std::vector<std::string_view> views(args.begin(), args.end());
  encode_command(out, views);
  reply r;
  auto op = [&]() -> net::awaitable<error_code> {
    auto [wec, n] = co_await stream_.write(boost::asio::buffer(out));
    if (wec) co_return wec;
    co_return co_await read_reply(r);
  };
  auto ec = co_await net::with_timeout(op(), timeout);
  if (ec) stream_.close();
  co_return std::pair{ec, std::move(r)};
}

namespace {

std::string host_port(const std::string& host, std::uint16_t port) {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

net::awaitable<probe_report> ping_node(net::executor ex, const url_config& node,
                                       clock::duration timeout, bool select_db,
                                       bool expect_master) {
  probe_report rep;
  basic_connection conn(ex);
  auto opts = node.connect;
  opts.timeout = timeout;
  rep.address = node.connect.unix_path.empty() ? host_port(opts.host, opts.port)
                                               : "unix:" + node.connect.unix_path;
  if (auto err = co_await conn.open(opts, node.auth, select_db ? node.db : 0); !err.empty()) {
    rep.error = err;
    co_return rep;
  }
  const auto start = clock::now();
  auto [ec, pong] = co_await conn.exec(args("PING"), timeout);
  if (ec) {
    rep.error = "PING to " + rep.address + " failed: " + ec.message();
    co_return rep;
  }
  if (pong.is_error()) {
    rep.error = "PING to " + rep.address + " refused: " + pong.str;
    co_return rep;
  }
  rep.latency_ms = std::chrono::duration<double, std::milli>(clock::now() - start).count();
  if (expect_master) {
    auto [rec, role] = co_await conn.exec(args("ROLE"), timeout);
    if (rec || role.type != reply::kind::array || role.elements.empty() ||
        role.elements[0].str != "master") {
      rep.error = "node " + rep.address + " named by the sentinels is not a master (ROLE)";
      co_return rep;
    }
  }
  rep.ok = true;
  co_return rep;
}

}  // namespace

net::awaitable<probe_report> probe(probe_options opts) {
  auto ex = co_await boost::asio::this_coro::executor;
  if (opts.topo != topology::sentinel)
    co_return co_await ping_node(ex, opts.node, opts.timeout, opts.topo == topology::standalone,
                                 false);

  std::string tried;
  for (const auto& [host, port] : opts.sentinels) {
    basic_connection s(ex);
    net::connect_options copts = opts.node.connect;
    copts.host = host;
    copts.port = port;
    copts.unix_path.clear();
    copts.timeout = opts.timeout;
    const auto addr = host_port(host, port);
    if (auto err = co_await s.open(copts, opts.sentinel_auth); !err.empty()) {
      tried += (tried.empty() ? "" : "; ") + err;
      continue;
    }
    auto [ec, r] =
        co_await s.exec(args("SENTINEL", "GET-MASTER-ADDR-BY-NAME", opts.service_name), opts.timeout);
    if (ec || r.is_error()) {
      tried += (tried.empty() ? "" : "; ") + addr + ": " + (ec ? ec.message() : r.str);
      continue;
    }
    if (r.is_nil() || r.type != reply::kind::array || r.elements.size() != 2) {
      probe_report rep;
      rep.error = "sentinel " + addr + " does not know a master named '" + opts.service_name + "'";
      co_return rep;
    }
    url_config master = opts.node;
    master.connect.host = r.elements[0].str;
    master.connect.unix_path.clear();
    try {
      master.connect.port = static_cast<std::uint16_t>(std::stoi(r.elements[1].str));
    } catch (const std::exception&) {
      tried += (tried.empty() ? "" : "; ") + addr + ": malformed master address";
      continue;
    }
    co_return co_await ping_node(ex, master, opts.timeout, true, true);
  }
  probe_report rep;
  rep.error = "no sentinel answered (" + tried + ")";
  co_return rep;
}

}  // namespace owcore::redis
