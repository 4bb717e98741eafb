// The judgement of the ACL dry run (app/doctor_judge.hpp, docs/redis.md "Restricted
// credentials"): which permission owcore needs is missing, and the rule to add.
#include "owcore/app/doctor_judge.hpp"

#include "owcore/redis/protocol/acl.hpp"

#include <map>

namespace owcore::app {
namespace {

// The data nodes that ran the dry run, in report order.
std::vector<const redis::node_facts*> data_nodes(const redis::topology_facts& t) {
  std::vector<const redis::node_facts*> out;
  if (t.standalone) out.push_back(&*t.standalone);
  if (t.sentinel) {
    if (t.sentinel->master) out.push_back(&*t.sentinel->master);
    for (const auto& r : t.sentinel->replicas) out.push_back(&r.seen);
  }
  if (t.cluster) {
    out.push_back(&t.cluster->seed);
    for (const auto& n : t.cluster->nodes)
      if (n.seen.addr != t.cluster->seed.addr) out.push_back(&n.seen);
  }
  return out;
}

// What a refused check was about, in words.
std::string subject(const redis::acl::check& c, const redis::acl::denial& d) {
  using kind = redis::acl::denial::kind;
  switch (d.what) {
    case kind::command: return "run '" + d.command + "'";
    case kind::key: return "access the key " + c.args.at(1);
    case kind::channel:
      return (c.args.at(0) == "PUBLISH" ? "publish on " : "subscribe to ") + c.args.at(1);
  }
  return {};
}

struct missing {
  std::string subject;
  std::string reply;
  std::vector<std::string> nodes;
};

}  // namespace

void judge_permissions(client_report& rep, const redis::topology_facts& facts) {
  if (facts.key_prefix.empty()) return;
  const auto checks = redis::acl::dry_run(facts.key_prefix, facts.topo == redis::topology::cluster);
  std::map<std::string, missing> by_grant;  // what to add -> where it is missing
  std::vector<std::string> order;
  std::vector<std::string> unchecked;
  for (const auto* n : data_nodes(facts)) {
    if (redis::acl::read_noperm(n->dry_run_refused)) unchecked.push_back(n->addr);
    if (n->dry_run_errors.size() != checks.size()) continue;
    for (std::size_t i = 0; i < checks.size(); ++i) {
      const auto d = redis::acl::read_noperm(n->dry_run_errors[i]);
      if (!d) continue;
      const auto grant = redis::acl::grant_for(checks[i], *d, facts.key_prefix);
      auto [it, added] = by_grant.try_emplace(grant);
      if (added) {
        order.push_back(grant);
        it->second.subject = subject(checks[i], *d);
        it->second.reply = n->dry_run_errors[i];
      }
      if (it->second.nodes.empty() || it->second.nodes.back() != n->addr)
        it->second.nodes.push_back(n->addr);
    }
  }
  const auto nodes_text = [](const std::vector<std::string>& nodes) {
    std::string out;
    for (const auto& n : nodes) out += (out.empty() ? "" : ", ") + n;
    return out;
  };
  for (const auto& grant : order) {
    const auto& m = by_grant.at(grant);
    rep.problem(severity::misconfigured, "the Redis user '" + facts.username + "' may not " +
                                             m.subject + " on " + nodes_text(m.nodes) + " (" +
                                             m.reply + "), which owcore needs: add " + grant +
                                             " (ACL SETUSER " + facts.username + " " + grant + ")");
  }
  if (!unchecked.empty())
    rep.notes.push_back("the ACL permissions of user '" + facts.username +
                        "' were not checked on " + nodes_text(unchecked) +
                        ": MULTI is refused (owcore doctor's dry run needs +multi +discard)");
  if (!order.empty() || !unchecked.empty())
    rep.notes.push_back("the whole rule owcore needs (docs/redis.md, Restricted credentials): " +
                        redis::acl::setuser_line(facts.username, facts.key_prefix));
}

}  // namespace owcore::app
