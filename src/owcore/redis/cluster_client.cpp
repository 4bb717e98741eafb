#include "owcore/redis/cluster_client.hpp"

#include "owcore/net/error.hpp"
#include "owcore/redis/error.hpp"
#include "owcore/redis/io/basic_connection.hpp"
#include "owcore/redis/io/connection.hpp"
#include "owcore/redis/io/subscriber_set.hpp"
#include "owcore/redis/protocol/cluster_exec_fsm.hpp"
#include "owcore/redis/protocol/cluster_slots.hpp"
#include "owcore/redis/metrics.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <spdlog/logger.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <unordered_map>

namespace owcore::redis {

namespace asio = boost::asio;
using boost::system::error_code;
using clock = std::chrono::steady_clock;

namespace {

// Per-node queue wait: short, so a dead master is noticed and the map refreshed quickly; the
// client keeps retrying (re-routing each time) until the caller's whole queue_timeout is spent.
constexpr auto node_queue_timeout = std::chrono::seconds(2);
constexpr auto refresh_period = std::chrono::seconds(30);
constexpr auto min_refresh_gap = std::chrono::milliseconds(100);

class cluster_client final : public client, public std::enable_shared_from_this<cluster_client> {
 public:
  cluster_client(net::executor ex, client_options opts)
      : ex_(std::move(ex)), opts_(std::move(opts)), metrics_(metrics_of(opts_)) {
    if (!opts_.node.connect.host.empty())
      seeds_.push_back(address{opts_.node.connect.host, opts_.node.connect.port});
    for (auto& s : opts_.extra_seeds) seeds_.push_back(s);
  }

  void start() override {
    asio::co_spawn(ex_, periodic_refresh(weak_from_this()), asio::detached);
  }

  void stop() override {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    for (auto& [addr, c] : conns_) c->stop();
    subs_.for_each([](subscriber& s) { s.stop(); });
    if (refresh_timer_) refresh_timer_->cancel();
  }

  net::awaitable<std::pair<error_code, response>> exec(request req) override {
    if (auto err = cross_slot_error(req)) {
      if (opts_.log) opts_.log->error("{}: refused before sending: {}", opts_.name, *err);
      reply r;
      r.type = reply::kind::error;
      r.str = "CROSSSLOT " + *err;
      co_return std::pair{make_error_code(error::cross_slot), response{std::move(r)}};
    }
    const auto slot = request_slot(req);
    cluster_exec_fsm fsm(clock::now() + opts_.queue_timeout);
    std::pair<error_code, response> last{make_error_code(error::no_route), {}};
    cluster_event ev;
    ev.type = cluster_event::kind::start;
    ev.now = clock::now();
    co_return co_await drive(std::move(req), slot, std::move(fsm), ev, std::move(last),
                             std::string{});
  }

  // The fast path of the common case: the slot map names the master, which answers without a
  // redirect. A fresh cluster_exec_fsm's first action is always that send (its start event
  // only checks the deadline), so the first send goes through the view path (no copy of the
  // command) without building the FSM; any outcome the FSM must judge (a transport error, a
  // redirect) continues in judge_view(), which replays the start and hands the FSM that first
  // reply. Nothing is sent twice that exec() would not send twice. The frame stays small so
  // that Asio recycles it (its cache takes frames up to about 1 KiB).
  net::awaitable<error_code> exec_view(command_view cmd, reply& out) override {
    const auto deadline = clock::now() + opts_.queue_timeout;
    std::optional<std::uint16_t> slot;
    if (cmd.key_index > 0 && cmd.key_index < cmd.args.size())
      slot = key_slot(cmd.args[cmd.key_index]);
    std::string target;
    if (opts_.queue_timeout > clock::duration::zero()) target = route(slot);
    if (target.empty()) co_return co_await client::exec_view(cmd, out);  // nothing sent yet
    node_metrics* node = nullptr;
    auto conn = connection_for(target, node);
    if (!conn) co_return make_error_code(error::stopped);
    const auto start = latency_sample();
    auto [ec] = co_await conn->async_exec_view(cmd, out, net::use_tuple);
    node->record_one(start, ec, out);
    if (!ec && !(out.is_error() && classify_error(out.str).type != redirect::kind::none))
      co_return ec;
    co_return co_await judge_view(cmd, out, slot, deadline, ec, std::move(target));
  }

 private:
  net::awaitable<error_code> judge_view(command_view cmd, reply& out,
                                        std::optional<std::uint16_t> slot,
                                        clock::time_point deadline, error_code ec,
                                        std::string target) {
    cluster_exec_fsm fsm(deadline);
    cluster_event start;
    start.type = cluster_event::kind::start;
    start.now = deadline - opts_.queue_timeout;  // when exec_view started
    fsm.resume(start);                           // the send exec_view made
    std::pair<error_code, response> last{ec, {}};
    if (!ec) last.second.push_back(std::move(out));
    cluster_event replied;
    replied.type = cluster_event::kind::replied;
    replied.ec = ec;
    replied.client_stopped = stopped_;
    replied.now = clock::now();
    auto result = co_await drive(request::from(cmd), slot, std::move(fsm), replied, std::move(last),
                                 std::move(target));
    out = result.second.size() == 1 ? std::move(result.second.front()) : reply{};
    co_return result.first;
  }

  // The FSM's loop (protocol/cluster_exec_fsm.hpp): `ev` is the event to resume with; for a
  // `replied` event, `last` and `target` are that reply and the node it came from.
  net::awaitable<std::pair<error_code, response>> drive(request req,
                                                        std::optional<std::uint16_t> slot,
                                                        cluster_exec_fsm fsm, cluster_event ev,
                                                        std::pair<error_code, response> last,
                                                        std::string target) {
    if (ev.type == cluster_event::kind::replied) {
      ev.replies = &last.second;
      ev.target = target;
    }
    for (;;) {
      auto act = fsm.resume(ev);
      ev = cluster_event{};
      switch (act.type) {
        case cluster_action::kind::send: {
          target = act.target.empty() ? route(slot) : std::move(act.target);
          if (target.empty()) {
            last = {make_error_code(error::no_route), {}};
            ev.type = cluster_event::kind::no_route;
            break;
          }
          node_metrics* node = nullptr;
          auto conn = connection_for(target, node);
          if (!conn) co_return std::pair{make_error_code(error::stopped), response{}};
          const auto start = clock::now();
          if (act.asking) {
            metrics_.ask.inc();
            last = co_await conn->exec(cluster_exec_fsm::with_asking(req));
            if (!last.first) last.second = cluster_exec_fsm::strip_asking(std::move(last.second));
          } else {
            last = co_await conn->exec(req);
          }
          node->record(req.size(), start, last.first, last.second);
          ev.type = cluster_event::kind::replied;
          ev.ec = last.first;
          ev.replies = &last.second;
          ev.target = target;
          ev.client_stopped = stopped_;
          break;
        }
        case cluster_action::kind::refresh_slots:
          co_await refresh(act.force);
          ev.type = cluster_event::kind::refreshed;
          break;
        case cluster_action::kind::update_slot:
          {
            std::lock_guard lock(mutex_);
            map_.update(act.slot, act.target);
          }
          metrics_.moved.inc();
          spawn_refresh();
          ev.type = cluster_event::kind::updated;
          break;
        case cluster_action::kind::sleep:
          co_await sleep(act.delay);
          ev.type = cluster_event::kind::slept;
          break;
        case cluster_action::kind::done:
          if (act.ec == error::too_many_redirects && opts_.log)
            opts_.log->error("{}: giving up after repeated cluster redirects", opts_.name);
          if (act.ec) last.first = act.ec;
          co_return last;
      }
      ev.now = clock::now();
    }
  }

 public:
  std::shared_ptr<subscriber> make_subscriber(message_handler on_message, std::string log_name,
                                              std::string shard_channel) override {
    subscriber_options o;
    o.node = opts_.node;
    o.connect_timeout = opts_.connect_timeout;
    o.backoff_initial = opts_.backoff_initial;
    o.backoff_cap = opts_.backoff_cap;
    o.on_message = std::move(on_message);
    o.log = opts_.log;
    o.log_name = std::move(log_name);
    o.metrics = &metrics_;
    o.resolve = [weak = weak_from_this(), shard_channel,
                 turn = std::make_shared<std::size_t>(0)]() -> net::awaitable<std::pair<error_info, address>> {
      auto self = weak.lock();
      if (!self) co_return std::pair{error_info{make_error_code(error::stopped), "client stopped"}, address{}};
      co_await self->refresh(false);
      std::string target;
      if (!shard_channel.empty()) {
        target = self->route(key_slot(shard_channel));
      } else {
        std::vector<std::string> masters;
        {
          std::lock_guard lock(self->mutex_);
          masters = self->map_.masters();
        }
        // Classic pub/sub is cluster-wide: any master will do; rotate on every reconnect.
        if (!masters.empty()) target = masters[(*turn)++ % masters.size()];
      }
      if (target.empty()) {
        auto seeds = self->seeds_;
        if (seeds.empty())
          co_return std::pair{error_info{make_error_code(error::no_route), "no cluster node known"}, address{}};
        co_return std::pair{error_info{}, seeds[(*turn)++ % seeds.size()]};
      }
      auto hp = address::parse(target);
      if (!hp)
        co_return std::pair{error_info{make_error_code(error::protocol_error), "bad node address " + target}, address{}};
      co_return std::pair{error_info{}, std::move(*hp)};
    };
    auto s = std::make_shared<subscriber>(ex_, std::move(o));
    subs_.add(s);
    return s;
  }

  topology topo() const noexcept override { return topology::cluster; }

  std::vector<node_status> nodes() const override {
    std::lock_guard lock(mutex_);
    std::vector<node_status> out;
    for (const auto& m : map_.masters()) {
      node_status n;
      n.address = m;
      n.role = "master";
      if (auto it = conns_.find(m); it != conns_.end()) {
        n.connected = it->second->state() == connection_state::ready;
        n.writes = it->second->writes();
        n.commands_written = it->second->commands_written();
      }
      for (auto [a, b] : map_.ranges_of(m)) n.slots.emplace_back(a, b);
      out.push_back(std::move(n));
    }
    for (const auto& a : map_.nodes()) {
      bool is_master = false;
      for (const auto& o : out) is_master = is_master || o.address == a;
      if (!is_master) out.push_back(node_status{a, "replica", false, {}});
    }
    return out;
  }

 private:
  std::string route(std::optional<std::uint16_t> slot) {
    std::lock_guard lock(mutex_);
    if (slot) return map_.master_for(*slot).value_or(std::string{});
    auto masters = map_.masters();
    if (masters.empty()) return {};
    return masters[keyless_turn_++ % masters.size()];
  }

  // The connection to `addr` (made on first use) and, in `node`, its counters.
  std::shared_ptr<connection> connection_for(const std::string& addr, node_metrics*& node) {
    std::lock_guard lock(mutex_);
    if (stopped_) return nullptr;
    auto& labelled = node_metrics_[addr];
    if (!labelled) labelled = &metrics_.nodes.slot(addr);  // once per address
    node = labelled;
    if (auto it = conns_.find(addr); it != conns_.end()) return it->second;
    auto hp = address::parse(addr);
    connection_options c;
    c.node = opts_.node;
    if (hp) {
      c.node.connect.host = hp->host;
      c.node.connect.port = hp->port;
      c.node.connect.unix_path.clear();
    }
    c.select_db = false;  // Cluster has only database 0
    c.connect_timeout = opts_.connect_timeout;
    c.reply_timeout = opts_.reply_timeout;
    c.queue_timeout = std::min<clock::duration>(opts_.queue_timeout, node_queue_timeout);
    c.health_check_interval = opts_.health_check_interval;
    c.backoff_initial = opts_.backoff_initial;
    c.backoff_cap = opts_.backoff_cap;
    c.max_queued = opts_.max_queued;
    c.log = opts_.log;
    c.log_name = opts_.name + " " + addr;
    c.metrics = &metrics_;
    auto conn = std::make_shared<connection>(ex_, std::move(c));
    conn->start();
    conns_.emplace(addr, conn);
    return conn;
  }

  net::awaitable<void> sleep(std::chrono::milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(net::use_tuple);
  }

  void spawn_refresh() {
    asio::co_spawn(ex_, [weak = weak_from_this()]() -> net::awaitable<void> {
      if (auto self = weak.lock()) co_await self->refresh(false);
    }, asio::detached);
  }

  static net::awaitable<void> periodic_refresh(std::weak_ptr<cluster_client> weak) {
    auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor);
    if (auto self = weak.lock()) {
      std::lock_guard lock(self->mutex_);
      self->refresh_timer_ = timer;
    }
    for (bool first = true;; first = false) {
      {
        auto self = weak.lock();
        if (!self || self->stopped_) co_return;
        co_await self->refresh(first);
      }
      timer->expires_after(refresh_period);
      auto [ec] = co_await timer->async_wait(net::use_tuple);
      if (ec) co_return;
    }
  }

  // Reads CLUSTER SLOTS from the known masters, then the seeds; the first good answer replaces
  // the map. Rate-limited, and single-flight: a caller arriving during a refresh does not start
  // another one (it retries its request after a pause instead).
  net::awaitable<void> refresh(bool force) {
    std::vector<std::string> candidates;
    {
      std::lock_guard lock(mutex_);
      const auto now = clock::now();
      if (refreshing_ || (!force && now - last_refresh_ < min_refresh_gap)) co_return;
      refreshing_ = true;
      last_refresh_ = now;
      candidates = map_.masters();
      for (const auto& n : map_.nodes())
        if (std::find(candidates.begin(), candidates.end(), n) == candidates.end()) candidates.push_back(n);
    }
    for (const auto& s : seeds_) {
      auto a = s.to_string();
      if (std::find(candidates.begin(), candidates.end(), a) == candidates.end()) candidates.push_back(a);
    }
    auto ex = co_await asio::this_coro::executor;
    std::string failures;
    std::optional<slot_map> fresh;
    for (const auto& cand : candidates) {
      auto hp = address::parse(cand);
      if (!hp) continue;
      basic_connection c(ex);
      net::connect_options copts = opts_.node.connect;
      copts.host = hp->host;
      copts.port = hp->port;
      copts.unix_path.clear();
      copts.timeout = opts_.connect_timeout;
      if (auto err = co_await c.open(copts, opts_.node.auth)) {
        failures += (failures.empty() ? "" : "; ") + err.detail;
        continue;
      }
      std::vector<std::string> cmd{"CLUSTER", "SLOTS"};
      auto [ec, r] = co_await c.exec(std::move(cmd), opts_.reply_timeout);
      if (ec || r.is_error()) {
        failures += (failures.empty() ? "" : "; ") + cand + ": " + (ec ? ec.message() : r.str);
        continue;
      }
      std::string why;
      fresh = slot_map::from_cluster_slots(r, hp->host, &why);
      if (fresh && fresh->covered_slots() > 0) break;
      failures += (failures.empty() ? "" : "; ") + cand + ": " + (why.empty() ? "no slots" : why);
      fresh.reset();
    }
    std::vector<std::shared_ptr<connection>> retired;
    {
      std::lock_guard lock(mutex_);
      refreshing_ = false;
      if (!fresh && opts_.log && failures != last_refresh_failure_)
        opts_.log->warn("{}: cannot read the cluster slot map: {}", opts_.name, failures);
      last_refresh_failure_ = fresh ? std::string{} : failures;
      if (fresh) {
        // A master set that changed under us: a failover (not a resharding between masters).
        auto before = map_.masters(), after = fresh->masters();
        std::sort(before.begin(), before.end());
        std::sort(after.begin(), after.end());
        if (!before.empty() && before != after) metrics_.failovers_seen.inc();
        map_ = std::move(*fresh);
        const auto masters = map_.masters();
        for (auto it = conns_.begin(); it != conns_.end();) {
          if (std::find(masters.begin(), masters.end(), it->first) == masters.end()) {
            retired.push_back(it->second);
            it = conns_.erase(it);
          } else {
            ++it;
          }
        }
      }
    }
    // A demoted master may still hold requests; stopping it fails them with `stopped`/timeouts
    // that the exec loop above re-routes (unwritten ones) or reports (written ones).
    for (auto& c : retired) c->stop();
  }

  net::executor ex_;
  client_options opts_;
  std::vector<address> seeds_;
  mutable std::mutex mutex_;
  slot_map map_;
  std::unordered_map<std::string, std::shared_ptr<connection>> conns_;
  client_metrics& metrics_;
  std::unordered_map<std::string, node_metrics*> node_metrics_;  ///< guarded by mutex_; at most
                                                                  ///< the addresses ever routed to
  detail::subscriber_set subs_;
  std::shared_ptr<asio::steady_timer> refresh_timer_;
  clock::time_point last_refresh_{};
  bool refreshing_ = false;
  std::atomic<bool> stopped_{false};
  std::size_t keyless_turn_ = 0;
  std::string last_refresh_failure_;  ///< guarded by mutex_; log de-duplication
};

}  // namespace

std::shared_ptr<client> make_cluster_client(net::executor ex, client_options opts) {
  return std::make_shared<cluster_client>(std::move(ex), std::move(opts));
}

}  // namespace owcore::redis
