#include "owcore/redis/protocol/info.hpp"

#include <sstream>

namespace owcore::redis {

std::optional<std::string> info_field(std::string_view info, std::string_view field) {
  std::size_t pos = 0;
  while (pos < info.size()) {
    auto end = info.find('\n', pos);
    if (end == std::string_view::npos) end = info.size();
    auto line = info.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > field.size() && line.starts_with(field) && line[field.size()] == ':')
      return std::string(line.substr(field.size() + 1));
    pos = end + 1;
  }
  return std::nullopt;
}

std::optional<std::string> csv_field(std::string_view csv, std::string_view key) {
  while (!csv.empty()) {
    const auto comma = csv.find(',');
    const auto item = csv.substr(0, comma);
    const auto eq = item.find('=');
    if (eq != std::string_view::npos && item.substr(0, eq) == key)
      return std::string(item.substr(eq + 1));
    if (comma == std::string_view::npos) break;
    csv.remove_prefix(comma + 1);
  }
  return std::nullopt;
}

bool has_word(std::string_view csv, std::string_view word) {
  while (!csv.empty()) {
    const auto comma = csv.find(',');
    if (csv.substr(0, comma) == word) return true;
    if (comma == std::string_view::npos) break;
    csv.remove_prefix(comma + 1);
  }
  return false;
}

std::optional<std::string> map_field(const reply& flat, std::string_view key) {
  if (flat.type != reply::kind::array) return std::nullopt;
  for (std::size_t i = 0; i + 1 < flat.elements.size(); i += 2)
    if (flat.elements[i].str == key) return flat.elements[i + 1].str;
  return std::nullopt;
}

std::vector<info_replica> info_replicas(std::string_view info) {
  std::vector<info_replica> out;
  for (int i = 0;; ++i) {
    auto line = info_field(info, "slave" + std::to_string(i));
    if (!line) break;
    info_replica r;
    const auto ip = csv_field(*line, "ip").value_or("?");
    const auto port = csv_field(*line, "port").value_or("?");
    // Bracketed like protocol/address renders IPv6, but without parsing: "?" parts stay visible.
    r.addr = (ip.find(':') != std::string::npos ? "[" + ip + "]" : ip) + ":" + port;
    r.state = csv_field(*line, "state").value_or("");
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<cluster_nodes_line> parse_cluster_nodes(std::string_view text) {
  std::vector<cluster_nodes_line> out;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    cluster_nodes_line n;
    if (!(fields >> n.id >> n.addr >> n.flags >> n.master_id)) continue;
    n.addr = n.addr.substr(0, n.addr.find('@'));
    if (n.addr.empty() || n.addr.front() == ':') n.addr.clear();
    out.push_back(std::move(n));
  }
  return out;
}

}  // namespace owcore::redis
