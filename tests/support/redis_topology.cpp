#include "support/redis_topology.hpp"

#include <sys/wait.h>

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace owcore::test {

using problem = detail::topology_problem;

namespace {

constexpr auto topology_poll_interval = std::chrono::milliseconds(50);
constexpr auto probe_timeout = std::chrono::milliseconds(1000);
constexpr auto teardown_grace = std::chrono::seconds(5);
constexpr int cluster_slot_count = 16384;

std::vector<process*> children(const std::vector<redis_server*>& servers) {
  std::vector<process*> out;
  for (redis_server* s : servers) out.push_back(s->child());
  return out;
}

[[noreturn]] void throw_problem(const std::string& context, const problem& p) {
  throw std::runtime_error(with_log_tail(context + ": " + p.what, p.log));
}

// Waits with `check` (which returns the current problem, or nullopt when healthy) and throws the
// last problem seen if `until` passes first.
template <class Check>
void wait_healthy(const std::string& context, deadline until, Check&& check) {
  std::optional<problem> last;
  const bool ok = poll_until(
      until,
      [&] {
        last = check();
        return !last.has_value();
      },
      topology_poll_interval);
  if (!ok) throw_problem(context + ": deadline passed", last.value_or(problem{"unknown", {}}));
}

std::optional<std::string> role_of(redis_server& node) {
  const auto r = node.try_command({"ROLE"}, probe_timeout);
  if (!r || !r->is_array() || r->elements.empty() || !r->elements[0].is_string()) {
    return std::nullopt;
  }
  return r->elements[0].str;
}

bool sentinel_usable(redis_server& s) { return s.alive() && !s.paused(); }

int parse_int(std::string_view text) {
  int value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || ptr != text.data() + text.size()) {
    throw std::runtime_error("not an integer: " + std::string(text));
  }
  return value;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// standalone_topology

standalone_topology::standalone_topology(standalone_options options) : dir_("owcore-topo-") {
  redis_server_options server_options;
  server_options.password = std::move(options.password);
  server_options.extra_config = std::move(options.extra_config);
  server_options.tls = std::move(options.tls);
  server_ = std::make_unique<redis_server>(dir_.path(), "node-0", std::move(server_options));
}

standalone_topology::~standalone_topology() {
  if (server_) stop_all({server_->child()}, teardown_grace);
}

std::vector<pid_t> standalone_topology::pids() const { return {server_->pid()}; }

// ---------------------------------------------------------------------------------------------
// sentinel_topology

sentinel_topology::sentinel_topology(sentinel_options options)
    : options_(std::move(options)), dir_("owcore-topo-") {
  const deadline until = deadline_after(options_.ready_timeout);
  redis_server_options master_options;
  master_options.tls = options_.tls;
  nodes_.push_back(std::make_unique<redis_server>(dir_.path(), "node-0", master_options));
  redis_server_options replica_options;
  replica_options.tls = options_.tls;
  // With TLS the replica links to the TLS port (tls-replication yes).
  replica_options.replica_of_port = options_.tls ? nodes_[0]->tls_port() : nodes_[0]->port();
  nodes_.push_back(std::make_unique<redis_server>(dir_.path(), "node-1", replica_options));

  // Sentinels find the replica through the master's INFO, so let the link come up first.
  wait_healthy("sentinel_topology: replica link", until, [&]() -> std::optional<problem> {
    redis_server& replica = *nodes_[1];
    if (!replica.alive()) return problem{"the replica died", replica.log_file()};
    const auto info = replica.try_command({"INFO", "replication"}, probe_timeout);
    if (info && info->is_string() && info_field(info->str, "master_link_status") == "up") {
      return std::nullopt;
    }
    return problem{"the replica's master_link_status is not up", replica.log_file()};
  });

  for (int i = 0; i < 3; ++i) {
    redis_server_options sentinel;
    sentinel.sentinel = true;
    sentinel.tls = options_.tls;
    sentinel.extra_config =
        sentinel_monitor_config(options_.tls ? nodes_[0]->tls_port() : nodes_[0]->port());
    sentinels_.push_back(
        std::make_unique<redis_server>(dir_.path(), "sentinel-" + std::to_string(i), sentinel));
  }
  wait_ready(until);
}

sentinel_topology::~sentinel_topology() { stop_all(children(all_servers()), teardown_grace); }

std::vector<std::string> sentinel_topology::sentinel_monitor_config(int master_port) const {
  const std::string& name = options_.service_name;
  return {
      "sentinel monitor " + name + " 127.0.0.1 " + std::to_string(master_port) + " 2",
      "sentinel down-after-milliseconds " + name + " " +
          std::to_string(options_.down_after.count()),
      "sentinel failover-timeout " + name + " " + std::to_string(options_.failover_timeout.count()),
      "sentinel parallel-syncs " + name + " 1",
  };
}

void sentinel_topology::wait_ready(deadline until) {
  const std::string& name = options_.service_name;
  wait_healthy("sentinel_topology: start-up", until, [&]() -> std::optional<problem> {
    for (const auto& node : nodes_) {
      if (!node->alive()) return problem{node->name() + " died", node->log_file()};
    }
    for (const auto& s : sentinels_) {
      if (!s->alive()) return problem{s->name() + " died", s->log_file()};
      const auto master = s->try_command({"SENTINEL", "MASTER", name}, probe_timeout);
      if (!master || !master->is_array()) {
        return problem{s->name() + " doesn't answer SENTINEL MASTER", s->log_file()};
      }
      const auto flags = map_field(*master, "flags");
      const auto slaves = map_field(*master, "num-slaves");
      const auto others = map_field(*master, "num-other-sentinels");
      if (flags != "master" || slaves != "1" || others != "2") {
        return problem{s->name() + " sees flags=" + flags.value_or("?") + " num-slaves=" +
                           slaves.value_or("?") + " num-other-sentinels=" + others.value_or("?"),
                       s->log_file()};
      }
      const auto replicas = s->try_command({"SENTINEL", "REPLICAS", name}, probe_timeout);
      if (!replicas || !replicas->is_array() || replicas->elements.size() != 1) {
        return problem{s->name() + " doesn't list exactly one replica", s->log_file()};
      }
      const auto& r = replicas->elements[0];
      if (map_field(r, "flags") != "slave" || map_field(r, "master-link-status") != "ok") {
        return problem{s->name() + " sees the replica as " + r.to_string(), s->log_file()};
      }
    }
    return std::nullopt;
  });
}

std::vector<int> sentinel_topology::sentinel_ports() const {
  std::vector<int> out;
  for (const auto& s : sentinels_) out.push_back(s->port());
  return out;
}

std::vector<std::string> sentinel_topology::sentinels() const {
  std::vector<std::string> out;
  for (const auto& s : sentinels_) out.push_back(s->address());
  return out;
}

std::vector<std::string> sentinel_topology::tls_sentinels() const {
  std::vector<std::string> out;
  if (!options_.tls) return out;
  for (const auto& s : sentinels_) out.push_back(s->tls_address());
  return out;
}

std::string sentinel_topology::sentinel_hosts_csv() const {
  std::string out;
  for (std::size_t i = 0; i < sentinels_.size(); ++i) out += i == 0 ? "127.0.0.1" : ",127.0.0.1";
  return out;
}

std::vector<redis_server*> sentinel_topology::sentinel_servers() {
  std::vector<redis_server*> out;
  for (const auto& s : sentinels_) out.push_back(s.get());
  return out;
}

std::vector<redis_server*> sentinel_topology::nodes() {
  std::vector<redis_server*> out;
  for (const auto& n : nodes_) out.push_back(n.get());
  return out;
}

std::vector<redis_server*> sentinel_topology::all_servers() const {
  std::vector<redis_server*> out;
  for (const auto& n : nodes_) out.push_back(n.get());
  for (const auto& s : sentinels_) out.push_back(s.get());
  return out;
}

std::vector<pid_t> sentinel_topology::pids() const {
  std::vector<pid_t> out;
  for (redis_server* s : all_servers()) out.push_back(s->pid());
  return out;
}

std::string sentinel_topology::master_address() {
  for (const auto& s : sentinels_) {
    if (!sentinel_usable(*s)) continue;
    const auto r = s->try_command({"SENTINEL", "GET-MASTER-ADDR-BY-NAME", options_.service_name},
                                  probe_timeout);
    if (r && r->is_array() && r->elements.size() == 2 && r->elements[0].is_string() &&
        r->elements[1].is_string()) {
      return r->elements[0].str + ":" + r->elements[1].str;
    }
  }
  throw std::runtime_error(with_log_tail("sentinel_topology: no sentinel reports the master",
                                         sentinels_[0]->log_file()));
}

redis_server& sentinel_topology::node_at(const std::string& address) {
  const int port = split_address(address).second;
  for (const auto& n : nodes_) {
    if (n->port() == port || (n->tls_port() != 0 && n->tls_port() == port)) return *n;
  }
  throw std::runtime_error("sentinel_topology: " + address + " is not one of our nodes");
}

redis_server& sentinel_topology::master() { return node_at(master_address()); }

redis_server& sentinel_topology::replica() {
  redis_server& m = master();
  return nodes_[0].get() == &m ? *nodes_[1] : *nodes_[0];
}

redis_server& sentinel_topology::failover(std::chrono::milliseconds timeout) {
  const deadline until = deadline_after(timeout);
  const std::string old_address = master_address();
  std::string last = "no sentinel answered";
  const bool started = poll_until(
      until,
      [&] {
        for (const auto& s : sentinels_) {
          if (!sentinel_usable(*s)) continue;
          const auto r =
              s->try_command({"SENTINEL", "FAILOVER", options_.service_name}, probe_timeout);
          if (!r) continue;
          // INPROG: a failover is already running, which is what we want.
          if (r->is_ok() || (r->is_error() && r->str.starts_with("INPROG"))) return true;
          last = s->name() + ": " + r->to_string();
          // NOGOODSLAVE: the sentinel's view of the replica isn't fresh yet; ask again shortly.
          if (!r->is_error() || !r->str.starts_with("NOGOODSLAVE")) {
            throw std::runtime_error(with_log_tail(
                "sentinel_topology: SENTINEL FAILOVER refused: " + last, s->log_file()));
          }
          return false;
        }
        return false;
      },
      std::chrono::milliseconds(100));
  if (!started) {
    throw std::runtime_error(with_log_tail(
        "sentinel_topology: SENTINEL FAILOVER never started: " + last, sentinels_[0]->log_file()));
  }
  return wait_for_new_master(old_address, until);
}

std::string sentinel_topology::kill_master() {
  const std::string address = master_address();
  node_at(address).kill();
  return address;
}

redis_server& sentinel_topology::wait_for_new_master(const std::string& old_address,
                                                     std::chrono::milliseconds timeout) {
  return wait_for_new_master(old_address, deadline_after(timeout));
}

redis_server& sentinel_topology::wait_for_new_master(const std::string& old_address,
                                                     deadline until) {
  redis_server* found = nullptr;
  wait_healthy(
      "sentinel_topology: waiting for a new master", until, [&]() -> std::optional<problem> {
        std::optional<std::string> agreed;
        for (const auto& s : sentinels_) {
          if (!sentinel_usable(*s)) continue;
          const auto r = s->try_command(
              {"SENTINEL", "GET-MASTER-ADDR-BY-NAME", options_.service_name}, probe_timeout);
          if (!r || !r->is_array() || r->elements.size() != 2) {
            return problem{s->name() + " doesn't report the master", s->log_file()};
          }
          const std::string address = r->elements[0].str + ":" + r->elements[1].str;
          if (agreed && *agreed != address) {
            return problem{"sentinels disagree: " + *agreed + " vs " + address, s->log_file()};
          }
          agreed = address;
        }
        if (!agreed) return problem{"no sentinel is running", {}};
        if (*agreed == old_address) {
          return problem{"the sentinels still report " + old_address, sentinels_[0]->log_file()};
        }
        redis_server& candidate = node_at(*agreed);
        if (role_of(candidate) != "master") {
          return problem{candidate.name() + " is reported but its ROLE isn't master",
                         candidate.log_file()};
        }
        found = &candidate;
        return std::nullopt;
      });
  return *found;
}

// ---------------------------------------------------------------------------------------------
// cluster_topology

bool cluster_node_view::has_flag(std::string_view flag) const {
  return std::find(flags.begin(), flags.end(), flag) != flags.end();
}

bool cluster_node_view::owns_slot(int slot) const {
  return std::any_of(slots.begin(), slots.end(), [slot](const auto& range) {
    return range.first <= slot && slot <= range.second;
  });
}

std::vector<cluster_node_view> parse_cluster_nodes(std::string_view text) {
  std::vector<cluster_node_view> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;

    std::vector<std::string_view> fields;
    std::size_t f = 0;
    while (f < line.size()) {
      std::size_t sp = line.find(' ', f);
      if (sp == std::string_view::npos) sp = line.size();
      if (sp > f) fields.push_back(line.substr(f, sp - f));
      f = sp + 1;
    }
    if (fields.size() < 8)
      throw std::runtime_error("malformed CLUSTER NODES line: " + std::string(line));

    cluster_node_view node;
    node.id = fields[0];
    // ip:port@cport[,hostname]; a node without an address shows ":0@0".
    std::string_view address = fields[1].substr(0, fields[1].find_first_of("@,"));
    const auto colon = address.rfind(':');
    if (colon == std::string_view::npos) {
      throw std::runtime_error("malformed CLUSTER NODES address: " + std::string(fields[1]));
    }
    node.port = parse_int(address.substr(colon + 1));
    std::string_view flags = fields[2];
    while (!flags.empty()) {
      const auto comma = std::min(flags.find(','), flags.size());
      node.flags.emplace_back(flags.substr(0, comma));
      flags.remove_prefix(std::min(comma + 1, flags.size()));
    }
    node.master_id = fields[3];
    node.connected = fields[7] == "connected";
    for (std::size_t i = 8; i < fields.size(); ++i) {
      const std::string_view slot = fields[i];
      if (slot.starts_with('[')) continue;  // a slot being migrated or imported
      const auto dash = slot.find('-');
      if (dash == std::string_view::npos) {
        const int s = parse_int(slot);
        node.slots.emplace_back(s, s);
      } else {
        node.slots.emplace_back(parse_int(slot.substr(0, dash)), parse_int(slot.substr(dash + 1)));
      }
    }
    out.push_back(std::move(node));
  }
  return out;
}

cluster_topology::cluster_topology(cluster_options options)
    : options_(std::move(options)), dir_("owcore-topo-") {
  if (options_.masters < 3 || options_.replicas_per_master < 0) {
    throw std::invalid_argument("cluster_topology: needs at least 3 masters");
  }
  const deadline until = deadline_after(options_.ready_timeout);
  const int count = options_.masters * (1 + options_.replicas_per_master);
  redis_server_options node_options;
  node_options.cluster = true;
  node_options.cluster_node_timeout = options_.node_timeout;
  node_options.tls = options_.tls;
  for (int i = 0; i < count; ++i) {
    nodes_.push_back(
        std::make_unique<redis_server>(dir_.path(), "node-" + std::to_string(i), node_options));
  }

  std::vector<std::string> argv{"redis-cli", "--cluster", "create"};
  for (const auto& n : nodes_) argv.push_back(n->address());
  argv.insert(argv.end(), {"--cluster-replicas", std::to_string(options_.replicas_per_master),
                           "--cluster-yes"});
  const auto log = dir_.path() / "cluster-create.log";
  process cli(std::move(argv), log);
  const auto status = cli.wait_for_exit(remaining(until));
  if (!status) {
    cli.kill();
    throw std::runtime_error(
        with_log_tail("cluster_topology: redis-cli --cluster create timed out", log));
  }
  if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    throw std::runtime_error(with_log_tail("cluster_topology: redis-cli --cluster create failed (" +
                                               describe_wait_status(*status) + ")",
                                           log));
  }
  // redis-cli returns once the slot configuration agrees; replica roles spread by gossip after.
  wait_healthy("cluster_topology: start-up", until, [&] { return health_problem(true); });
}

cluster_topology::~cluster_topology() { stop_all(children(nodes()), teardown_grace); }

std::vector<redis_server*> cluster_topology::nodes() {
  std::vector<redis_server*> out;
  for (const auto& n : nodes_) out.push_back(n.get());
  return out;
}

std::vector<pid_t> cluster_topology::pids() const {
  std::vector<pid_t> out;
  for (const auto& n : nodes_) out.push_back(n->pid());
  return out;
}

bool cluster_topology::usable(redis_server& node) { return node.alive() && !node.paused(); }

redis_server* cluster_topology::node_on_port(int port) const {
  for (const auto& n : nodes_) {
    if (n->port() == port) return n.get();
  }
  return nullptr;
}

redis_server& cluster_topology::own(redis_server& node) {
  for (const auto& n : nodes_) {
    if (n.get() == &node) return node;
  }
  throw std::invalid_argument("cluster_topology: " + node.name() + " is not one of our nodes");
}

std::vector<cluster_node_view> cluster_topology::view() {
  for (const auto& n : nodes_) {
    if (!usable(*n)) continue;
    const auto r = n->try_command({"CLUSTER", "NODES"}, probe_timeout);
    if (r && r->is_string()) return parse_cluster_nodes(r->str);
  }
  throw std::runtime_error("cluster_topology: no node answers CLUSTER NODES");
}

std::vector<redis_server*> cluster_topology::masters() {
  std::vector<redis_server*> out;
  for (const auto& v : view()) {
    if (v.is_master() && !v.has_flag("fail") && !v.slots.empty()) {
      if (redis_server* s = node_on_port(v.port)) out.push_back(s);
    }
  }
  return out;
}

std::vector<redis_server*> cluster_topology::replicas() {
  std::vector<redis_server*> out;
  for (const auto& v : view()) {
    if (v.is_replica() && !v.has_flag("fail")) {
      if (redis_server* s = node_on_port(v.port)) out.push_back(s);
    }
  }
  return out;
}

redis_server* cluster_topology::master_of(const redis_server& replica) {
  const auto nodes = view();
  const auto self = std::find_if(nodes.begin(), nodes.end(),
                                 [&](const auto& v) { return v.port == replica.port(); });
  if (self == nodes.end() || !self->is_replica()) return nullptr;
  for (const auto& v : nodes) {
    if (v.id == self->master_id) return node_on_port(v.port);
  }
  return nullptr;
}

redis_server& cluster_topology::node_for_key(const std::string& key) {
  std::optional<reply> slot;
  for (const auto& n : nodes_) {
    if (!usable(*n)) continue;
    slot = n->try_command({"CLUSTER", "KEYSLOT", key}, probe_timeout);
    if (slot && slot->is_integer()) break;
  }
  if (!slot || !slot->is_integer()) {
    throw std::runtime_error("cluster_topology: no node answers CLUSTER KEYSLOT");
  }
  for (const auto& v : view()) {
    if (v.is_master() && v.owns_slot(static_cast<int>(slot->integer))) {
      if (redis_server* s = node_on_port(v.port)) return *s;
    }
  }
  throw std::runtime_error("cluster_topology: no master serves slot " +
                           std::to_string(slot->integer));
}

std::string cluster_topology::seed_url() const { return nodes_.front()->url(); }

std::string cluster_topology::seed_tls_address() const { return nodes_.front()->tls_address(); }

void cluster_topology::kill(redis_server& node) { own(node).kill(); }
void cluster_topology::pause(redis_server& node) { own(node).pause(); }
void cluster_topology::resume(redis_server& node) { own(node).resume(); }
void cluster_topology::restart(redis_server& node) { own(node).restart(); }

void cluster_topology::failover(redis_server& replica, std::chrono::milliseconds timeout) {
  const deadline until = deadline_after(timeout);
  // A manual failover times out by itself (Redis: "Manual failover timed out", after about
  // 5 s) when its master has not yet taken the replica's first REPLCONF ACK, as right after a
  // full resync on a loaded machine; it is then asked again until the deadline.
  auto next_request = std::chrono::steady_clock::now();
  wait_healthy("cluster_topology: failover of " + replica.name(), until,
               [&]() -> std::optional<problem> {
                 if (role_of(replica) == "master") return std::nullopt;
                 if (std::chrono::steady_clock::now() >= next_request) {
                   const reply r = own(replica).command({"CLUSTER", "FAILOVER"}, probe_timeout);
                   if (!r.is_ok()) {
                     throw std::runtime_error(with_log_tail(
                         "cluster_topology: CLUSTER FAILOVER on " + replica.name() + ": " + r.to_string(),
                         replica.log_file()));
                   }
                   next_request = std::chrono::steady_clock::now() + std::chrono::seconds(6);
                 }
                 return problem{replica.name() + "'s ROLE isn't master yet", replica.log_file()};
               });
  wait_until_ok(until);
}

void cluster_topology::wait_until_ok(std::chrono::milliseconds timeout) {
  wait_until_ok(deadline_after(timeout));
}

void cluster_topology::wait_until_ok(deadline until) {
  wait_healthy("cluster_topology: waiting for cluster_state:ok", until,
               [&] { return health_problem(false); });
}

std::optional<problem> cluster_topology::health_problem(bool expect_full_roles) {
  bool any = false;
  for (const auto& n : nodes_) {
    if (!usable(*n)) continue;
    any = true;
    const auto info = n->try_command({"CLUSTER", "INFO"}, probe_timeout);
    if (!info || !info->is_string()) {
      return problem{n->name() + " doesn't answer CLUSTER INFO", n->log_file()};
    }
    const auto state = info_field(info->str, "cluster_state");
    const auto slots_ok = info_field(info->str, "cluster_slots_ok");
    if (state != "ok" || slots_ok != std::to_string(cluster_slot_count)) {
      return problem{n->name() + ": cluster_state:" + state.value_or("?") +
                         " cluster_slots_ok:" + slots_ok.value_or("?"),
                     n->log_file()};
    }
    const auto text = n->try_command({"CLUSTER", "NODES"}, probe_timeout);
    if (!text || !text->is_string()) {
      return problem{n->name() + " doesn't answer CLUSTER NODES", n->log_file()};
    }
    const auto nodes = parse_cluster_nodes(text->str);
    if (nodes.size() != nodes_.size()) {
      return problem{n->name() + " knows " + std::to_string(nodes.size()) + " of " +
                         std::to_string(nodes_.size()) + " nodes",
                     n->log_file()};
    }
    if (expect_full_roles) {
      const auto masters = std::count_if(nodes.begin(), nodes.end(), [](const auto& v) {
        return v.is_master() && !v.slots.empty();
      });
      const auto replicas =
          std::count_if(nodes.begin(), nodes.end(), [](const auto& v) { return v.is_replica(); });
      if (masters != options_.masters ||
          replicas != options_.masters * options_.replicas_per_master) {
        return problem{n->name() + " sees " + std::to_string(masters) + " masters and " +
                           std::to_string(replicas) + " replicas",
                       n->log_file()};
      }
    }
    for (const auto& v : nodes) {
      redis_server* s = node_on_port(v.port);
      if (s == nullptr) {
        return problem{n->name() + " lists a foreign node on port " + std::to_string(v.port),
                       n->log_file()};
      }
      const bool running = usable(*s);
      if (v.is_master() && !v.slots.empty() && !running) {
        return problem{n->name() + " still routes slots to " + s->name() + ", which is down",
                       n->log_file()};
      }
      if (running && (v.has_flag("fail") || v.has_flag("fail?") || v.has_flag("handshake") ||
                      v.has_flag("noaddr") || !v.connected)) {
        return problem{n->name() + " sees " + s->name() + " as unhealthy", n->log_file()};
      }
      if (v.has_flag("myself") && v.is_replica()) {
        const auto master = std::find_if(nodes.begin(), nodes.end(),
                                         [&](const auto& m) { return m.id == v.master_id; });
        redis_server* master_server = master == nodes.end() ? nullptr : node_on_port(master->port);
        if (master_server != nullptr && usable(*master_server)) {
          const auto repl = n->try_command({"INFO", "replication"}, probe_timeout);
          if (!repl || !repl->is_string() || info_field(repl->str, "master_link_status") != "up") {
            return problem{n->name() + "'s link to " + master_server->name() + " isn't up",
                           n->log_file()};
          }
        }
      }
    }
  }
  if (!any) return problem{"no node is running", {}};
  return std::nullopt;
}

}  // namespace owcore::test
