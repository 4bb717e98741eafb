#include "owcore/redis/client.hpp"

#include "owcore/net/error.hpp"
#include "owcore/redis/cluster_client.hpp"
#include "owcore/redis/error.hpp"
#include "owcore/redis/io/connection.hpp"
#include "owcore/redis/io/sentinel_query.hpp"
#include "owcore/redis/io/subscriber_set.hpp"
#include "owcore/redis/protocol/sentinel.hpp"
#include "owcore/redis/metrics.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <spdlog/logger.h>

#include <mutex>

namespace owcore::redis {

using boost::system::error_code;

net::awaitable<std::pair<error_code, reply>> client::exec_one(request req) {
  auto [ec, resp] = co_await exec(std::move(req));
  if (ec || resp.empty()) co_return std::pair{ec ? ec : make_error_code(error::protocol_error), reply{}};
  co_return std::pair{ec, std::move(resp.front())};
}

net::awaitable<error_code> client::exec_view(command_view cmd, reply& out) {
  auto [ec, resp] = co_await exec(request::from(cmd));
  if (!ec && resp.size() == 1) out = std::move(resp.front());
  co_return ec;
}

net::awaitable<std::pair<error_info, address>> resolve_master(
    const std::vector<address>& sentinels, const std::string& service, const credentials& auth,
    const net::tls_options& tls, std::chrono::steady_clock::duration timeout) {
  net::connect_options base;
  base.tls = tls;
  auto found = co_await io::ask_sentinels(sentinels, service, auth, base, timeout, false);
  if (found.found) co_return std::pair{error_info{}, std::move(found.master)};
  error_info none{make_error_code(error::no_sentinel),
                  "no sentinel named a master for '" + service + "' (" + found.tried + ")"};
  co_return std::pair{std::move(none), address{}};
}

namespace {

error_info stopped_info() { return {make_error_code(error::stopped), "client stopped"}; }

connection_options node_options(const client_options& o, const std::string& log_name) {
  connection_options c;
  c.node = o.node;
  c.connect_timeout = o.connect_timeout;
  c.reply_timeout = o.reply_timeout;
  c.queue_timeout = o.queue_timeout;
  c.health_check_interval = o.health_check_interval;
  c.backoff_initial = o.backoff_initial;
  c.backoff_cap = o.backoff_cap;
  c.max_queued = o.max_queued;
  c.log = o.log;
  c.log_name = log_name;
  c.metrics = &metrics_of(o);
  return c;
}

subscriber_options sub_options(const client_options& o, message_handler on_message,
                               std::string log_name) {
  subscriber_options s;
  s.node = o.node;
  s.connect_timeout = o.connect_timeout;
  s.backoff_initial = o.backoff_initial;
  s.backoff_cap = o.backoff_cap;
  s.on_message = std::move(on_message);
  s.log = o.log;
  s.log_name = std::move(log_name);
  s.metrics = &metrics_of(o);
  return s;
}

class standalone_client final : public client {
 public:
  standalone_client(net::executor ex, client_options opts)
      : ex_(std::move(ex)), opts_(std::move(opts)),
        conn_(std::make_shared<connection>(ex_, node_options(opts_, opts_.name))),
        node_(metrics_of(opts_)) {}

  void start() override { conn_->start(); }
  void stop() override {
    conn_->stop();
    subs_.for_each([](subscriber& s) { s.stop(); });
  }
  net::awaitable<std::pair<error_code, response>> exec(request req) override {
    const auto start = std::chrono::steady_clock::now();
    const auto commands = req.size();
    auto r = co_await conn_->exec(std::move(req));
    node_.current(*conn_).record(commands, start, r.first, r.second);
    co_return r;
  }
  net::awaitable<error_code> exec_view(command_view cmd, reply& out) override {
    const auto start = latency_sample();
    auto [ec] = co_await conn_->async_exec_view(cmd, out, net::use_tuple);
    node_.current(*conn_).record_one(start, ec, out);
    co_return ec;
  }
  std::shared_ptr<subscriber> make_subscriber(message_handler on_message, std::string log_name,
                                              std::string /*shard_channel*/) override {
    auto s = std::make_shared<subscriber>(ex_, sub_options(opts_, std::move(on_message), std::move(log_name)));
    subs_.add(s);
    return s;
  }
  topology topo() const noexcept override { return topology::standalone; }
  std::vector<node_status> nodes() const override {
    return {node_status{conn_->peer(),
                        "master",
                        conn_->state() == connection_state::ready,
                        {},
                        conn_->writes(),
                        conn_->commands_written()}};
  }

 private:
  net::executor ex_;
  client_options opts_;
  std::shared_ptr<connection> conn_;
  node_tracker node_;
  detail::subscriber_set subs_;
};

// Sentinel: the master connection re-resolves through the sentinels before every connect and
// checks ROLE; a watcher subscribed to +switch-master on the sentinels moves every connection to
// the new master without waiting for an error.
class sentinel_client final : public client, public std::enable_shared_from_this<sentinel_client> {
 public:
  sentinel_client(net::executor ex, client_options opts)
      : ex_(std::move(ex)), opts_(std::move(opts)), metrics_(metrics_of(opts_)),
        node_(metrics_) {
    sentinels_ = opts_.sentinels;
  }

  void init() {
    auto weak = weak_from_this();
    auto conn_opts = node_options(opts_, opts_.name);
    conn_opts.resolve = make_resolver();
    conn_opts.require_master = true;
    conn_ = std::make_shared<connection>(ex_, std::move(conn_opts));

    subscriber_options w;
    w.node.connect.tls = opts_.node.connect.tls;
    w.node.auth = opts_.sentinel_auth;
    w.connect_timeout = opts_.connect_timeout;
    w.backoff_initial = opts_.backoff_initial;
    w.backoff_cap = opts_.backoff_cap;
    w.log = opts_.log;
    w.log_name = opts_.name + " sentinel watcher";
    w.resolve = [weak]() -> net::awaitable<std::pair<error_info, address>> {
      auto self = weak.lock();
      if (!self) co_return std::pair{stopped_info(), address{}};
      std::lock_guard lock(self->mutex_);
      // Rotate, so a dead sentinel is not asked forever.
      const auto a = self->sentinels_[self->watcher_index_++ % self->sentinels_.size()];
      co_return std::pair{error_info{}, a};
    };
    w.on_message = [weak](const message& m) {
      if (auto self = weak.lock()) self->on_switch_master(m.payload);
    };
    watcher_ = std::make_shared<subscriber>(ex_, std::move(w));
    watcher_->subscribe("+switch-master");
  }

  void start() override {
    conn_->start();
    watcher_->start();
  }
  void stop() override {
    conn_->stop();
    watcher_->stop();
    subs_.for_each([](subscriber& s) { s.stop(); });
  }

  net::awaitable<std::pair<error_code, response>> exec(request req) override {
    const int attempts = std::max(1, opts_.max_attempts);
    std::pair<error_code, response> last;
    for (int attempt = 1;; ++attempt) {
      const auto start = std::chrono::steady_clock::now();
      last = co_await conn_->exec(req);
      node_.current(*conn_).record(req.size(), start, last.first, last.second);
      const auto verdict = judge_sentinel_attempt(last.first, last.second, attempt, attempts);
      if (verdict == sentinel_verdict::done) break;
      const bool readonly = verdict == sentinel_verdict::reconnect_and_retry;
      if (opts_.log)
        opts_.log->debug("{}: attempt {}/{} failed ({}); retrying", opts_.name, attempt, attempts,
                         readonly ? std::string("READONLY") : last.first.message());
      if (readonly) {
        metrics_.failovers_seen.inc();  // the master we talk to was demoted
        conn_->reconnect_now();
      }
      if (opts_.retry_delay > std::chrono::steady_clock::duration::zero()) {
        boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, opts_.retry_delay);
        co_await t.async_wait(net::use_tuple);
      }
    }
    if (opts_.log && (last.first && last.first != error::stopped))
      opts_.log->error("{}: request failed: {}", opts_.name, last.first.message());
    co_return last;
  }

  std::shared_ptr<subscriber> make_subscriber(message_handler on_message, std::string log_name,
                                              std::string /*shard_channel*/) override {
    auto o = sub_options(opts_, std::move(on_message), std::move(log_name));
    o.resolve = make_resolver();
    auto s = std::make_shared<subscriber>(ex_, std::move(o));
    subs_.add(s);
    return s;
  }

  topology topo() const noexcept override { return topology::sentinel; }
  std::vector<node_status> nodes() const override {
    return {node_status{conn_->peer(), "master", conn_->state() == connection_state::ready, {}}};
  }

 private:
  address_resolver make_resolver() {
    return [weak = weak_from_this()]() -> net::awaitable<std::pair<error_info, address>> {
      auto self = weak.lock();
      if (!self) co_return std::pair{stopped_info(), address{}};
      std::vector<address> order;
      {
        std::lock_guard lock(self->mutex_);
        order = self->sentinels_;
      }
      auto result = co_await resolve_master(order, self->opts_.service_name,
                                            self->opts_.sentinel_auth,
                                            self->opts_.node.connect.tls, self->opts_.connect_timeout);
      co_return result;
    };
  }

  void on_switch_master(const std::string& payload) {
    const auto m = parse_switch_master(payload);
    if (!m || !is_failover_of(*m, opts_.service_name)) return;
    if (opts_.log)
      opts_.log->warn("{}: sentinel reports failover of '{}': {} -> {}; reconnecting", opts_.name,
                      m->name, m->from.to_string(), m->to.to_string());
    metrics_.failovers_seen.inc();
    conn_->reconnect_now();
    subs_.for_each([](subscriber& s) { s.reconnect_now(); });
  }

  net::executor ex_;
  client_options opts_;
  std::shared_ptr<connection> conn_;
  std::shared_ptr<subscriber> watcher_;
  mutable std::mutex mutex_;
  std::vector<address> sentinels_;
  std::size_t watcher_index_ = 0;
  client_metrics& metrics_;
  node_tracker node_;
  detail::subscriber_set subs_;
};

}  // namespace

std::shared_ptr<client> make_client(net::executor ex, client_options opts) {
  switch (opts.topo) {
    case topology::sentinel: {
      auto c = std::make_shared<sentinel_client>(std::move(ex), std::move(opts));
      c->init();
      return c;
    }
    case topology::cluster:
      return make_cluster_client(std::move(ex), std::move(opts));
    case topology::standalone:
      break;
  }
  return std::make_shared<standalone_client>(std::move(ex), std::move(opts));
}

}  // namespace owcore::redis
