#include "owcore/app/doctor_report.hpp"

#include <boost/json/array.hpp>
#include <fmt/format.h>

#include <cmath>
#include <string_view>

namespace owcore::app {
namespace {

namespace json = boost::json;

double round3(double ms) { return std::round(ms * 1000.0) / 1000.0; }

std::string ms_text(double ms) { return fmt::format("{:.2f} ms", ms); }

json::value opt_number(const std::optional<double>& v) {
  return v ? json::value(round3(*v)) : json::value(nullptr);
}

json::value opt_string(const std::string& v) {
  return v.empty() ? json::value(nullptr) : json::value(v);
}

json::array strings(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

json::object node_json(const node_report& n) {
  json::object o;
  o["addr"] = n.addr;
  o["role"] = n.role;
  json::array slots;
  for (const auto& [first, last] : n.slots) slots.push_back(json::array{first, last});
  o["slots"] = std::move(slots);
  o["master"] = opt_string(n.master);
  o["state"] = n.state;
  o["reachable"] = n.reachable ? json::value(*n.reachable) : json::value(nullptr);
  o["latency_ms"] = opt_number(n.latency_ms);
  o["error"] = opt_string(n.error);
  return o;
}

json::object client_json(const client_report& r, const std::string& key_prefix) {
  // Every key is always present (null or empty when it does not apply) so consumers need no
  // per-topology schema.
  json::object o;
  o["configured"] = r.configured;
  if (!r.configured) {
    o["note"] = r.name == "app"
                    ? "REDIS_URL and REDIS_SENTINEL_HOSTS are empty: in-memory backends are in use"
                    : "WEBSOCKET_MANAGER is not redis: Socket.IO state is process-local";
  }
  o["variable"] = opt_string(r.variable);
  o["url"] = opt_string(r.url);
  o["topology"] = r.configured ? json::value(redis::to_string(r.topo)) : json::value(nullptr);
  o["healthy"] = r.status() == severity::healthy;
  o["status"] = to_string(r.status());
  o["latency_ms"] = opt_number(r.latency_ms);
  o["version"] = opt_string(r.version);
  o["key_prefix"] = key_prefix;
  o["db"] = r.configured ? json::value(r.db) : json::value(nullptr);
  o["keys"] = r.keys ? json::value(*r.keys) : json::value(nullptr);
  o["master"] = r.topo == redis::topology::cluster ? json::value(nullptr) : opt_string(r.master);
  json::array replicas, replica_details;
  for (const auto& n : r.replicas) {
    replicas.emplace_back(n.addr);
    replica_details.push_back(node_json(n));
  }
  o["replicas"] = std::move(replicas);
  o["replica_details"] = std::move(replica_details);
  o["service_name"] = opt_string(r.service_name);
  json::array sentinels;
  for (const auto& s : r.sentinels) {
    json::object so;
    so["addr"] = s.addr;
    so["reachable"] = s.reachable;
    so["master"] = opt_string(s.master);
    so["error"] = opt_string(s.error);
    sentinels.push_back(std::move(so));
  }
  o["sentinels"] = std::move(sentinels);
  o["quorum"] = opt_string(r.quorum);
  o["seed"] = opt_string(r.seed);
  o["cluster_state"] = opt_string(r.cluster_state);
  json::array nodes;
  for (const auto& n : r.nodes) nodes.push_back(node_json(n));
  o["nodes"] = std::move(nodes);
  o["slots_covered"] = r.slots_covered ? json::value(*r.slots_covered) : json::value(nullptr);
  json::array problems;
  for (const auto& p : r.problems) problems.emplace_back(p.text);
  o["problems"] = std::move(problems);
  o["notes"] = strings(r.notes);
  return o;
}

// The text report: a label column, then one or more value lines.
class text_report {
 public:
  explicit text_report(std::ostream& os) : os_(os) {}
  void field(std::string_view label, const std::string& value) {
    os_ << "  " << label << std::string(label.size() < 12 ? 12 - label.size() : 1, ' ') << value
        << "\n";
  }
  void list(std::string_view label, const std::vector<std::string>& values,
            std::string_view empty = "(none)") {
    if (values.empty()) {
      field(label, std::string(empty));
      return;
    }
    for (std::size_t i = 0; i < values.size(); ++i) field(i == 0 ? label : "", values[i]);
  }
  std::ostream& os() { return os_; }

 private:
  std::ostream& os_;
};

std::string node_line(const node_report& n, bool show_role) {
  std::string line = n.addr;
  if (show_role) {
    line += "  " + n.role;
    if (!n.slots.empty()) line += "  slots " + ranges_text(n.slots);
    if (!n.master.empty()) line += "  of " + n.master;
  }
  // Flags beyond the role (s_down, disconnected, fail?, ...) are worth a look; the role is shown.
  std::vector<std::string> flags;
  std::string_view rest = n.state;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const auto word = rest.substr(0, comma);
    if (word != "myself" && word != "master" && word != "slave" && word != "online" &&
        !word.empty())
      flags.emplace_back(word);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (!flags.empty()) line += "  [" + join(flags, ",") + "]";
  if (n.reachable && !*n.reachable) line += "  UNREACHABLE: " + n.error;
  else if (n.latency_ms) line += "  latency " + ms_text(*n.latency_ms);
  return line;
}

void print_client(std::ostream& os, const client_report& r, const std::string& key_prefix) {
  const std::string head = r.name + " redis";
  os << head << std::string(11 - head.size(), ' ');
  if (!r.configured) {
    os << (r.name == "app" ? "not configured (REDIS_URL and REDIS_SENTINEL_HOSTS are empty): "
                             "in-memory backends are in use\n"
                           : "not used (WEBSOCKET_MANAGER is not \"redis\"): Socket.IO state is "
                             "process-local\n");
    return;
  }
  std::vector<std::string> cfg;
  for (const auto& [k, v] : r.config) cfg.push_back(k + "=" + (v.empty() ? "(empty)" : v));
  os << "(" << join(cfg, ", ") << ")\n";
  text_report t(os);
  std::string topo(redis::to_string(r.topo));
  if (r.topo == redis::topology::sentinel && !r.service_name.empty())
    topo += ", service \"" + r.service_name + "\"";
  if (r.topo == redis::topology::cluster && !r.cluster_state.empty())
    topo += ", cluster_state " + r.cluster_state;
  t.field("topology", topo);

  const auto server_line = [&](const std::string& addr) {
    std::string line = addr.empty() ? "(unknown)" : addr;
    if (!r.latency_ms) return line + "  (not reached)";
    if (!r.version.empty()) line += "  redis " + r.version;
    line += "  latency " + ms_text(*r.latency_ms) + "  db " + std::to_string(r.db);
    if (r.keys)
      line += " (" + std::to_string(*r.keys) +
              (r.topo == redis::topology::cluster ? " keys on this node)" : " keys)");
    return line;
  };
  if (r.topo == redis::topology::sentinel) {
    std::vector<std::string> lines;
    for (const auto& s : r.sentinels) {
      std::string line = s.addr + "  ";
      if (!s.reachable) line += "UNREACHABLE: " + s.error;
      else if (!s.master.empty()) line += "ok, names master " + s.master;
      else line += s.error;
      lines.push_back(line);
    }
    t.list("sentinels", lines);
    if (!r.quorum.empty()) t.field("quorum", r.quorum);
  }
  if (r.topo == redis::topology::cluster) {
    t.field("seed", server_line(r.seed));
    if (r.slots_covered)
      t.field("slots", fmt::format("{}/{} covered", *r.slots_covered, redis::slot_count));
    std::vector<std::string> lines;
    for (const auto& n : r.nodes) lines.push_back(node_line(n, true));
    if (r.slots_covered) t.list("nodes", lines);
  } else {
    if (!r.master.empty() || r.latency_ms) t.field("master", server_line(r.master));
    std::vector<std::string> lines;
    for (const auto& n : r.replicas) lines.push_back(node_line(n, false));
    // Replicas are known only from a server that answered (INFO or the sentinels).
    if (r.latency_ms || !r.replicas.empty()) t.list("replicas", lines);
  }
  t.field("key prefix", key_prefix);
  std::vector<std::string> problems;
  for (const auto& p : r.problems)
    problems.push_back("- [" + std::string(to_string(p.level)) + "] " + p.text);
  if (!problems.empty()) t.list("problems", problems);
  std::vector<std::string> notes;
  for (const auto& n : r.notes) notes.push_back("- " + n);
  if (!notes.empty()) t.list("notes", notes);
  t.field("status", std::string(to_string(r.status())));
}

}  // namespace

json::object diagnosis_json(const diagnosis& d) {
  json::object o;
  o["owcore"] = OWCORE_VERSION;
  o["status"] = to_string(d.status());
  o["exit_code"] = exit_code_of(d.status());
  o["key_prefix"] = d.key_prefix;
  o["app"] = client_json(d.app, d.key_prefix);
  o["ws"] = client_json(d.ws, d.key_prefix);
  json::array problems;
  for (const auto& p : d.problems) problems.emplace_back(p.text);
  o["problems"] = std::move(problems);
  o["notes"] = strings(d.notes);
  o["database"] = database_json(d.database);
  return o;
}

void print_text(std::ostream& os, const diagnosis& d) {
  os << "owcore doctor " << OWCORE_VERSION << "\n";
  print_client(os, d.app, d.key_prefix);
  print_client(os, d.ws, d.key_prefix);
  print_database(os, d.database);
  if (!d.problems.empty()) {
    os << "configuration problems\n";
    for (const auto& p : d.problems) os << "  - [" << to_string(p.level) << "] " << p.text << "\n";
  }
  if (!d.notes.empty()) {
    os << "notes\n";
    for (const auto& n : d.notes) os << "  - " << n << "\n";
  }
  os << "result: " << to_string(d.status()) << " (exit " << exit_code_of(d.status()) << ")\n";
}

}  // namespace owcore::app
