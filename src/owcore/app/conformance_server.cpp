#include "owcore/app/conformance_server.hpp"

#include "owcore/app/cli.hpp"
#include "owcore/app/logging.hpp"
#include "owcore/app/realtime_wiring.hpp"
#include "owcore/http/server.hpp"
#include "owcore/realtime/adapter/memory_adapter.hpp"
#include "owcore/realtime/engineio/server.hpp"
#include "owcore/realtime/profiles/profiles.hpp"
#include "owcore/realtime/socketio/server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/logger.h>

#include <charconv>
#include <chrono>
#include <csignal>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace owcore::app {
namespace {

namespace asio = boost::asio;
namespace eio = realtime::engineio;
namespace sio = realtime::socketio;

constexpr std::string_view conformance_usage =
    "usage: owcore conformance-server [--port 3000] [--host 127.0.0.1] [--profile conformance]\n"
    "                                 [--cors '*' | 'https://a.example;https://b.example']\n"
    "                                 [--threads 1] [--ping-timeout-ms 200]\n";

// `v` as a whole number in [lo, hi], or nullopt.
template <class T>
std::optional<T> number_in(std::string_view v, T lo, T hi) {
  T n{};
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size() || n < lo || n > hi) return std::nullopt;
  return n;
}

// The engine.io-protocol README's reference: every message goes back as it came.
class echo_listener final : public eio::session_listener {
 public:
  explicit echo_listener(std::weak_ptr<eio::session> s) : session_(std::move(s)) {}
  void on_message(std::string data, bool binary) override {
    if (auto s = session_.lock()) s->send(std::move(data), binary);
  }
  void on_close(eio::close_reason) override {}

 private:
  std::weak_ptr<eio::session> session_;
};

// The official test suites expect a 300 ms ping interval and a 200 ms ping timeout.
eio::server_options reference_options(const std::vector<std::string>& cors,
                                      std::chrono::milliseconds ping_timeout) {
  eio::server_options o;
  o.ping_interval = std::chrono::milliseconds(300);
  o.ping_timeout = ping_timeout;
  o.max_payload = 1'000'000;
  o.cors_allowed_origins = cors;
  return o;
}

}  // namespace

int run_conformance_server(int argc, char** argv, const realtime::profiles::registry& profiles) {
  std::string host = "127.0.0.1";
  std::string profile = "conformance";
  std::vector<std::string> cors{"*"};
  std::uint16_t port = 3000;
  unsigned threads = 1;
  std::chrono::milliseconds ping_timeout{200};
  for (int i = 0; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (i + 1 >= argc) {
      std::cerr << "owcore conformance-server: " << a << " needs a value\n" << conformance_usage;
      return exit_config;
    }
    const std::string_view v = argv[++i];
    const auto bad = [&] {
      std::cerr << "owcore conformance-server: bad " << a << " '" << v << "'\n" << conformance_usage;
      return exit_config;
    };
    if (a == "--port") {
      const auto n = number_in<std::uint16_t>(v, 0, 65535);
      if (!n) return bad();
      port = *n;
    } else if (a == "--threads") {
      const auto n = number_in<unsigned>(v, 1, 64);
      if (!n) return bad();
      threads = *n;
    } else if (a == "--ping-timeout-ms") {
      // Our own client tests raise it so that a busy machine cannot make a healthy client miss a
      // pong; the official suites run with the default.
      const auto n = number_in<unsigned>(v, 50, 60'000);
      if (!n) return bad();
      ping_timeout = std::chrono::milliseconds(*n);
    } else if (a == "--host") {
      host = v;
    } else if (a == "--profile") {
      profile = v;
    } else if (a == "--cors") {
      cors.clear();
      std::size_t start = 0;
      while (start <= v.size()) {
        const auto end = std::min(v.find(';', start), v.size());
        if (end > start) cors.emplace_back(v.substr(start, end - start));
        start = end + 1;
      }
    } else {
      std::cerr << "owcore conformance-server: unknown option " << a << "\n" << conformance_usage;
      return exit_config;
    }
  }

  const auto* chosen = profiles.find(profile);
  if (!chosen) {
    std::cerr << "owcore conformance-server: unknown profile '" << profile << "' ("
              << profiles.names() << ")\n";
    return exit_config;
  }

  init_logging("text", "INFO");
  auto log = get_logger("owcore");
  asio::io_context ioc(static_cast<int>(threads));
  auto routes = std::make_shared<http::router>();

  auto plain = std::make_shared<eio::server>(
      ioc.get_executor(), reference_options(cors, ping_timeout),
      [](const std::shared_ptr<eio::session>& s) { return std::make_shared<echo_listener>(s); });
  add_engineio_routes(*routes, "/engine.io/", plain);

  sio::server_options sopts;
  sopts.connect_timeout = std::chrono::milliseconds(1000);
  sopts.log = log;
  auto sockets = std::make_shared<sio::server>(sopts, std::make_shared<realtime::adapter::memory_adapter>());
  (*chosen)(*sockets, {});
  auto eopts = reference_options(cors, ping_timeout);
  eopts.log = log;
  auto engine = std::make_shared<eio::server>(
      ioc.get_executor(), eopts,
      [sockets](const std::shared_ptr<eio::session>& s) { return sockets->attach(s); });
  add_engineio_routes(*routes, "/socket.io/", engine);

  http::server_options hopts;
  hopts.host = host;
  hopts.port = port;
  auto srv = std::make_shared<http::server>(ioc.get_executor(), hopts, routes);
  if (auto r = srv->listen(); !r) {
    log->critical("cannot listen on {}:{}: {}", host, port, r.error().message());
    return exit_config;
  }

  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    plain->shutdown();
    engine->shutdown();
    srv->shutdown();
  });
  asio::co_spawn(ioc, srv->run(), [&](std::exception_ptr) {
    signals.cancel();
    ioc.stop();
  });
  log->info("conformance server on http://{}:{} (/engine.io/ echo, /socket.io/ profile {})", host,
            srv->local_port(), profile);
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i) pool.emplace_back([&] { ioc.run(); });
  ioc.run();
  for (auto& t : pool) t.join();
  return exit_ok;
}

}  // namespace owcore::app
