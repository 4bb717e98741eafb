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
  std::vector<std::string_view> views;
  for (const auto& c : cmds_) {
    views.assign(c.args.begin(), c.args.end());
    encode_command(out, views);
  }
}

}  // namespace owcore::redis
