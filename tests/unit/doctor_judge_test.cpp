// The judge of `owcore doctor` (app/doctor_judge.hpp) with hand-built facts: each finding, its
// severity and its advice, without any Redis.
#include "owcore/app/doctor_judge.hpp"
#include "owcore/redis/error.hpp"
#include "owcore/redis/protocol/acl.hpp"

#include "redis_replies.hpp"

#include <gtest/gtest.h>

#include <map>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace doctor_judge_test {

using namespace owcore;
using namespace owcore::app;
using namespace test_replies;
using redis::inspect_step;

namespace {

const client_vars app_vars{"REDIS_URL", "REDIS_CLUSTER", "REDIS_SENTINEL_HOSTS",
                           "REDIS_SENTINEL_PORT"};

std::string info_text(std::map<std::string, std::string> fields) {
  std::string out = "# Server\r\n";
  for (const auto& [k, v] : fields) out += k + ":" + v + "\r\n";
  return out;
}

redis::node_facts master_node(std::string addr = "10.0.0.1:6379", std::string extra_info = {}) {
  redis::node_facts f;
  f.addr = std::move(addr);
  f.latency_ms = 0.25;
  f.role = "master";
  f.info = info_text({{"redis_version", "7.0.15"},
                      {"run_id", "abc"},
                      {"redis_mode", "standalone"},
                      {"db0", "keys=12,expires=0,avg_ttl=0"}}) +
           extra_info;
  return f;
}

redis::node_facts failed_node(std::string addr, inspect_step step, bool transport,
                              std::string text) {
  redis::node_facts f;
  f.addr = std::move(addr);
  f.failure = {step, transport, std::move(text), {}};
  return f;
}

client_report judged(const redis::topology_facts& facts, int db = 0, std::string service = {}) {
  client_report rep;
  rep.name = "app";
  rep.configured = true;
  rep.topo = facts.topo;
  rep.db = db;
  rep.service_name = std::move(service);
  judge_client(rep, facts, app_vars);
  return rep;
}

client_report standalone(redis::node_facts f, int db = 0) {
  redis::topology_facts t;
  t.topo = redis::topology::standalone;
  t.standalone = std::move(f);
  return judged(t, db);
}

bool has(const std::vector<std::string>& items, std::string_view needle) {
  for (const auto& i : items)
    if (i.find(needle) != std::string::npos) return true;
  return false;
}

// The one problem of `rep`, which must have exactly one.
const finding& only_problem(const client_report& rep) {
  EXPECT_EQ(rep.problems.size(), 1u);
  static const finding none{severity::healthy, "(no problem)"};
  return rep.problems.empty() ? none : rep.problems.front();
}

}  // namespace

TEST(DoctorJudgeStandalone, HealthyMasterReportsVersionKeysAndLatency) {
  auto rep = standalone(master_node());
  EXPECT_EQ(rep.status(), severity::healthy);
  EXPECT_EQ(rep.master, "10.0.0.1:6379");
  EXPECT_EQ(rep.version, "7.0.15");
  EXPECT_EQ(rep.run_id, "abc");
  ASSERT_TRUE(rep.keys);
  EXPECT_EQ(*rep.keys, 12);
  ASSERT_TRUE(rep.latency_ms);
  EXPECT_DOUBLE_EQ(*rep.latency_ms, 0.25);
  EXPECT_TRUE(rep.problems.empty());
  EXPECT_TRUE(rep.notes.empty());
  // A database without keys has no keyspace line: zero keys.
  EXPECT_EQ(standalone(master_node(), 3).keys, 0);
}

TEST(DoctorJudgeStandalone, TransportFailuresAreUnreachable) {
  auto rep = standalone(failed_node("10.0.0.1:6379", inspect_step::connect, true,
                                    "cannot connect to 10.0.0.1:6379: Connection refused"));
  EXPECT_EQ(rep.status(), severity::unreachable);
  EXPECT_EQ(only_problem(rep).text, "cannot connect to 10.0.0.1:6379: Connection refused");
  EXPECT_EQ(rep.master, "10.0.0.1:6379");
  EXPECT_FALSE(rep.latency_ms);

  EXPECT_EQ(
      only_problem(standalone(failed_node("h:1", inspect_step::auth, true, "timed out"))).text,
      "AUTH to h:1 failed: timed out");
  EXPECT_EQ(
      only_problem(standalone(failed_node("h:1", inspect_step::select, true, "timed out"))).text,
      "SELECT on h:1 failed: timed out");
  EXPECT_EQ(only_problem(standalone(failed_node("h:1", inspect_step::ping, true, "eof"))).text,
            "PING to h:1 failed: eof");
  EXPECT_EQ(only_problem(standalone(failed_node("h:1", inspect_step::role, true, "eof"))).text,
            "ROLE on h:1 failed: eof");
  const auto info = standalone(failed_node("h:1", inspect_step::info, true, "eof"));
  EXPECT_EQ(only_problem(info).text, "INFO on h:1 failed: eof");
  EXPECT_EQ(info.status(), severity::unreachable);
}

TEST(DoctorJudgeStandalone, RefusedCredentialsAreMisconfiguredAndNameTheVariable) {
  auto wrong = standalone(failed_node("h:1", inspect_step::auth, false, "WRONGPASS invalid"));
  EXPECT_EQ(wrong.status(), severity::misconfigured);
  EXPECT_EQ(only_problem(wrong).text,
            "AUTH refused by h:1: WRONGPASS invalid; check the credentials in REDIS_URL");
  auto none =
      standalone(failed_node("h:1", inspect_step::ping, false, "NOAUTH Authentication required."));
  EXPECT_EQ(none.status(), severity::misconfigured);
  EXPECT_EQ(only_problem(none).text,
            "h:1 requires a password (NOAUTH Authentication required.): put it in REDIS_URL");
  auto select = standalone(
      failed_node("h:1", inspect_step::select, false, "ERR DB index is out of range"), 20);
  EXPECT_EQ(only_problem(select).text, "h:1 refused SELECT 20: ERR DB index is out of range");
}

TEST(DoctorJudgeStandalone, WrongKindsOfServerAreMisconfigured) {
  auto sentinel = master_node();
  sentinel.role = "sentinel";
  auto rep = standalone(sentinel);
  EXPECT_EQ(rep.status(), severity::misconfigured);
  EXPECT_NE(only_problem(rep).text.find("is a Redis Sentinel, not a data server: set "
                                        "REDIS_SENTINEL_HOSTS and REDIS_SENTINEL_PORT"),
            std::string::npos);

  auto cluster = standalone(master_node("h:1", "cluster_enabled:1\r\n"));
  EXPECT_EQ(cluster.status(), severity::misconfigured);
  EXPECT_NE(only_problem(cluster).text.find("set REDIS_CLUSTER=true"), std::string::npos);

  auto replica = master_node();
  replica.role = "slave";
  replica.replica_of = "10.0.0.2:6379";
  auto r = standalone(replica);
  EXPECT_EQ(r.status(), severity::misconfigured);
  EXPECT_EQ(only_problem(r).text,
            "10.0.0.1:6379 is a read-only replica (of 10.0.0.2:6379): writes fail with READONLY; "
            "point REDIS_URL at the master, or use Sentinel");
}

TEST(DoctorJudgeStandalone, NotesNeverChangeTheStatus) {
  auto no_info = master_node();
  no_info.info.clear();
  auto rep = standalone(no_info);
  EXPECT_EQ(rep.status(), severity::healthy);
  EXPECT_TRUE(has(rep.notes, "INFO is not available on 10.0.0.1:6379"));
  EXPECT_TRUE(rep.version.empty());
  EXPECT_FALSE(rep.keys);

  auto lru = standalone(master_node("h:1", "maxmemory:1000\r\nmaxmemory_policy:allkeys-lru\r\n"));
  EXPECT_EQ(lru.status(), severity::healthy);
  EXPECT_TRUE(has(lru.notes, "maxmemory-policy is allkeys-lru with maxmemory 1000"));
  auto volatile_lru =
      standalone(master_node("h:1", "maxmemory:1000\r\nmaxmemory_policy:volatile-lru\r\n"));
  EXPECT_TRUE(volatile_lru.notes.empty());

  auto replicas = standalone(master_node("h:1",
                                         "slave0:ip=10.0.0.2,port=6380,state=online,offset=1\r\n"
                                         "slave1:ip=::1,port=6381,state=wait_bgsave,offset=0\r\n"));
  EXPECT_EQ(replicas.status(), severity::healthy);
  ASSERT_EQ(replicas.replicas.size(), 2u);
  EXPECT_EQ(replicas.replicas[0].addr, "10.0.0.2:6380");
  EXPECT_EQ(replicas.replicas[1].addr, "[::1]:6381");
  EXPECT_TRUE(has(replicas.notes, "replica [::1]:6381 is in state wait_bgsave (not online)"));
}

namespace {

redis::sentinel_answer knows(std::string addr, std::string master) {
  redis::sentinel_answer a;
  a.addr = std::move(addr);
  a.knows_service = true;
  a.master = std::move(master);
  return a;
}

redis::sentinel_replica replica_of_master(std::string addr, std::string flags = "slave") {
  redis::sentinel_replica r;
  r.addr = addr;
  r.flags = std::move(flags);
  r.link_status = "ok";
  r.seen.addr = std::move(addr);
  r.seen.role = "slave";
  r.seen.latency_ms = 0.1;
  return r;
}

// One sentinel at 10.0.0.9:26379 naming 10.0.0.1:6379, one healthy replica, quorum OK.
redis::sentinel_facts healthy_sentinel() {
  redis::sentinel_facts f;
  f.sentinels.push_back(knows("10.0.0.9:26379", "10.0.0.1:6379"));
  f.primary = 0;
  f.master_flags = "master";
  f.replicas_listed = true;
  f.replicas.push_back(replica_of_master("10.0.0.2:6379"));
  f.quorum = "OK 1 usable Sentinels. Quorum and failover authorization can be reached";
  f.master = master_node();
  return f;
}

client_report sentinel(redis::sentinel_facts f) {
  redis::topology_facts t;
  t.topo = redis::topology::sentinel;
  t.sentinel = std::move(f);
  return judged(t, 0, "mymaster");
}

}  // namespace

TEST(DoctorJudgeSentinel, HealthyGroupWithOneSentinelIsHealthyWithANote) {
  auto rep = sentinel(healthy_sentinel());
  EXPECT_EQ(rep.status(), severity::healthy) << (rep.problems.empty() ? "" : rep.problems[0].text);
  EXPECT_EQ(rep.master, "10.0.0.1:6379");
  ASSERT_EQ(rep.sentinels.size(), 1u);
  EXPECT_TRUE(rep.sentinels[0].reachable);
  EXPECT_EQ(rep.sentinels[0].master, "10.0.0.1:6379");
  ASSERT_EQ(rep.replicas.size(), 1u);
  EXPECT_EQ(rep.replicas[0].master, "10.0.0.1:6379");
  EXPECT_EQ(rep.replicas[0].reachable, true);
  EXPECT_TRUE(rep.quorum.starts_with("OK"));
  EXPECT_EQ(rep.version, "7.0.15");
  EXPECT_TRUE(has(rep.notes, "only one sentinel is configured"));
}

TEST(DoctorJudgeSentinel, NoSentinelAnsweringIsUnreachable) {
  redis::sentinel_facts f;
  redis::sentinel_answer a;
  a.addr = "10.0.0.9:26379";
  a.failure = {inspect_step::connect, true, "cannot connect to 10.0.0.9:26379: refused", {}};
  f.sentinels.push_back(a);
  a.addr = "10.0.0.8:26379";
  a.failure = {inspect_step::auth, false, "WRONGPASS invalid", {}};
  f.sentinels.push_back(a);
  auto rep = sentinel(f);
  EXPECT_EQ(rep.status(), severity::unreachable);
  EXPECT_EQ(only_problem(rep).text,
            "no sentinel answered: cannot connect to 10.0.0.9:26379: refused; AUTH refused by "
            "10.0.0.8:26379: WRONGPASS invalid; check the credentials in REDIS_SENTINEL_PASSWORD");
  EXPECT_FALSE(rep.sentinels[1].reachable);
}

TEST(DoctorJudgeSentinel, DataPortAndUnknownServiceAreMisconfigured) {
  redis::sentinel_facts data_port;
  redis::sentinel_answer a;
  a.addr = "10.0.0.1:6379";
  a.error_reply = "ERR unknown command 'SENTINEL'";
  data_port.sentinels.push_back(a);
  auto rep = sentinel(data_port);
  EXPECT_EQ(rep.status(), severity::misconfigured);
  EXPECT_EQ(only_problem(rep).text,
            "10.0.0.1:6379 is not a sentinel (ERR unknown command 'SENTINEL'): REDIS_SENTINEL_PORT "
            "must be the sentinels' port (26379 by default), not a data port");

  redis::sentinel_facts unknown;
  redis::sentinel_answer b;
  b.addr = "10.0.0.9:26379";
  b.known_masters = {"other", "mymaster2"};
  unknown.sentinels.push_back(b);
  auto u = sentinel(unknown);
  EXPECT_EQ(u.status(), severity::misconfigured);
  EXPECT_EQ(only_problem(u).text,
            "no sentinel monitors a master named 'mymaster' (the host part of REDIS_URL is the "
            "service name); the sentinels know: mymaster2, other");
  EXPECT_EQ(u.sentinels[0].error, "does not monitor a master named 'mymaster'");
}

TEST(DoctorJudgeSentinel, LostRedundancyIsDegraded) {
  auto f = healthy_sentinel();
  redis::sentinel_answer down;
  down.addr = "10.0.0.8:26379";
  down.failure = {inspect_step::query, true, "timed out", {}};
  f.sentinels.push_back(down);
  f.sentinels.push_back(knows("10.0.0.7:26379", "10.0.0.3:6379"));
  f.master_flags = "master,s_down";
  f.replicas[0].seen = failed_node("10.0.0.2:6379", inspect_step::connect, true,
                                   "cannot connect to 10.0.0.2:6379: refused");
  f.quorum_refused = true;
  f.quorum = "NOQUORUM 1 usable Sentinels";
  auto rep = sentinel(f);
  EXPECT_EQ(rep.status(), severity::degraded);
  std::vector<std::string> texts;
  for (const auto& p : rep.problems) {
    EXPECT_EQ(p.level, severity::degraded) << p.text;
    texts.push_back(p.text);
  }
  EXPECT_TRUE(has(texts,
                  "sentinel 10.0.0.8:26379 is unreachable: SENTINEL "
                  "GET-MASTER-ADDR-BY-NAME on 10.0.0.8:26379 failed: timed out"));
  EXPECT_TRUE(has(texts,
                  "the sentinels disagree about the master of 'mymaster': 10.0.0.9:26379 "
                  "says 10.0.0.1:6379, 10.0.0.7:26379 says 10.0.0.3:6379"));
  EXPECT_TRUE(has(texts, "flags the master 10.0.0.1:6379 as down (master,s_down)"));
  EXPECT_TRUE(has(texts, "replica 10.0.0.2:6379: unreachable: cannot connect to 10.0.0.2:6379"));
  EXPECT_TRUE(has(texts, "sentinel quorum check failed: NOQUORUM"));
  EXPECT_EQ(rep.replicas[0].reachable, false);

  auto lonely = healthy_sentinel();
  lonely.replicas.clear();
  EXPECT_EQ(only_problem(sentinel(lonely)).text,
            "the master of 'mymaster' has no replica: Sentinel has nothing to fail over to");
}

TEST(DoctorJudgeSentinel, StaleOrMalformedMasterIsUnreachable) {
  auto stale = healthy_sentinel();
  stale.master->role = "slave";
  stale.master->replica_of = "10.0.0.2:6379";
  auto rep = sentinel(stale);
  EXPECT_EQ(rep.status(), severity::unreachable);
  EXPECT_NE(only_problem(rep).text.find("a failover is in progress"), std::string::npos);

  auto malformed = healthy_sentinel();
  malformed.sentinels[0].master = "10.0.0.1:99999";
  malformed.master.reset();
  auto m = sentinel(malformed);
  EXPECT_EQ(m.status(), severity::unreachable);
  EXPECT_EQ(only_problem(m).text,
            "sentinel 10.0.0.9:26379 names a malformed master address: 10.0.0.1:99999");
}

namespace {

reply slots_range(std::int64_t first, std::int64_t last, std::int64_t port, std::int64_t replica) {
  std::vector<reply> e{integer(first), integer(last),
                       arr({str("10.0.0.1"), integer(port), str("id")})};
  if (replica) e.push_back(arr({str("10.0.0.1"), integer(replica), str("rid")}));
  return arr(std::move(e));
}

redis::cluster_member member(std::string addr, std::string role, std::string flags) {
  redis::cluster_member m;
  m.addr = addr;
  m.role = std::move(role);
  m.flags = std::move(flags);
  m.seen.addr = std::move(addr);
  m.seen.role = m.role == "master" ? "master" : "slave";
  m.seen.latency_ms = 0.1;
  return m;
}

// Two masters (7000: 0-8191, 7001: 8192-16383), one replica each (7002 of 7000, 7003 of 7001).
redis::cluster_facts healthy_cluster(std::int64_t last = 16383) {
  redis::cluster_facts f;
  f.seed = master_node("10.0.0.1:7000", "cluster_enabled:1\r\n");
  f.map = redis::slot_map::from_cluster_slots(
      arr({slots_range(0, 8191, 7000, 7002), slots_range(8192, last, 7001, 7003)}), "10.0.0.1");
  f.cluster_info = "cluster_state:ok\r\ncluster_slots_fail:0\r\n";
  auto m0 = member("10.0.0.1:7000", "master", "myself,master");
  m0.slots = {{0, 8191}};
  auto m1 = member("10.0.0.1:7001", "master", "master");
  m1.slots = {{8192, static_cast<std::uint16_t>(last)}};
  auto r0 = member("10.0.0.1:7002", "replica", "slave");
  r0.master = "10.0.0.1:7000";
  auto r1 = member("10.0.0.1:7003", "replica", "slave");
  r1.master = "10.0.0.1:7001";
  f.nodes = {m0, r0, m1, r1};
  return f;
}

client_report cluster(redis::cluster_facts f) {
  redis::topology_facts t;
  t.topo = redis::topology::cluster;
  t.cluster = std::move(f);
  return judged(t);
}

}  // namespace

TEST(DoctorJudgeCluster, HealthyClusterCoversEverySlot) {
  auto rep = cluster(healthy_cluster());
  EXPECT_EQ(rep.status(), severity::healthy) << (rep.problems.empty() ? "" : rep.problems[0].text);
  EXPECT_EQ(rep.seed, "10.0.0.1:7000");
  EXPECT_EQ(rep.slots_covered, 16384u);
  EXPECT_EQ(rep.cluster_state, "ok");
  EXPECT_EQ(rep.nodes.size(), 4u);
  EXPECT_EQ(rep.replicas.size(), 2u);
  EXPECT_TRUE(rep.notes.empty());
}

TEST(DoctorJudgeCluster, NonClusterSeedsAreMisconfigured) {
  auto sentinel_seed = healthy_cluster();
  sentinel_seed.seed.role = "sentinel";
  auto s = cluster(sentinel_seed);
  EXPECT_EQ(s.status(), severity::misconfigured);
  EXPECT_NE(only_problem(s).text.find("is a Redis Sentinel, not a Cluster node: set "
                                      "REDIS_SENTINEL_HOSTS instead of REDIS_CLUSTER"),
            std::string::npos);

  auto plain = healthy_cluster();
  plain.seed = master_node("10.0.0.1:6379", "cluster_enabled:0\r\n");
  EXPECT_EQ(only_problem(cluster(plain)).text,
            "REDIS_CLUSTER=true but 10.0.0.1:6379 is not a Redis Cluster node (cluster_enabled:0); "
            "unset REDIS_CLUSTER for a standalone server");

  auto refused = healthy_cluster();
  refused.seed.info.clear();
  refused.map.reset();
  refused.slots_failure = {
      inspect_step::query, false, "ERR This instance has cluster support disabled", {}};
  auto r = cluster(refused);
  EXPECT_EQ(r.status(), severity::misconfigured);
  EXPECT_NE(only_problem(r).text.find("not a Redis Cluster node (ERR This instance"),
            std::string::npos);

  auto down = healthy_cluster();
  down.map.reset();
  down.slots_failure = {inspect_step::query, true, "timed out", {}};
  EXPECT_EQ(only_problem(cluster(down)).text, "CLUSTER SLOTS on 10.0.0.1:7000 failed: timed out");
}

TEST(DoctorJudgeCluster, UncoveredSlotsFailedStateAndDeadNodesAreDegraded) {
  auto f = healthy_cluster(16000);
  f.cluster_info = "cluster_state:fail\r\ncluster_slots_fail:384\r\n";
  f.nodes[1].seen = failed_node("10.0.0.1:7002", inspect_step::connect, true,
                                "cannot connect to 10.0.0.1:7002: refused");
  f.nodes[1].flags = "slave,fail";
  f.nodes[2].seen = failed_node("10.0.0.1:7001", inspect_step::ping, true, "timed out");
  auto rep = cluster(f);
  EXPECT_EQ(rep.status(), severity::degraded);
  std::vector<std::string> texts;
  for (const auto& p : rep.problems) texts.push_back(p.text);
  ASSERT_EQ(texts.size(), 4u);
  EXPECT_EQ(texts[0], "only 16001 of 16384 hash slots are served; uncovered: 16001-16383");
  EXPECT_EQ(texts[1], "cluster_state is fail on 10.0.0.1:7000 (cluster_slots_fail 384)");
  EXPECT_TRUE(has(texts,
                  "node 10.0.0.1:7002 (replica of 10.0.0.1:7000): the cluster marks it "
                  "failed"));
  EXPECT_TRUE(has(texts,
                  "node 10.0.0.1:7001 (master): unreachable: PING to 10.0.0.1:7001 "
                  "failed: timed out; requests for slots 8192-16000 fail until a replica "
                  "takes over"));
}

TEST(DoctorJudgeCluster, SlotlessMastersAndRoleChangesAreNotes) {
  auto f = healthy_cluster();
  auto extra = member("10.0.0.1:7004", "master", "master");
  extra.only_in_nodes = true;
  f.nodes.push_back(extra);
  f.nodes[1].seen.role = "master";  // the listed replica 7002 says it is a master now
  auto rep = cluster(f);
  EXPECT_EQ(rep.status(), severity::healthy);
  EXPECT_TRUE(has(rep.notes, "master 10.0.0.1:7004 serves no hash slots"));
  EXPECT_TRUE(has(rep.notes, "node 10.0.0.1:7002 is listed as replica but its ROLE says master"));
}

TEST(DoctorJudgeConfig, StatusIsTheWorstFindingAndExitCodesFollowIt) {
  diagnosis d;
  EXPECT_EQ(d.status(), severity::healthy);
  EXPECT_EQ(exit_code_of(d.status()), 0);
  d.app.problem(severity::degraded, "x");
  EXPECT_EQ(exit_code_of(d.status()), 1);
  d.database.error = "gone";
  EXPECT_EQ(d.status(), severity::unreachable);
  EXPECT_EQ(exit_code_of(d.status()), 2);
  d.problems.push_back({severity::misconfigured, "y"});
  EXPECT_EQ(to_string(d.status()), "misconfigured");
  EXPECT_EQ(exit_code_of(d.status()), 2);
}

namespace {

settings settings_of(std::map<std::string, std::string> env) {
  return load_settings([env](std::string_view name) -> std::optional<std::string> {
    auto it = env.find(std::string(name));
    if (it == env.end()) return std::nullopt;
    return it->second;
  });
}

}  // namespace

TEST(DoctorJudgeConfig, WsSentinelHostsThatDoNotInheritAreMisconfigured) {
  const auto s = settings_of({{"REDIS_URL", "redis://mymaster/0"},
                              {"REDIS_SENTINEL_HOSTS", "10.0.0.9"},
                              {"WEBSOCKET_MANAGER", "redis"}});
  client_report ws;
  ws.configured = true;
  precheck_ws(ws, s);
  EXPECT_EQ(ws.status(), severity::misconfigured);
  EXPECT_NE(only_problem(ws).text.find("WEBSOCKET_SENTINEL_HOSTS is empty"), std::string::npos);
}

TEST(DoctorJudgeConfig, SameServerOtherDatabaseSharesPubSub) {
  const auto s = settings_of({{"REDIS_KEY_PREFIX", "px"}});
  diagnosis d;
  d.app.configured = d.ws.configured = true;
  d.app.run_id = d.ws.run_id = "abc";
  d.ws.db = 1;
  compare_clients(d, s);
  EXPECT_TRUE(has(d.notes,
                  "pub/sub is server-wide, so both databases share the socketio and "
                  "px:tasks:commands channels"));
  diagnosis none;
  compare_clients(none, s);
  EXPECT_TRUE(has(none.notes, "no Redis is configured"));
}

TEST(DoctorJudgeConfig, SettingsErrorsReplaceThePlanErrorOfTheirVariable) {
  auto s = settings_of({});
  s.errors.push_back({"REDIS_URL", "is not a Redis URL"});
  s.errors.push_back({"PORT", "is not a port"});
  diagnosis d;
  d.app.configured = true;
  d.app.problem(severity::misconfigured, "REDIS_URL: plan error");
  attach_settings_errors(d, s);
  ASSERT_EQ(d.app.problems.size(), 1u);
  EXPECT_EQ(d.app.problems[0].text, "REDIS_URL: is not a Redis URL");
  ASSERT_EQ(d.problems.size(), 1u);
  EXPECT_EQ(d.problems[0].text, "PORT: is not a port");
}

namespace {

// Standalone facts whose dry run (for prefix "p") answered `refusals` (index in the dry run ->
// error reply) and QUEUED for everything else.
redis::topology_facts dry_run_facts(std::map<std::string, std::string> refusals_by_command) {
  redis::topology_facts t;
  t.topo = redis::topology::standalone;
  t.username = "owcore";
  t.key_prefix = "p";
  auto node = master_node();
  for (const auto& c : redis::acl::dry_run("p", false)) {
    const auto key = c.args[0] + (c.args.size() > 1 ? " " + c.args[1] : "");
    auto it = refusals_by_command.find(key);
    node.dry_run_errors.push_back(it == refusals_by_command.end() ? "" : it->second);
  }
  t.standalone = node;
  return t;
}

}  // namespace

TEST(DoctorJudgeAcl, AllQueuedMeansNoFinding) {
  auto rep = judged(dry_run_facts({}));
  EXPECT_EQ(rep.status(), severity::healthy);
  EXPECT_TRUE(rep.notes.empty());
}

TEST(DoctorJudgeAcl, EachMissingPermissionIsMisconfiguredAndNamesTheGrant) {
  auto rep = judged(dry_run_facts(
      {{"EVAL return 0", "NOPERM this user has no permissions to run the 'eval' command"},
       {"GET p:owcore:doctor",
        "NOPERM this user has no permissions to access one of the keys used as arguments"},
       {"HGET p:owcore:doctor",
        "NOPERM this user has no permissions to access one of the keys used as arguments"},
       {"SUBSCRIBE socketio",
        "NOPERM this user has no permissions to access one of the channels used as arguments"},
       {"PING", "ERR something else"}}));
  EXPECT_EQ(rep.status(), severity::misconfigured);
  ASSERT_EQ(rep.problems.size(), 3u);  // the key refusal once, the non-NOPERM error ignored
  std::vector<std::string> texts;
  for (const auto& p : rep.problems) {
    EXPECT_EQ(p.level, severity::misconfigured);
    texts.push_back(p.text);
  }
  EXPECT_TRUE(has(texts,
                  "the Redis user 'owcore' may not run 'eval' on 10.0.0.1:6379 (NOPERM this "
                  "user has no permissions to run the 'eval' command), which owcore needs: "
                  "add +eval (ACL SETUSER owcore +eval)"));
  EXPECT_TRUE(has(texts, "may not access the key p:owcore:doctor"));
  EXPECT_TRUE(has(texts, "add ~p:* (ACL SETUSER owcore ~p:*)"));
  EXPECT_TRUE(has(texts, "may not subscribe to socketio"));
  EXPECT_TRUE(has(texts, "add &socketio (ACL SETUSER owcore &socketio)"));
  EXPECT_TRUE(has(rep.notes,
                  "the whole rule owcore needs (docs/redis.md, Restricted credentials): "
                  "ACL SETUSER owcore on >PASSWORD resetkeys resetchannels -@all ~p:*"));
}

TEST(DoctorJudgeAcl, RefusedMultiIsANoteAndUnfinishedRunsAreIgnored) {
  auto t = dry_run_facts({});
  t.standalone->dry_run_errors.clear();
  t.standalone->dry_run_refused = "NOPERM this user has no permissions to run the 'multi' command";
  auto rep = judged(t);
  EXPECT_EQ(rep.status(), severity::healthy);
  EXPECT_TRUE(has(rep.notes, "were not checked on 10.0.0.1:6379: MULTI is refused"));

  auto partial =
      dry_run_facts({{"EVAL return 0", "NOPERM no permissions to run the 'eval' command"}});
  partial.standalone->dry_run_errors.pop_back();  // the connection dropped mid-way
  EXPECT_EQ(judged(partial).status(), severity::healthy);
}

}  // namespace doctor_judge_test
