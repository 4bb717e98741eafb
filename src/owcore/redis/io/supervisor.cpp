#include "owcore/redis/io/supervisor.hpp"

#include "owcore/redis/io/node_setup.hpp"
#include "owcore/redis/metrics.hpp"
#include "owcore/redis/protocol/backoff.hpp"

#include <boost/asio/buffer.hpp>
#include <spdlog/logger.h>

namespace owcore::redis::io {

using boost::system::error_code;
using clock = std::chrono::steady_clock;

supervisor::supervisor(const net::executor& strand, supervisor_options opts)
    : opts_(std::move(opts)), stream_(strand), parser_(opts_.max_reply_bytes), sleep_(strand) {
  read_buf_.resize(64 * 1024);
}

std::string supervisor::peer() const {
  std::lock_guard lock(peer_mutex_);
  return peer_;
}

void supervisor::stop() {
  stopped_ = true;
  stream_.close();
  sleep_.cancel();
}

void supervisor::reconnect_now() {
  if (stopped_) return;
  stream_.close();
  sleep_.cancel();
}

net::awaitable<error_code> supervisor::read_some() {
  auto [ec, n] = co_await stream_.read_some(boost::asio::buffer(read_buf_));
  if (ec) co_return ec;
  last_read_ = clock::now();
  co_return parser_.feed(std::string_view(read_buf_.data(), n));
}

net::awaitable<error_info> supervisor::open() {
  net::connect_options target = opts_.node.connect;
  target.timeout = opts_.connect_timeout;
  if (opts_.resolve) {
    auto [err, addr] = co_await opts_.resolve();
    if (err) co_return err;
    target.host = addr.host;
    target.port = addr.port;
    target.unix_path.clear();
  }
  {
    std::lock_guard lock(peer_mutex_);
    peer_ = peer_name(target);
  }
  parser_ = reply_parser(opts_.max_reply_bytes);
  co_return co_await open_node(stream_, parser_, read_buf_, target, opts_.setup,
                               opts_.setup_timeout);
}

net::awaitable<void> supervisor::run(supervised& s) {
  backoff bo(opts_.backoff_initial, opts_.backoff_cap);
  std::string last_error;  // logged once per outage, not once per attempt
  bool outage = false;
  while (!stopped_) {
    s.on_attempt();
    auto err = co_await open();
    if (stopped_) break;
    if (err) {
      stream_.close();
      if (opts_.log && (err.detail != last_error || bo.attempts() == 0))
        opts_.log->warn("{}: {} (retrying with backoff)", opts_.log_name, err.detail);
      last_error = err.detail;
      outage = true;
      if (opts_.metrics) opts_.metrics->connect_failures.inc();
      s.on_connect_failed(err);
      sleep_.expires_after(bo.next());
      co_await sleep_.async_wait(net::use_tuple);
      continue;
    }
    if (opts_.log) {
      if (outage)
        opts_.log->info("{}: reconnected to {} ({} failed attempt(s) in between)", opts_.log_name,
                        peer(), bo.attempts());
      else
        opts_.log->debug("{}: connected to {}", opts_.log_name, peer());
    }
    bo.reset();
    last_error.clear();
    outage = false;
    if (opts_.metrics && connects_.load() > 0) opts_.metrics->reconnects.inc();
    ++connects_;
    last_read_ = clock::now();
    s.on_connected();
    const auto why = co_await s.serve();
    stream_.close();
    s.on_lost(why);
    if (stopped_) break;
    if (opts_.log)
      opts_.log->warn("{}: connection to {} lost ({}); reconnecting", opts_.log_name, peer(),
                      why.message());
    outage = true;
  }
}

}  // namespace owcore::redis::io
