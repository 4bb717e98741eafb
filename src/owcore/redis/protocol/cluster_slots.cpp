#include "owcore/redis/protocol/cluster_slots.hpp"

#include "owcore/base/hex.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <iterator>
#include <set>
#include <unordered_set>

namespace owcore::redis {

namespace {

// CRC16/XMODEM, the variant the Redis Cluster spec names: polynomial 0x1021, init 0, MSB first.
constexpr std::array<std::uint16_t, 256> make_crc16_table() {
  std::array<std::uint16_t, 256> table{};
  for (unsigned i = 0; i < 256; ++i) {
    unsigned crc = i << 8;
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 0x8000u) ? (crc << 1) ^ 0x1021u : crc << 1;
    table[i] = static_cast<std::uint16_t>(crc);
  }
  return table;
}

constexpr auto crc16_table = make_crc16_table();

constexpr std::uint16_t crc16(std::string_view bytes) noexcept {
  unsigned crc = 0;
  for (char c : bytes) {
    const unsigned byte = static_cast<unsigned char>(c);
    crc = ((crc << 8) ^ crc16_table[((crc >> 8) ^ byte) & 0xffu]) & 0xffffu;
  }
  return static_cast<std::uint16_t>(crc);
}

static_assert(crc16("123456789") == 0x31C3, "the check value from the Redis Cluster spec");

constexpr std::string_view hashed_part(std::string_view key) noexcept {
  const auto open = key.find('{');
  if (open == std::string_view::npos) return key;
  const auto close = key.find('}', open + 1);
  if (close == std::string_view::npos || close == open + 1) return key;
  return key.substr(open + 1, close - open - 1);
}

// Digits only (no sign, no spaces), at most `max_digits` of them.
template <class Int>
std::optional<Int> parse_decimal(std::string_view text, std::size_t max_digits) {
  if (text.empty() || text.size() > max_digits) return std::nullopt;
  for (char c : text)
    if (c < '0' || c > '9') return std::nullopt;
  Int value{};
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

template <class F>
void for_each_key(const request& req, F&& f) {
  for (const auto& c : req.commands()) {
    if (!c.route_as.empty()) {
      f(std::string_view(c.route_as));
      continue;
    }
    for (auto i : c.key_indexes)
      if (i < c.args.size()) f(std::string_view(c.args[i]));
  }
}

void append_quoted(std::string& out, std::string_view key) {
  constexpr std::size_t max_shown = 64;
  out += '"';
  for (char c : key.substr(0, max_shown)) {
    const auto b = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (b >= 0x20 && b < 0x7f) {
      out += c;
    } else {
      out += "\\x";
      out += base::hex_encode(std::string_view(&c, 1));
    }
  }
  if (key.size() > max_shown) out += "...";
  out += '"';
}

template <class Map>
auto find_range(Map& ranges, std::uint16_t slot) -> decltype(ranges.begin()) {
  auto it = ranges.upper_bound(slot);
  if (it == ranges.begin()) return ranges.end();
  --it;
  return slot <= it->second.last ? it : ranges.end();
}

bool fail(std::string* error, std::string message) {
  if (error) *error = std::move(message);
  return false;
}

// One [host, port, id, ...] element of CLUSTER SLOTS. Sets `unknown` for the "?" endpoint.
bool parse_endpoint(const reply& r, std::string_view asked_host, std::string& address,
                    bool& unknown, std::string* error) {
  unknown = false;
  if (r.type != reply::kind::array || r.elements.size() < 2)
    return fail(error, "node entry is not an array of at least [host, port]");
  const reply& host = r.elements[0];
  const reply& port = r.elements[1];
  if (host.type != reply::kind::string && host.type != reply::kind::nil)
    return fail(error, "node host is not a string");
  if (port.type != reply::kind::integer || port.integer < 1 || port.integer > 65535)
    return fail(error, "node port is not an integer in 1..65535");
  if (host.type == reply::kind::string && host.str == "?") {
    unknown = true;
    return true;
  }
  // nil (unknown-endpoint) and "" (a node that does not know its own IP) both mean "ask me".
  const std::string_view h = host.type == reply::kind::nil || host.str.empty()
                                 ? asked_host
                                 : std::string_view(host.str);
  if (h.empty()) return fail(error, "node host is empty and no asked host was given");
  address.assign(h);
  address += ':';
  address += std::to_string(port.integer);
  if (!redis::address::parse(address)) return fail(error, "node host is not a valid host");
  return true;
}

bool same_master(const std::shared_ptr<const cluster_node>& a,
                 const std::shared_ptr<const cluster_node>& b) noexcept {
  return a == b || a->master == b->master;
}

}  // namespace

std::uint16_t key_slot(std::string_view key) noexcept {
  return crc16(hashed_part(key)) % slot_count;
}

std::optional<std::uint16_t> request_slot(const request& req) {
  for (const auto& c : req.commands()) {
    if (!c.route_as.empty()) return key_slot(c.route_as);
    for (auto i : c.key_indexes)
      if (i < c.args.size()) return key_slot(c.args[i]);
  }
  return std::nullopt;
}

std::optional<std::string> cross_slot_error(const request& req) {
  std::optional<std::uint16_t> first;
  bool mixed = false;
  for_each_key(req, [&](std::string_view k) {
    const auto s = key_slot(k);
    if (!first)
      first = s;
    else if (*first != s)
      mixed = true;
  });
  if (!mixed) return std::nullopt;

  constexpr std::size_t max_named = 8;
  std::unordered_set<std::string_view> seen;
  std::string out = "keys span several hash slots: ";
  std::string_view first_key;
  std::size_t named = 0;
  for_each_key(req, [&](std::string_view k) {
    if (!seen.insert(k).second) return;
    if (seen.size() == 1) first_key = k;
    if (named == max_named) return;
    if (named++ > 0) out += ", ";
    append_quoted(out, k);
    out += " (";
    out += std::to_string(key_slot(k));
    out += ')';
  });
  if (seen.size() > named) out += ", and " + std::to_string(seen.size() - named) + " more";
  out += "; use a hash tag such as {user}:";
  // Strip the quotes append_quoted adds: the suggestion reads as a key, not a string literal.
  std::string shown;
  append_quoted(shown, first_key);
  out.append(shown, 1, shown.size() - 2);
  return out;
}

std::string resolve_address(std::string_view address, std::string_view replying_host) {
  // Only the part before the last colon is the host: "::1:6380" has one, ":6380" does not.
  const auto colon = address.rfind(':');
  if (colon == std::string_view::npos) return std::string(address);
  const auto host = address.substr(0, colon);
  if (!host.empty() && host != "[]") return std::string(address);
  std::string out(replying_host);
  out += address.substr(colon);
  return out;
}

std::optional<slot_map> slot_map::from_cluster_slots(const reply& r, std::string_view asked_host,
                                                     std::string* error) {
  if (r.type == reply::kind::error) {
    fail(error, "CLUSTER SLOTS failed: " + r.str.substr(0, 200));
    return std::nullopt;
  }
  if (r.type != reply::kind::array) {
    fail(error, "CLUSTER SLOTS reply is not an array");
    return std::nullopt;
  }

  slot_map map;
  // Nodes are shared by every range they serve; built mutable here, published as const.
  std::map<std::string, std::shared_ptr<cluster_node>, std::less<>> by_master;
  std::string address;
  for (std::size_t n = 0; n < r.elements.size(); ++n) {
    const reply& e = r.elements[n];
    const std::string where = "CLUSTER SLOTS entry " + std::to_string(n) + ": ";
    std::string why;
    if (e.type != reply::kind::array || e.elements.size() < 3) {
      fail(error, where + "not an array of at least [start, end, master]");
      return std::nullopt;
    }
    const reply& start = e.elements[0];
    const reply& end = e.elements[1];
    if (start.type != reply::kind::integer || end.type != reply::kind::integer ||
        start.integer < 0 || end.integer >= slot_count || start.integer > end.integer) {
      fail(error, where + "slot range is not 0 <= start <= end <= 16383");
      return std::nullopt;
    }
    const auto first = static_cast<std::uint16_t>(start.integer);
    const auto last = static_cast<std::uint16_t>(end.integer);

    bool unknown = false;
    if (!parse_endpoint(e.elements[2], asked_host, address, unknown, &why)) {
      fail(error, where + "master " + why);
      return std::nullopt;
    }
    if (unknown) {
      fail(error, where + "master endpoint is \"?\" (cluster-preferred-endpoint-type hostname "
                          "without a hostname)");
      return std::nullopt;
    }
    auto& node = by_master[address];
    if (!node) node = std::make_shared<cluster_node>(cluster_node{address, {}});
    for (std::size_t i = 3; i < e.elements.size(); ++i) {
      if (!parse_endpoint(e.elements[i], asked_host, address, unknown, &why)) {
        fail(error, where + "replica " + why);
        return std::nullopt;
      }
      if (unknown) continue;  // unreachable replica: routing never needs it
      auto& reps = node->replicas;
      if (std::find(reps.begin(), reps.end(), address) == reps.end()) reps.push_back(address);
    }

    const auto next = map.ranges_.lower_bound(first);
    const bool overlaps_next = next != map.ranges_.end() && next->first <= last;
    const bool overlaps_prev = next != map.ranges_.begin() && std::prev(next)->second.last >= first;
    if (overlaps_next || overlaps_prev) {
      fail(error, where + "slot range overlaps an earlier entry");
      return std::nullopt;
    }
    map.ranges_.emplace_hint(next, first, range{last, node});
  }

  for (auto it = map.ranges_.begin(); it != map.ranges_.end();) {
    const auto next = std::next(it);
    if (next != map.ranges_.end() && it->second.last + 1 == next->first &&
        same_master(it->second.node, next->second.node)) {
      it->second.last = next->second.last;
      map.ranges_.erase(next);
    } else {
      it = next;
    }
  }
  return map;
}

std::optional<std::string> slot_map::master_for(std::uint16_t slot) const {
  const auto it = find_range(ranges_, slot);
  if (it == ranges_.end()) return std::nullopt;
  return it->second.node->master;
}

std::shared_ptr<const cluster_node> slot_map::node_for(std::uint16_t slot) const {
  const auto it = find_range(ranges_, slot);
  return it == ranges_.end() ? nullptr : it->second.node;
}

std::shared_ptr<const cluster_node> slot_map::node_with_master(std::string_view address) const {
  for (const auto& [first, r] : ranges_)
    if (r.node->master == address) return r.node;
  return nullptr;
}

bool slot_map::update(std::uint16_t slot, std::string_view address) {
  if (slot >= slot_count || address.empty()) return false;
  auto node = node_with_master(address);
  if (!node) node = std::make_shared<const cluster_node>(cluster_node{std::string(address), {}});

  if (auto it = find_range(ranges_, slot); it != ranges_.end()) {
    if (it->second.node->master == address) return true;
    const auto first = it->first;
    const range old = it->second;
    ranges_.erase(it);
    if (first < slot) ranges_.emplace(first, range{static_cast<std::uint16_t>(slot - 1), old.node});
    if (slot < old.last) ranges_.emplace(static_cast<std::uint16_t>(slot + 1), old);
  }
  merge_around(ranges_.emplace(slot, range{slot, std::move(node)}).first);
  return true;
}

void slot_map::merge_around(range_map::iterator it) {
  if (const auto next = std::next(it); next != ranges_.end() &&
                                       it->second.last + 1 == next->first &&
                                       same_master(it->second.node, next->second.node)) {
    it->second.last = next->second.last;
    ranges_.erase(next);
  }
  if (it != ranges_.begin()) {
    const auto prev = std::prev(it);
    if (prev->second.last + 1 == it->first && same_master(prev->second.node, it->second.node)) {
      prev->second.last = it->second.last;
      ranges_.erase(it);
    }
  }
}

std::size_t slot_map::covered_slots() const noexcept {
  std::size_t n = 0;
  for (const auto& [first, r] : ranges_) n += std::size_t{r.last} - first + 1;
  return n;
}

std::vector<std::string> slot_map::masters() const {
  std::vector<std::string> out;
  std::set<std::string_view> seen;
  for (const auto& [first, r] : ranges_)
    if (seen.insert(r.node->master).second) out.push_back(r.node->master);
  return out;
}

std::vector<std::pair<std::uint16_t, std::uint16_t>> slot_map::ranges_of(
    std::string_view address) const {
  std::vector<std::pair<std::uint16_t, std::uint16_t>> out;
  for (const auto& [first, r] : ranges_)
    if (r.node->master == address) out.emplace_back(first, r.last);
  return out;
}

std::vector<std::string> slot_map::nodes() const {
  std::vector<std::string> out;
  std::set<std::string_view> seen;
  for (const auto& [first, r] : ranges_) {
    if (seen.insert(r.node->master).second) out.push_back(r.node->master);
    for (const auto& rep : r.node->replicas)
      if (seen.insert(rep).second) out.push_back(rep);
  }
  return out;
}

redirect classify_error(std::string_view text) {
  const auto space = text.find(' ');
  const std::string_view word = text.substr(0, space);
  if (word == "MOVED" || word == "ASK") {
    if (space == std::string_view::npos) return {};
    const std::string_view rest = text.substr(space + 1);
    const auto space2 = rest.find(' ');
    if (space2 == std::string_view::npos) return {};
    const auto slot = parse_decimal<unsigned>(rest.substr(0, space2), 5);
    const std::string_view address = rest.substr(space2 + 1);
    if (!slot || *slot >= slot_count || !redis::address::parse(address)) return {};
    return {word == "MOVED" ? redirect::kind::moved : redirect::kind::ask,
            static_cast<std::uint16_t>(*slot), std::string(address)};
  }
  static constexpr std::pair<std::string_view, redirect::kind> simple[] = {
      {"TRYAGAIN", redirect::kind::tryagain},       {"CLUSTERDOWN", redirect::kind::clusterdown},
      {"READONLY", redirect::kind::readonly},       {"LOADING", redirect::kind::loading},
      {"MASTERDOWN", redirect::kind::masterdown},
  };
  for (const auto& [name, k] : simple)
    if (word == name) return {k, 0, {}};
  return {};
}

}  // namespace owcore::redis
