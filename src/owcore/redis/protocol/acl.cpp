#include "owcore/redis/protocol/acl.hpp"

namespace owcore::redis::acl {
namespace {

// ACL glob patterns treat * ? [ ] and \ specially; a prefix is matched literally.
std::string escape_glob(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// "a|b" -> {"A", "B"}: the command as sent.
std::vector<std::string> as_sent(std::string_view acl_name) {
  std::vector<std::string> out;
  while (true) {
    const auto bar = acl_name.find('|');
    std::string part(acl_name.substr(0, bar));
    for (auto& c : part) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    out.push_back(std::move(part));
    if (bar == std::string_view::npos) return out;
    acl_name.remove_prefix(bar + 1);
  }
}

// Arguments that make each command's dry run check its key (or nothing else).
std::vector<std::string> args_for(std::string_view name, const std::string& key) {
  auto a = as_sent(name);
  if (name == "select") a.push_back("0");
  else if (name == "client|setname") a.push_back("owcore-doctor");
  else if (name == "eval") a.insert(a.end(), {"return 0", "1", key});
  else if (name == "expire" || name == "pexpire") a.insert(a.end(), {key, "1"});
  else if (name == "set" || name == "rpush" || name == "lpush" || name == "sadd" || name == "srem")
    a.insert(a.end(), {key, "x"});
  else if (name == "hget" || name == "hdel" || name == "hexists") a.insert(a.end(), {key, "f"});
  else if (name == "hset" || name == "hsetnx") a.insert(a.end(), {key, "f", "x"});
  else if (name == "hscan") a.insert(a.end(), {key, "0"});
  else if (name == "lrange" || name == "ltrim") a.insert(a.end(), {key, "0", "-1"});
  else if (name == "get" || name == "del" || name == "exists" || name == "hgetall" ||
           name == "hkeys" || name == "hvals" || name == "hlen" || name == "smembers" ||
           name == "scard" || name == "llen")
    a.push_back(key);
  return a;
}

}  // namespace

const std::vector<std::string_view>& serve_commands() {
  // Every command owcore sends to a data node (src/ greps of request pushes, the Lua scripts'
  // redis.call()s, the set-up pipeline, the subscriber and the Cluster client).
  static const std::vector<std::string_view> commands{
      // set-up and health
      "ping", "select", "client|setname", "role",
      // Cluster routing
      "cluster|slots", "asking",
      // strings and keys
      "get", "set", "del", "exists", "expire", "pexpire",
      // hashes
      "hget", "hset", "hsetnx", "hdel", "hgetall", "hkeys", "hvals", "hlen", "hexists", "hscan",
      // sets and lists
      "sadd", "srem", "smembers", "scard", "rpush", "lpush", "lrange", "ltrim", "llen",
      // scripts (the commands they call are listed above)
      "eval",
      // pub/sub
      "publish", "subscribe", "psubscribe", "unsubscribe", "punsubscribe"};
  return commands;
}

const std::vector<std::string_view>& doctor_commands() {
  static const std::vector<std::string_view> commands{"info", "cluster|info", "cluster|nodes",
                                                      "multi", "discard"};
  return commands;
}

std::string key_pattern(std::string_view prefix) { return "~" + escape_glob(prefix) + ":*"; }

std::vector<std::string> channel_patterns(std::string_view prefix) {
  return {"&" + escape_glob(prefix) + ":*", "&socketio", "&socketio#*"};
}

std::vector<std::string> rule(std::string_view prefix) {
  std::vector<std::string> r{"resetkeys", "resetchannels", "-@all", key_pattern(prefix)};
  for (auto& c : channel_patterns(prefix)) r.push_back(std::move(c));
  for (auto c : serve_commands()) r.push_back("+" + std::string(c));
  for (auto c : doctor_commands()) r.push_back("+" + std::string(c));
  return r;
}

std::vector<std::string> sentinel_rule() {
  return {"resetkeys", "resetchannels", "-@all", "&+switch-master", "+ping", "+client|setname", "+subscribe",
          "+sentinel|get-master-addr-by-name",
          // owcore doctor (redis/inspect_sentinel.cpp):
          "+sentinel|masters", "+sentinel|master", "+sentinel|replicas", "+sentinel|ckquorum"};
}

std::string setuser_line(std::string_view user, std::string_view prefix) {
  std::string line = "ACL SETUSER " + std::string(user) + " on >PASSWORD";
  for (const auto& r : rule(prefix)) line += " " + r;
  return line;
}

std::vector<check> dry_run(std::string_view prefix, bool cluster) {
  const std::string p(prefix);
  const std::string key = p + ":owcore:doctor";
  std::vector<check> out;
  for (auto c : serve_commands()) {
    if (c == "cluster|slots" && !cluster) continue;
    if (c == "asking" && !cluster) continue;
    // Pub/sub commands are checked per channel below; SELECT and CLIENT SETNAME are sent (or
    // refused) by the set-up already.
    if (c == "publish" || c == "subscribe" || c == "psubscribe" || c == "select" ||
        c == "client|setname")
      continue;
    out.push_back({args_for(c, key), {}});
  }
  for (auto c : doctor_commands())
    if (c == "info" || (cluster && c != "multi" && c != "discard"))
      out.push_back({args_for(c, key), {}});
  const auto chans = channel_patterns(prefix);
  const std::string stop_channel = p + ":tasks:commands";
  out.push_back({{"PUBLISH", stop_channel, "x"}, chans[0]});
  out.push_back({{"SUBSCRIBE", stop_channel}, chans[0]});
  out.push_back({{"PUBLISH", "socketio", "x"}, chans[1]});
  out.push_back({{"SUBSCRIBE", "socketio"}, chans[1]});
  out.push_back({{"PUBLISH", "socketio#/#owcore-doctor", "x"}, chans[2]});
  out.push_back({{"PSUBSCRIBE", "socketio#*"}, chans[2]});
  return out;
}

std::optional<denial> read_noperm(std::string_view e) {
  if (!e.starts_with("NOPERM")) return std::nullopt;
  denial d;
  const auto run = e.find("to run the '");
  if (run != std::string_view::npos) {
    const auto start = run + 12;
    const auto end = e.find('\'', start);
    d.command = std::string(e.substr(start, end == std::string_view::npos ? end : end - start));
    return d;
  }
  if (e.find("channel") != std::string_view::npos) d.what = denial::kind::channel;
  else if (e.find("key") != std::string_view::npos) d.what = denial::kind::key;
  return d;
}

std::string grant_for(const check& c, const denial& d, std::string_view prefix) {
  switch (d.what) {
    case denial::kind::command: return "+" + d.command;
    case denial::kind::key: return key_pattern(prefix);
    case denial::kind::channel: return c.channel_pattern;
  }
  return {};
}

}  // namespace owcore::redis::acl
