#include "owcore/redis/protocol/request.hpp"

namespace owcore::redis {

request& request::eval(std::string_view script, const std::vector<std::string>& keys,
                       const std::vector<std::string>& args) {
  command c;
  c.args.reserve(3 + keys.size() + args.size());
  c.args.emplace_back("EVAL");
  c.args.emplace_back(script);
  c.args.emplace_back(std::to_string(keys.size()));
  for (const auto& k : keys) {
    c.key_indexes.push_back(c.args.size());
    c.args.push_back(k);
  }
  for (const auto& a : args) c.args.push_back(a);
  cmds_.push_back(std::move(c));
  return *this;
}

std::vector<std::string_view> request::keys() const {
  std::vector<std::string_view> out;
  for (const auto& c : cmds_)
    for (auto i : c.key_indexes) out.push_back(c.args[i]);
  return out;
}

void request::encode(std::string& out) const {
  for (const auto& c : cmds_) encode_command(out, std::span<const std::string>(c.args));
}

request request::from(const command_view& cmd) {
  request r;
  command c;
  c.args.assign(cmd.args.begin(), cmd.args.end());
  if (cmd.key_index > 0 && cmd.key_index < c.args.size()) c.key_indexes.push_back(cmd.key_index);
  r.push(std::move(c));
  r.idempotent(cmd.policy == retry_policy::idempotent);
  return r;
}

}  // namespace owcore::redis
