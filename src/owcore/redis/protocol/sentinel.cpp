#include "owcore/redis/protocol/sentinel.hpp"

#include "owcore/net/error.hpp"

#include <charconv>

namespace owcore::redis {
namespace {

std::optional<std::uint16_t> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  unsigned v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || ptr != text.data() + text.size() || v < 1 || v > 65535)
    return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

// Splits off the next space-separated word of `rest`.
std::string_view next_word(std::string_view& rest) {
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  const auto end = rest.find(' ');
  const auto word = rest.substr(0, end);
  rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
  return word;
}

}  // namespace

master_answer parse_master_answer(const reply& r, std::string_view service,
                                  std::string_view sentinel) {
  master_answer a;
  const std::string at(sentinel);
  if (r.is_error()) {
    a.err = {make_error_code(error::server_error), at + ": " + r.str};
    return a;
  }
  if (r.type != reply::kind::array || r.elements.size() != 2) {
    a.err = {make_error_code(error::unknown_master),
             "sentinel " + at + " does not know a master named '" + std::string(service) + "'"};
    return a;
  }
  const auto port = parse_port(r.elements[1].str);
  if (!port || r.elements[0].str.empty()) {
    a.err = {make_error_code(error::protocol_error), at + ": malformed master address"};
    return a;
  }
  a.master = address{r.elements[0].str, *port};
  return a;
}

std::optional<switch_master> parse_switch_master(std::string_view payload) {
  switch_master m;
  std::string_view rest = payload;
  m.name = next_word(rest);
  const auto old_ip = next_word(rest), old_port = next_word(rest);
  const auto new_ip = next_word(rest), new_port = next_word(rest);
  const auto p1 = parse_port(old_port), p2 = parse_port(new_port);
  if (m.name.empty() || old_ip.empty() || new_ip.empty() || !p1 || !p2) return std::nullopt;
  if (!next_word(rest).empty()) return std::nullopt;
  m.from = address{std::string(old_ip), *p1};
  m.to = address{std::string(new_ip), *p2};
  return m;
}

std::optional<role_reply> parse_role(const reply& r) {
  if (r.type != reply::kind::array || r.elements.empty()) return std::nullopt;
  const auto& e = r.elements;
  if (e[0].type != reply::kind::string && e[0].type != reply::kind::status) return std::nullopt;
  role_reply out;
  out.name = e[0].str;
  // ROLE of a replica: ["slave", master-ip, master-port, state, offset].
  if (out.name == "slave" && e.size() >= 3 && e[2].type == reply::kind::integer &&
      e[2].integer >= 1 && e[2].integer <= 65535)
    out.master = address{e[1].str, static_cast<std::uint16_t>(e[2].integer)};
  return out;
}

sentinel_verdict judge_sentinel_attempt(boost::system::error_code ec, const response& replies,
                                        int attempt, int max_attempts) {
  bool readonly = false;
  for (const auto& r : replies)
    if (r.is_error() && r.str.rfind("READONLY", 0) == 0) readonly = true;
  if (attempt >= max_attempts) return sentinel_verdict::done;
  if (readonly) return sentinel_verdict::reconnect_and_retry;
  if (ec == net::error::timeout) return sentinel_verdict::retry;
  return sentinel_verdict::done;
}

bool is_failover_of(const switch_master& m, std::string_view service) noexcept {
  return m.name == service;
}

}  // namespace owcore::redis
