#include "owcore/redis/protocol/subscription_tracker.hpp"

#include <utility>
#include <vector>

namespace owcore::redis {
namespace {

std::string_view subscribe_verb(subscription_kind k) noexcept {
  switch (k) {
    case subscription_kind::channel: return "SUBSCRIBE";
    case subscription_kind::pattern: return "PSUBSCRIBE";
    case subscription_kind::shard: return "SSUBSCRIBE";
  }
  return "SUBSCRIBE";
}

std::string_view unsubscribe_verb(subscription_kind k) noexcept {
  switch (k) {
    case subscription_kind::channel: return "UNSUBSCRIBE";
    case subscription_kind::pattern: return "PUNSUBSCRIBE";
    case subscription_kind::shard: return "SUNSUBSCRIBE";
  }
  return "UNSUBSCRIBE";
}

}  // namespace

const std::set<std::string, std::less<>>& subscription_tracker::set(
    subscription_kind k) const noexcept {
  switch (k) {
    case subscription_kind::pattern: return patterns_;
    case subscription_kind::shard: return shards_;
    case subscription_kind::channel: break;
  }
  return channels_;
}

std::set<std::string, std::less<>>& subscription_tracker::set(subscription_kind k) noexcept {
  return const_cast<std::set<std::string, std::less<>>&>(std::as_const(*this).set(k));
}

bool subscription_tracker::add(subscription_kind k, std::string name) {
  return set(k).insert(std::move(name)).second;
}

bool subscription_tracker::remove(subscription_kind k, std::string_view name) {
  auto& s = set(k);
  auto it = s.find(name);
  if (it == s.end()) return false;
  s.erase(it);
  return true;
}

bool subscription_tracker::contains(subscription_kind k, std::string_view name) const {
  return set(k).contains(name);
}

bool subscription_tracker::empty() const noexcept {
  return channels_.empty() && patterns_.empty() && shards_.empty();
}

void subscription_tracker::subscribe_command(std::string& out, subscription_kind k,
                                             std::string_view name) {
  encode_command(out, {subscribe_verb(k), name});
}

void subscription_tracker::unsubscribe_command(std::string& out, subscription_kind k,
                                               std::string_view name) {
  encode_command(out, {unsubscribe_verb(k), name});
}

std::size_t subscription_tracker::resubscribe_commands(std::string& out) const {
  std::size_t n = 0;
  std::vector<std::string_view> args;
  for (auto k : {subscription_kind::channel, subscription_kind::pattern, subscription_kind::shard}) {
    const auto& names = set(k);
    if (names.empty()) continue;
    args.assign(1, subscribe_verb(k));
    for (const auto& name : names) args.emplace_back(name);
    encode_command(out, args);
    ++n;
  }
  return n;
}

push_event subscription_tracker::classify(reply r) const {
  push_event ev;
  if (r.is_error()) {
    ev.type = push_event::kind::error;
    ev.text = std::move(r.str);
    return ev;
  }
  if (r.type != reply::kind::array || r.elements.empty()) return ev;  // +PONG
  auto& e = r.elements;
  const std::string& kind = e[0].str;
  if (kind == "message" && e.size() == 3) {
    ev.type = push_event::kind::message;
    ev.msg = message{message::kind::message, std::move(e[1].str), {}, std::move(e[2].str)};
  } else if (kind == "pmessage" && e.size() == 4) {
    ev.type = push_event::kind::message;
    ev.msg = message{message::kind::pmessage, std::move(e[2].str), std::move(e[1].str),
                     std::move(e[3].str)};
  } else if (kind == "smessage" && e.size() == 3) {
    ev.type = push_event::kind::message;
    ev.msg = message{message::kind::smessage, std::move(e[1].str), {}, std::move(e[2].str)};
  } else if (kind == "subscribe" || kind == "psubscribe" || kind == "ssubscribe") {
    ev.type = push_event::kind::subscribed;
  } else if (kind == "sunsubscribe") {
    // The server drops shard subscriptions whose slot moved; one still wanted must be re-made.
    const bool wanted = e.size() > 1 && shards_.contains(e[1].str);
    ev.type = wanted ? push_event::kind::lost_shard : push_event::kind::unsubscribed;
  } else if (kind == "unsubscribe" || kind == "punsubscribe") {
    ev.type = push_event::kind::unsubscribed;
  }
  return ev;
}

}  // namespace owcore::redis
