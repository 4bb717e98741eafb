#include "owcore/redis/protocol/cluster_slots.hpp"
#include "owcore/redis/protocol/request.hpp"
#include "owcore/redis/protocol/resp.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <random>
#include <string>
#include <utility>
#include <vector>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace cluster_slots_test {

using namespace owcore::redis;
using namespace std::string_literals;

namespace {

using range_list = std::vector<std::pair<std::uint16_t, std::uint16_t>>;

// Decodes raw RESP bytes with the project's own parser, so fixtures can be real server output.
reply parse_reply(std::string_view bytes) {
  reply_parser p;
  EXPECT_FALSE(p.feed(bytes));
  boost::system::error_code ec;
  auto r = p.next(ec);
  EXPECT_FALSE(ec);
  EXPECT_TRUE(r.has_value());
  return r ? std::move(*r) : reply{};
}

reply integer(std::int64_t v) {
  reply r;
  r.type = reply::kind::integer;
  r.integer = v;
  return r;
}

reply bulk(std::string s) {
  reply r;
  r.type = reply::kind::string;
  r.str = std::move(s);
  return r;
}

reply array(std::vector<reply> elements) {
  reply r;
  r.type = reply::kind::array;
  r.elements = std::move(elements);
  return r;
}

reply endpoint(std::string host, std::int64_t port, std::string id = "0123456789abcdef") {
  return array({bulk(std::move(host)), integer(port), bulk(std::move(id))});
}

reply slots_entry(std::int64_t first, std::int64_t last, std::vector<reply> nodes) {
  std::vector<reply> e{integer(first), integer(last)};
  for (auto& n : nodes) e.push_back(std::move(n));
  return array(std::move(e));
}

// Three masters with one replica each, full coverage, like a fresh `redis-cli --cluster create`.
reply three_masters() {
  return array({
      slots_entry(0, 5460, {endpoint("10.0.0.1", 6379), endpoint("10.0.0.4", 6379)}),
      slots_entry(5461, 10922, {endpoint("10.0.0.2", 6379), endpoint("10.0.0.5", 6379)}),
      slots_entry(10923, 16383, {endpoint("10.0.0.3", 6379), endpoint("10.0.0.6", 6379)}),
  });
}

slot_map must_parse(const reply& r, std::string_view asked_host = "asked") {
  std::string error;
  auto m = slot_map::from_cluster_slots(r, asked_host, &error);
  EXPECT_TRUE(m.has_value()) << error;
  return m ? std::move(*m) : slot_map{};
}

}  // namespace

// --- key_slot ------------------------------------------------------------------------------------

TEST(KeySlot, MatchesTheSpecCheckValue) {
  EXPECT_EQ(key_slot("123456789"), 0x31C3 % 16384);
  EXPECT_EQ(key_slot("123456789"), 12739);
}

TEST(KeySlot, HashTagsFollowTheSpec) {
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("{user1000}.followers"));
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("user1000"));
  // Empty tag: the whole key is hashed.
  EXPECT_NE(key_slot("foo{}{bar}"), key_slot("bar"));
  EXPECT_EQ(key_slot("foo{{bar}}zap"), key_slot("{bar"));
  EXPECT_EQ(key_slot("foo{bar}{zap}"), key_slot("bar"));
  // No closing brace after the opening one: the whole key.
  EXPECT_NE(key_slot("{bar"), key_slot("bar"));
  EXPECT_NE(key_slot("bar}{"), key_slot("bar"));
}

TEST(KeySlot, MatchesRedisServerClusterKeyslot) {
  // Ground truth from `CLUSTER KEYSLOT` on redis-server 7.0.15 (cluster-enabled yes).
  const std::vector<std::pair<std::string, std::uint16_t>> cases = {
      {"", 0},
      {"a", 15495},
      {"b", 3300},
      {"foo", 12182},
      {"bar", 5061},
      {"123456789", 12739},
      {"{user1000}.following", 3443},
      {"{user1000}.followers", 3443},
      {"foo{}{bar}", 8363},
      {"foo{{bar}}zap", 4015},
      {"foo{bar}{zap}", 5061},
      {"{bar", 4015},
      {"bar}", 6624},
      {"{}", 15257},
      {"{", 4092},
      {"}", 12090},
      {"{a}", 15495},
      {"x{a}y", 15495},
      {"open-webui:session:abc", 13068},
      {"owcore:{room42}:members", 14783},
      {"{room42}", 14783},
      {"h\xc3\xa9llo", 11061},
      {"key:0000", 3102},
      {"user:1000", 1649},
      {"{}{a}", 13650},
      {"a{b}c{d}", 3300},
      {"{{}}", 4092},
      {"{ab", 7174},
      {"ab}cd{ef}", 14527},
      {"k78", 195},
  };
  for (const auto& [key, slot] : cases) EXPECT_EQ(key_slot(key), slot) << '"' << key << '"';
}

TEST(KeySlot, IsBinarySafeAndInRange) {
  const std::string with_nul("a\0b", 3);
  EXPECT_NE(key_slot(with_nul), key_slot("a"));
  std::mt19937 rng(1234);
  for (int i = 0; i < 2000; ++i) {
    std::string k(rng() % 40, '\0');
    for (auto& c : k) c = static_cast<char>(rng());
    EXPECT_LT(key_slot(k), slot_count);
  }
}

// --- cross-slot check and request_slot -----------------------------------------------------------

TEST(CrossSlot, SameSlotAndKeylessRequestsPass) {
  request keyless;
  keyless.push("PING").push("INFO", "server");
  EXPECT_EQ(cross_slot_error(keyless), std::nullopt);
  EXPECT_EQ(request_slot(keyless), std::nullopt);

  request tagged;
  tagged.push("SET", key("{user}:a"), "1").push("GET", key("{user}:b")).push("PING");
  tagged.eval("return 1", {"{user}:c", "{user}:d"}, {"x"});
  EXPECT_EQ(cross_slot_error(tagged), std::nullopt);
  EXPECT_EQ(request_slot(tagged), key_slot("user"));

  request repeated;
  repeated.push("MGET", key("a"), key("a"));
  EXPECT_EQ(cross_slot_error(repeated), std::nullopt);
}

TEST(CrossSlot, RouteAsReplacesTheKeysOfItsCommand) {
  // PUBLISHes of several channels routed as one name: one slot, no cross-slot refusal.
  request req;
  for (const char* channel : {"socketio", "socketio#/#user:1", "socketio#/#note:2"}) {
    command c;
    c.args = {"PUBLISH", channel, "{}"};
    c.key_indexes = {1};
    c.route_as = "socketio";
    req.push(std::move(c));
  }
  EXPECT_EQ(cross_slot_error(req), std::nullopt);
  EXPECT_EQ(request_slot(req), key_slot("socketio"));

  // Mixed with a real key of another slot, it is checked like a key.
  req.push("GET", key("foo"));
  EXPECT_TRUE(cross_slot_error(req));
}

TEST(CrossSlot, MessageNamesTheKeysAndSlots) {
  request req;
  req.push("MSET", key("a"), "1", key("b"), "2");
  const auto err = cross_slot_error(req);
  ASSERT_TRUE(err);
  EXPECT_EQ(*err,
            R"(keys span several hash slots: "a" (15495), "b" (3300); use a hash tag such as {user}:a)");
  // request_slot routes by the first key; cross_slot_error is the caller's gate.
  EXPECT_EQ(request_slot(req), 15495);
}

TEST(CrossSlot, SpansCommandsOfAPipeline) {
  request req;
  req.push("GET", key("foo")).push("PING").push("GET", key("bar")).push("GET", key("foo"));
  const auto err = cross_slot_error(req);
  ASSERT_TRUE(err);
  EXPECT_EQ(*err,
            R"(keys span several hash slots: "foo" (12182), "bar" (5061); use a hash tag such as {user}:foo)");
}

TEST(CrossSlot, MessageIsBoundedAndEscaped) {
  request req;
  const std::string binary("k\0\"\\\xff", 5);
  req.push("GET", key(binary));
  const std::string long_key(300, 'z');
  req.push("GET", key(long_key));
  for (int i = 0; i < 20; ++i) req.push("GET", key("key:" + std::to_string(i)));
  const auto err = cross_slot_error(req);
  ASSERT_TRUE(err);
  EXPECT_NE(err->find(R"("k\x00\"\\\xff" ()" + std::to_string(key_slot(binary)) + ")"),
            std::string::npos)
      << *err;
  EXPECT_NE(err->find('"' + std::string(64, 'z') + "...\""), std::string::npos) << *err;
  EXPECT_EQ(err->find(std::string(65, 'z')), std::string::npos);
  // 22 distinct keys, 8 named.
  EXPECT_NE(err->find(", and 14 more; use a hash tag"), std::string::npos) << *err;
  EXPECT_EQ(err->find("key:6\""), std::string::npos) << *err;
  EXPECT_LT(err->size(), 1000u);
  // The suggestion is the (escaped) first key, without quotes.
  EXPECT_NE(err->find(R"(such as {user}:k\x00\"\\\xff)"), std::string::npos) << *err;
}

// --- address::parse / resolve_address -------------------------------------------------------------

TEST(ClusterAddress, SplitsAtTheLastColon) {
  using hp = address;
  EXPECT_EQ(address::parse("127.0.0.1:6381"), (hp{"127.0.0.1", 6381}));
  EXPECT_EQ(address::parse("redis-0.redis:6379"), (hp{"redis-0.redis", 6379}));
  EXPECT_EQ(address::parse("::1:6380"), (hp{"::1", 6380}));
  EXPECT_EQ(address::parse("[::1]:6380"), (hp{"::1", 6380}));
  EXPECT_EQ(address::parse("[fe80::1%eth0]:1"), (hp{"fe80::1%eth0", 1}));
  EXPECT_EQ(address::parse(":6381"), (hp{"", 6381}));
  EXPECT_EQ(address::parse("h:65535"), (hp{"h", 65535}));
}

TEST(ClusterAddress, RejectsMalformedAddresses) {
  for (std::string_view bad :
       {"", ":", "host", "host:", "host:0", "host:65536", "host:99999999999999999999", "host:-1",
        "host:+1", "host: 1", "host:1 ", "host:6379x", "[::1:6380", "::1]:6380", "[:6380",
        "a b:6379", "a\tb:1", "[a]b:1", "host:0x10"}) {
    EXPECT_EQ(address::parse(bad), std::nullopt) << '"' << bad << '"';
  }
}

TEST(ClusterAddress, ResolvesAnEmptyHostToTheReplyingHost) {
  EXPECT_EQ(resolve_address(":6381", "10.0.0.5"), "10.0.0.5:6381");
  EXPECT_EQ(resolve_address(":6381", "::1"), "::1:6381");
  EXPECT_EQ(resolve_address("127.0.0.1:6381", "10.0.0.5"), "127.0.0.1:6381");
  EXPECT_EQ(resolve_address("::1:6380", "10.0.0.5"), "::1:6380");
  EXPECT_EQ(resolve_address("[]:6381", "10.0.0.5"), "10.0.0.5:6381");
  EXPECT_EQ(resolve_address("[::1]:6380", "10.0.0.5"), "[::1]:6380");
}

// --- classify_error ------------------------------------------------------------------------------

TEST(Redirect, ParsesMovedAndAsk) {
  auto r = classify_error("MOVED 3999 127.0.0.1:6381");
  EXPECT_EQ(r.type, redirect::kind::moved);
  EXPECT_EQ(r.slot, 3999);
  EXPECT_EQ(r.address, "127.0.0.1:6381");

  r = classify_error("ASK 3999 127.0.0.1:6381");
  EXPECT_EQ(r.type, redirect::kind::ask);
  EXPECT_EQ(r.slot, 3999);
  EXPECT_EQ(r.address, "127.0.0.1:6381");

  r = classify_error("MOVED 0 redis-2.cluster.local:6379");
  EXPECT_EQ(r.type, redirect::kind::moved);
  EXPECT_EQ(r.slot, 0);
  EXPECT_EQ(r.address, "redis-2.cluster.local:6379");

  r = classify_error("MOVED 16383 10.0.0.1:7000");
  EXPECT_EQ(r.type, redirect::kind::moved);
  EXPECT_EQ(r.slot, 16383);
}

TEST(Redirect, KeepsIpv6AndEmptyHostsAsGiven) {
  auto r = classify_error("MOVED 1 ::1:6380");
  EXPECT_EQ(r.type, redirect::kind::moved);
  EXPECT_EQ(r.slot, 1);
  EXPECT_EQ(r.address, "::1:6380");
  EXPECT_EQ(address::parse(r.address)->host, "::1");

  // Redis 7 with cluster-preferred-endpoint-type unknown-endpoint (seen from redis-server 7.0.15).
  r = classify_error("MOVED 195 :23101");
  EXPECT_EQ(r.type, redirect::kind::moved);
  EXPECT_EQ(r.slot, 195);
  EXPECT_EQ(r.address, ":23101");
  EXPECT_EQ(address::parse(r.address)->host, "");
  EXPECT_EQ(resolve_address(r.address, "127.0.0.1"), "127.0.0.1:23101");

  r = classify_error("ASK 195 :36909");
  EXPECT_EQ(r.type, redirect::kind::ask);
  EXPECT_EQ(r.address, ":36909");
}

TEST(Redirect, ClassifiesClusterStateErrors) {
  const std::vector<std::pair<std::string_view, redirect::kind>> cases = {
      {"TRYAGAIN Multiple keys request during rehashing of slot", redirect::kind::tryagain},
      {"CLUSTERDOWN Hash slot not served", redirect::kind::clusterdown},
      {"CLUSTERDOWN The cluster is down", redirect::kind::clusterdown},
      {"READONLY You can't write against a read only replica.", redirect::kind::readonly},
      {"LOADING Redis is loading the dataset in memory", redirect::kind::loading},
      {"MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
       redirect::kind::masterdown},
      {"TRYAGAIN", redirect::kind::tryagain},
      {"ERR unknown command", redirect::kind::none},
      {"CROSSSLOT Keys in request don't hash to the same slot", redirect::kind::none},
      {"WRONGTYPE Operation against a key holding the wrong kind of value", redirect::kind::none},
      {"NOAUTH Authentication required.", redirect::kind::none},
      {"clusterdown lower case", redirect::kind::none},
      {"CLUSTERDOWNX", redirect::kind::none},
      {"", redirect::kind::none},
  };
  for (const auto& [text, kind] : cases) {
    const auto r = classify_error(text);
    EXPECT_EQ(r.type, kind) << text;
    EXPECT_EQ(r.slot, 0) << text;
    EXPECT_TRUE(r.address.empty()) << text;
  }
}

TEST(Redirect, MalformedRedirectsAreNone) {
  for (std::string_view bad : {
           "MOVED", "MOVED ", "MOVED 3999", "MOVED 3999 ", "MOVED  3999 127.0.0.1:6381",
           "MOVED 3999  127.0.0.1:6381", "MOVED 16384 127.0.0.1:6381", "MOVED 65536 127.0.0.1:1",
           "MOVED 99999999999 127.0.0.1:1", "MOVED -1 127.0.0.1:6381", "MOVED +1 127.0.0.1:6381",
           "MOVED abc 127.0.0.1:6381", "MOVED 3999 127.0.0.1", "MOVED 3999 127.0.0.1:",
           "MOVED 3999 127.0.0.1:0", "MOVED 3999 127.0.0.1:70000", "MOVED 3999 127.0.0.1:6381 x",
           "MOVED 3999 127.0.0.1:6381\r\n", "MOVED\t3999 127.0.0.1:6381", "ASK 3999",
           "ASK x 1:1", "moved 3999 127.0.0.1:6381", "MOVED 3999 [::1:6380",
       }) {
    const auto r = classify_error(bad);
    EXPECT_EQ(r.type, redirect::kind::none) << '"' << bad << '"';
    EXPECT_TRUE(r.address.empty()) << '"' << bad << '"';
  }
}

TEST(Redirect, RandomInputNeverCrashes) {
  std::mt19937 rng(20240601);
  const std::string alphabet = "MOVEDASK TRYAGINCLUSTERDOWN0123456789:.[]{} \r\n\t-+x";
  const std::array<std::string, 3> seeds = {"MOVED 3999 127.0.0.1:6381", "ASK 1 ::1:6380",
                                            "MOVED 195 :23101"};
  int redirects = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    switch (i % 3) {
      case 0:  // arbitrary bytes
        s.resize(rng() % 48);
        for (auto& c : s) c = static_cast<char>(rng());
        break;
      case 1:  // bytes from a relevant alphabet
        s.resize(rng() % 32);
        for (auto& c : s) c = alphabet[rng() % alphabet.size()];
        break;
      default:  // mutations of valid redirects
        s = seeds[rng() % seeds.size()];
        for (int m = 0, n = 1 + static_cast<int>(rng() % 3); m < n; ++m) {
          const auto pos = rng() % (s.size() + 1);
          if (rng() % 2 && pos < s.size())
            s.erase(pos, 1);
          else
            s.insert(pos, 1, alphabet[rng() % alphabet.size()]);
        }
    }
    const auto r = classify_error(s);
    if (r.type == redirect::kind::moved || r.type == redirect::kind::ask) {
      ++redirects;
      EXPECT_LT(r.slot, slot_count) << s;
      EXPECT_TRUE(address::parse(r.address)) << s;
      EXPECT_TRUE(std::string_view(s).ends_with(r.address)) << s;
    } else {
      EXPECT_TRUE(r.address.empty()) << s;
    }
  }
  EXPECT_GT(redirects, 100);  // the mutations must also exercise the success path
}

// --- slot_map: building from CLUSTER SLOTS -------------------------------------------------------

TEST(SlotMap, BuildsFromClusterSlots) {
  const auto m = must_parse(three_masters());
  EXPECT_EQ(m.covered_slots(), slot_count);
  EXPECT_EQ(m.range_count(), 3u);
  EXPECT_EQ(m.master_for(0), "10.0.0.1:6379");
  EXPECT_EQ(m.master_for(5460), "10.0.0.1:6379");
  EXPECT_EQ(m.master_for(5461), "10.0.0.2:6379");
  EXPECT_EQ(m.master_for(10922), "10.0.0.2:6379");
  EXPECT_EQ(m.master_for(10923), "10.0.0.3:6379");
  EXPECT_EQ(m.master_for(16383), "10.0.0.3:6379");
  EXPECT_EQ(m.master_for(16384), std::nullopt);
  EXPECT_EQ(m.master_for(65535), std::nullopt);
  EXPECT_EQ(m.masters(), (std::vector<std::string>{"10.0.0.1:6379", "10.0.0.2:6379",
                                                   "10.0.0.3:6379"}));
  EXPECT_EQ(m.nodes(), (std::vector<std::string>{"10.0.0.1:6379", "10.0.0.4:6379",
                                                 "10.0.0.2:6379", "10.0.0.5:6379",
                                                 "10.0.0.3:6379", "10.0.0.6:6379"}));
  EXPECT_EQ(m.ranges_of("10.0.0.2:6379"), (range_list{{5461, 10922}}));
  EXPECT_TRUE(m.ranges_of("10.0.0.4:6379").empty());  // a replica serves no ranges
  EXPECT_TRUE(m.ranges_of("10.9.9.9:1").empty());
  const auto node = m.node_for(7000);
  ASSERT_TRUE(node);
  EXPECT_EQ(node->master, "10.0.0.2:6379");
  EXPECT_EQ(node->replicas, (std::vector<std::string>{"10.0.0.5:6379"}));
  EXPECT_EQ(m.node_for(16384), nullptr);
  EXPECT_EQ(key_slot("foo"), 12182);
  EXPECT_EQ(m.master_for(key_slot("foo")), "10.0.0.3:6379");
}

TEST(SlotMap, HandlesGapsAndSplitRangesOfOneMaster) {
  // A master serving two ranges, and slots 101..199 and 301..16383 uncovered.
  const auto m = must_parse(array({
      slots_entry(200, 300, {endpoint("a", 1), endpoint("r", 2)}),
      slots_entry(0, 100, {endpoint("a", 1), endpoint("r", 2)}),
  }));
  EXPECT_EQ(m.covered_slots(), 202u);
  EXPECT_EQ(m.range_count(), 2u);
  EXPECT_EQ(m.master_for(0), "a:1");
  EXPECT_EQ(m.master_for(100), "a:1");
  EXPECT_EQ(m.master_for(101), std::nullopt);
  EXPECT_EQ(m.master_for(199), std::nullopt);
  EXPECT_EQ(m.master_for(200), "a:1");
  EXPECT_EQ(m.master_for(300), "a:1");
  EXPECT_EQ(m.master_for(301), std::nullopt);
  EXPECT_EQ(m.master_for(16383), std::nullopt);
  EXPECT_EQ(m.node_for(150), nullptr);
  EXPECT_EQ(m.ranges_of("a:1"), (range_list{{0, 100}, {200, 300}}));
  EXPECT_EQ(m.masters(), (std::vector<std::string>{"a:1"}));
  EXPECT_EQ(m.nodes(), (std::vector<std::string>{"a:1", "r:2"}));
  // Both ranges share one node.
  EXPECT_EQ(m.node_for(0), m.node_for(300));

  const slot_map empty;
  EXPECT_EQ(empty.covered_slots(), 0u);
  EXPECT_EQ(empty.master_for(0), std::nullopt);
  EXPECT_TRUE(empty.masters().empty());
  EXPECT_TRUE(must_parse(array({})).nodes().empty());
}

TEST(SlotMap, MergesAdjacentRangesOfOneMaster) {
  const auto m = must_parse(array({
      slots_entry(0, 99, {endpoint("a", 1)}),
      slots_entry(100, 199, {endpoint("a", 1)}),
      slots_entry(200, 16383, {endpoint("b", 1)}),
  }));
  EXPECT_EQ(m.range_count(), 2u);
  EXPECT_EQ(m.ranges_of("a:1"), (range_list{{0, 199}}));
}

TEST(SlotMap, ParsesRealServerRepliesWithEmptyAndNilHosts) {
  // Captured from a single redis-server 7.0.15 node owning 0..100 and 200..300 that does not know
  // its own IP yet: the host is "" (cluster-preferred-endpoint-type ip).
  const auto empty_host = parse_reply(
      "*2\r\n*3\r\n:0\r\n:100\r\n*4\r\n$0\r\n\r\n:36909\r\n$40\r\n"
      "536000b86cfbfbddae58837ba866a254ac00feac\r\n*0\r\n*3\r\n:200\r\n:300\r\n*4\r\n$0\r\n\r\n"
      ":36909\r\n$40\r\n536000b86cfbfbddae58837ba866a254ac00feac\r\n*0\r\n");
  auto m = must_parse(empty_host, "127.0.0.1");
  EXPECT_EQ(m.master_for(50), "127.0.0.1:36909");
  EXPECT_EQ(m.ranges_of("127.0.0.1:36909"), (range_list{{0, 100}, {200, 300}}));
  EXPECT_EQ(m.covered_slots(), 202u);

  // The same node with cluster-preferred-endpoint-type unknown-endpoint: nil host and metadata.
  const auto nil_host = parse_reply(
      "*2\r\n*3\r\n:0\r\n:100\r\n*4\r\n$-1\r\n:36909\r\n$40\r\n"
      "536000b86cfbfbddae58837ba866a254ac00feac\r\n*2\r\n$2\r\nip\r\n$0\r\n\r\n*3\r\n:200\r\n"
      ":300\r\n*4\r\n$-1\r\n:36909\r\n$40\r\n536000b86cfbfbddae58837ba866a254ac00feac\r\n*2\r\n"
      "$2\r\nip\r\n$0\r\n\r\n");
  m = must_parse(nil_host, "::1");
  EXPECT_EQ(m.master_for(300), "::1:36909");

  // Substitution needs a host to substitute.
  std::string error;
  EXPECT_EQ(slot_map::from_cluster_slots(nil_host, "", &error), std::nullopt);
  EXPECT_NE(error.find("no asked host"), std::string::npos) << error;

  // cluster-preferred-endpoint-type hostname with no hostname configured: "?" for the master.
  const auto unknown = parse_reply(
      "*1\r\n*3\r\n:0\r\n:100\r\n*4\r\n$1\r\n?\r\n:36909\r\n$40\r\n"
      "536000b86cfbfbddae58837ba866a254ac00feac\r\n*2\r\n$2\r\nip\r\n$0\r\n\r\n");
  error.clear();
  EXPECT_EQ(slot_map::from_cluster_slots(unknown, "127.0.0.1", &error), std::nullopt);
  EXPECT_NE(error.find("\"?\""), std::string::npos) << error;
}

TEST(SlotMap, SkipsReplicasWithAnUnknownEndpoint) {
  const auto m = must_parse(array({slots_entry(
      0, 16383, {endpoint("m", 1), endpoint("?", 2), endpoint("", 3), endpoint("r", 4)})}));
  const auto node = m.node_for(0);
  ASSERT_TRUE(node);
  EXPECT_EQ(node->replicas, (std::vector<std::string>{"asked:3", "r:4"}));
}

TEST(SlotMap, AcceptsOldAndNewNodeEntryShapes) {
  // Redis 3 listed only [host, port]; Redis 7 adds an id and a metadata map.
  reply r7 = endpoint("m", 7000);
  r7.elements.push_back(array({bulk("hostname"), bulk("redis-0")}));
  const auto m = must_parse(array({
      slots_entry(0, 10, {array({bulk("old"), integer(6379)})}),
      slots_entry(11, 20, {std::move(r7)}),
  }));
  EXPECT_EQ(m.master_for(5), "old:6379");
  EXPECT_EQ(m.master_for(15), "m:7000");
}

TEST(SlotMap, RejectsMalformedClusterSlots) {
  reply error_reply;
  error_reply.type = reply::kind::error;
  error_reply.str = "ERR This instance has cluster support disabled";
  const std::vector<std::pair<std::string, reply>> cases = {
      {"error reply", error_reply},
      {"nil", reply{}},
      {"integer", integer(1)},
      {"entry not array", array({integer(1)})},
      {"entry too short", array({array({integer(0), integer(1)})})},
      {"start > end", array({slots_entry(10, 9, {endpoint("a", 1)})})},
      {"negative start", array({slots_entry(-1, 9, {endpoint("a", 1)})})},
      {"end 16384", array({slots_entry(0, 16384, {endpoint("a", 1)})})},
      {"string slot", array({array({bulk("0"), integer(1), endpoint("a", 1)})})},
      {"node not array", array({array({integer(0), integer(1), bulk("a:1")})})},
      {"node without port", array({array({integer(0), integer(1), array({bulk("a")})})})},
      {"port 0", array({slots_entry(0, 1, {endpoint("a", 0)})})},
      {"port 65536", array({slots_entry(0, 1, {endpoint("a", 65536)})})},
      {"port as string",
       array({array({integer(0), integer(1), array({bulk("a"), bulk("6379")})})})},
      {"host integer", array({array({integer(0), integer(1), array({integer(1), integer(1)})})})},
      {"host with space", array({slots_entry(0, 1, {endpoint("a b", 1)})})},
      {"bad replica", array({slots_entry(0, 1, {endpoint("a", 1), endpoint("b", -5)})})},
      {"overlap", array({slots_entry(0, 100, {endpoint("a", 1)}),
                         slots_entry(100, 200, {endpoint("b", 1)})})},
      {"overlap before", array({slots_entry(50, 100, {endpoint("a", 1)}),
                                slots_entry(0, 50, {endpoint("b", 1)})})},
      {"contained", array({slots_entry(0, 100, {endpoint("a", 1)}),
                           slots_entry(10, 20, {endpoint("a", 1)})})},
      {"duplicate", array({slots_entry(0, 0, {endpoint("a", 1)}),
                           slots_entry(0, 0, {endpoint("a", 1)})})},
  };
  for (const auto& [name, r] : cases) {
    std::string error;
    EXPECT_EQ(slot_map::from_cluster_slots(r, "asked", &error), std::nullopt) << name;
    EXPECT_FALSE(error.empty()) << name;
    EXPECT_EQ(error.find('\n'), std::string::npos) << name;
    // A null error pointer is allowed.
    EXPECT_EQ(slot_map::from_cluster_slots(r, "asked"), std::nullopt) << name;
  }
}

TEST(SlotMap, RandomRepliesNeverCrash) {
  std::mt19937 rng(424242);
  // Random trees biased towards the CLUSTER SLOTS shape.
  auto random_reply = [&](auto& self, int depth) -> reply {
    switch (rng() % (depth > 3 ? 4 : 6)) {
      case 0: return integer(static_cast<std::int64_t>(rng() % 20000) - 100);
      case 1: {
        std::string s(rng() % 12, '\0');
        for (auto& c : s) c = "ab?:1 [].\0\xff"[rng() % 11];
        return bulk(std::move(s));
      }
      case 2: return reply{};
      case 3: {
        reply r;
        r.type = rng() % 2 ? reply::kind::error : reply::kind::status;
        r.str = "MOVED";
        return r;
      }
      default: {
        std::vector<reply> el(rng() % 6);
        for (auto& e : el) e = self(self, depth + 1);
        return array(std::move(el));
      }
    }
  };
  int parsed = 0;
  for (int i = 0; i < 5000; ++i) {
    reply r;
    if (i % 2) {
      r = random_reply(random_reply, 0);
    } else {
      // Valid entries with one random element replaced somewhere.
      std::vector<reply> entries;
      for (int e = 0, n = static_cast<int>(rng() % 4); e < n; ++e) {
        const auto first = static_cast<std::int64_t>(e) * 4000 + rng() % 100;
        entries.push_back(
            slots_entry(first, first + rng() % 3000, {endpoint("h" + std::to_string(e), 7000)}));
      }
      r = array(std::move(entries));
      if (!r.elements.empty() && rng() % 2) {
        auto& victim = r.elements[rng() % r.elements.size()];
        victim.elements[rng() % victim.elements.size()] = random_reply(random_reply, 2);
      }
    }
    std::string error;
    const auto m = slot_map::from_cluster_slots(r, rng() % 2 ? "asked" : "", &error);
    if (m) {
      ++parsed;
      EXPECT_LE(m->covered_slots(), slot_count);
      for (const auto& a : m->nodes()) EXPECT_TRUE(address::parse(a)) << a;
    } else {
      EXPECT_FALSE(error.empty());
    }
  }
  EXPECT_GT(parsed, 500);
}

// --- slot_map: MOVED updates ---------------------------------------------------------------------

TEST(SlotMap, UpdateSplitsTheFirstSlotOfARange) {
  auto m = must_parse(three_masters());
  ASSERT_TRUE(m.update(5461, "10.0.0.9:6379"));
  EXPECT_EQ(m.master_for(5460), "10.0.0.1:6379");
  EXPECT_EQ(m.master_for(5461), "10.0.0.9:6379");
  EXPECT_EQ(m.master_for(5462), "10.0.0.2:6379");
  EXPECT_EQ(m.ranges_of("10.0.0.1:6379"), (range_list{{0, 5460}}));
  EXPECT_EQ(m.ranges_of("10.0.0.2:6379"), (range_list{{5462, 10922}}));
  EXPECT_EQ(m.ranges_of("10.0.0.9:6379"), (range_list{{5461, 5461}}));
  EXPECT_EQ(m.covered_slots(), slot_count);
  EXPECT_EQ(m.range_count(), 4u);
  // A new master has no known replicas until the next refresh.
  EXPECT_TRUE(m.node_for(5461)->replicas.empty());
}

TEST(SlotMap, UpdateSplitsTheLastSlotOfARange) {
  auto m = must_parse(three_masters());
  ASSERT_TRUE(m.update(10922, "10.0.0.9:6379"));
  EXPECT_EQ(m.master_for(10921), "10.0.0.2:6379");
  EXPECT_EQ(m.master_for(10922), "10.0.0.9:6379");
  EXPECT_EQ(m.master_for(10923), "10.0.0.3:6379");
  EXPECT_EQ(m.ranges_of("10.0.0.2:6379"), (range_list{{5461, 10921}}));
  EXPECT_EQ(m.ranges_of("10.0.0.3:6379"), (range_list{{10923, 16383}}));
  EXPECT_EQ(m.covered_slots(), slot_count);
}

TEST(SlotMap, UpdateSplitsAMiddleSlotOfARange) {
  auto m = must_parse(three_masters());
  ASSERT_TRUE(m.update(8000, "10.0.0.9:6379"));
  EXPECT_EQ(m.master_for(7999), "10.0.0.2:6379");
  EXPECT_EQ(m.master_for(8000), "10.0.0.9:6379");
  EXPECT_EQ(m.master_for(8001), "10.0.0.2:6379");
  EXPECT_EQ(m.ranges_of("10.0.0.2:6379"), (range_list{{5461, 7999}, {8001, 10922}}));
  EXPECT_EQ(m.ranges_of("10.0.0.1:6379"), (range_list{{0, 5460}}));
  EXPECT_EQ(m.ranges_of("10.0.0.3:6379"), (range_list{{10923, 16383}}));
  EXPECT_EQ(m.range_count(), 5u);
  // The halves keep the old node and its replicas.
  EXPECT_EQ(m.node_for(7999), m.node_for(8001));
  EXPECT_EQ(m.node_for(8001)->replicas, (std::vector<std::string>{"10.0.0.5:6379"}));
  EXPECT_EQ(m.masters().size(), 4u);
  EXPECT_EQ(m.nodes().size(), 7u);
}

TEST(SlotMap, UpdateToAKnownMasterMergesAndKeepsItsReplicas) {
  auto m = must_parse(three_masters());
  // Resharding moves 5461, 5462 from .2 to .1 one slot at a time.
  ASSERT_TRUE(m.update(5461, "10.0.0.1:6379"));
  ASSERT_TRUE(m.update(5462, "10.0.0.1:6379"));
  EXPECT_EQ(m.ranges_of("10.0.0.1:6379"), (range_list{{0, 5462}}));
  EXPECT_EQ(m.ranges_of("10.0.0.2:6379"), (range_list{{5463, 10922}}));
  EXPECT_EQ(m.range_count(), 3u);
  EXPECT_EQ(m.node_for(5462)->replicas, (std::vector<std::string>{"10.0.0.4:6379"}));

  // Moving a slot back merges the split halves again.
  ASSERT_TRUE(m.update(8000, "10.0.0.9:6379"));
  ASSERT_TRUE(m.update(8000, "10.0.0.2:6379"));
  EXPECT_EQ(m.ranges_of("10.0.0.2:6379"), (range_list{{5463, 10922}}));
  EXPECT_EQ(m.range_count(), 3u);
  EXPECT_TRUE(m.ranges_of("10.0.0.9:6379").empty());

  // No-op when the slot is already there.
  ASSERT_TRUE(m.update(0, "10.0.0.1:6379"));
  EXPECT_EQ(m.range_count(), 3u);
}

TEST(SlotMap, UpdateFillsGapsAndRejectsBadInput) {
  auto m = must_parse(array({slots_entry(0, 100, {endpoint("a", 1)}),
                             slots_entry(102, 200, {endpoint("a", 1)})}));
  EXPECT_EQ(m.master_for(101), std::nullopt);
  ASSERT_TRUE(m.update(101, "a:1"));
  EXPECT_EQ(m.ranges_of("a:1"), (range_list{{0, 200}}));
  EXPECT_EQ(m.range_count(), 1u);
  ASSERT_TRUE(m.update(16383, "b:1"));
  EXPECT_EQ(m.master_for(16383), "b:1");
  EXPECT_EQ(m.master_for(16382), std::nullopt);
  EXPECT_EQ(m.covered_slots(), 202u);

  EXPECT_FALSE(m.update(16384, "c:1"));
  EXPECT_FALSE(m.update(5, ""));
  EXPECT_EQ(m.master_for(5), "a:1");
  EXPECT_EQ(m.covered_slots(), 202u);

  slot_map empty;
  ASSERT_TRUE(empty.update(0, "a:1"));
  EXPECT_EQ(empty.ranges_of("a:1"), (range_list{{0, 0}}));
}

TEST(SlotMap, CopiesAreIndependent) {
  const auto original = must_parse(three_masters());
  const auto node = original.node_for(0);
  auto copy = original;
  ASSERT_TRUE(copy.update(0, "10.0.0.9:6379"));
  EXPECT_EQ(original.master_for(0), "10.0.0.1:6379");
  EXPECT_EQ(copy.master_for(0), "10.0.0.9:6379");
  copy = slot_map{};
  EXPECT_EQ(node->master, "10.0.0.1:6379");  // node_for results outlive the map's changes
}

TEST(SlotMap, RandomUpdatesMatchAPerSlotModel) {
  std::mt19937 rng(7);
  auto m = must_parse(three_masters());
  std::vector<std::string> model(slot_count);
  for (std::uint16_t s = 0; s < slot_count; ++s) model[s] = *m.master_for(s);
  const std::array<std::string, 4> addresses = {"10.0.0.1:6379", "10.0.0.2:6379", "x:1", "y:1"};
  for (int i = 0; i < 3000; ++i) {
    // Cluster updates around a few hot spots, so that splits and merges both happen.
    const std::array<std::uint16_t, 3> centers = {0, 5461, 16383};
    const int offset = static_cast<int>(rng() % 64) - 32;
    const int slot = std::clamp(centers[rng() % 3] + offset, 0, slot_count - 1);
    const auto& address = addresses[rng() % addresses.size()];
    ASSERT_TRUE(m.update(static_cast<std::uint16_t>(slot), address));
    model[static_cast<std::size_t>(slot)] = address;
  }
  std::size_t runs = 0;
  for (std::size_t s = 0; s < slot_count; ++s) {
    ASSERT_EQ(m.master_for(static_cast<std::uint16_t>(s)), model[s]) << s;
    if (s == 0 || model[s] != model[s - 1]) ++runs;
  }
  EXPECT_EQ(m.covered_slots(), slot_count);
  // Maximal merging: exactly one range per run of equal masters.
  EXPECT_EQ(m.range_count(), runs);
  std::size_t listed = 0;
  for (const auto& a : m.masters()) listed += m.ranges_of(a).size();
  EXPECT_EQ(listed, runs);
}

}  // namespace cluster_slots_test
