// protocol/info: reading INFO, SENTINEL key/value arrays and CLUSTER NODES.
#include "owcore/redis/protocol/info.hpp"
#include "owcore/redis/protocol/setup.hpp"

#include "redis_replies.hpp"

#include <gtest/gtest.h>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace redis_info_test {

using namespace owcore::redis;
using namespace test_replies;

TEST(RedisInfo, FieldsAndItems) {
  const std::string info = "# Server\r\nredis_version:7.0.15\r\nrole:master\nrole_x:no\r\n";
  EXPECT_EQ(info_field(info, "redis_version"), "7.0.15");
  EXPECT_EQ(info_field(info, "role"), "master");
  EXPECT_FALSE(info_field(info, "redis"));
  EXPECT_FALSE(info_field("", "role"));
  EXPECT_EQ(csv_field("keys=3,expires=1", "expires"), "1");
  EXPECT_FALSE(csv_field("keys=3,expires", "expires"));
  EXPECT_TRUE(has_word("myself,master", "master"));
  EXPECT_FALSE(has_word("fail?", "fail"));
}

TEST(RedisInfo, ReplicasOfInfoReplication) {
  const auto r = info_replicas(
      "slave0:ip=10.0.0.2,port=6380,state=online\r\nslave1:ip=fe80::1,state=x\r\nslave3:ip=a\r\n");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].addr, "10.0.0.2:6380");
  EXPECT_EQ(r[0].state, "online");
  EXPECT_EQ(r[1].addr, "[fe80::1]:?");
}

TEST(RedisInfo, FlatMapsAndClusterNodes) {
  const auto flat = arr({str("name"), str("mymaster"), str("flags"), str("master")});
  EXPECT_EQ(map_field(flat, "flags"), "master");
  EXPECT_FALSE(map_field(flat, "ip"));
  EXPECT_FALSE(map_field(str("flags"), "flags"));
  const auto nodes = parse_cluster_nodes(
      "a1 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460\n"
      "b2 127.0.0.1:7003@17003,host slave a1 0 0 1 connected\n"
      "c3 :0@0 master,fail,noaddr - 0 0 0 disconnected\n"
      "short line\n");
  ASSERT_EQ(nodes.size(), 3u);
  EXPECT_EQ(nodes[0].addr, "127.0.0.1:7000");
  EXPECT_EQ(nodes[1].addr, "127.0.0.1:7003");
  EXPECT_EQ(nodes[1].master_id, "a1");
  EXPECT_EQ(nodes[2].addr, "");
  EXPECT_EQ(nodes[2].flags, "master,fail,noaddr");
}

TEST(RedisSetupFailure, ReadsBackEveryWording) {
  setup_options o;
  o.auth = {"u", "p"};
  o.db = 3;
  o.require_master = true;
  const auto plan = compose_setup_request(o);
  const auto peer = "h:1";
  auto auth = read_setup_failure(
      check_setup(plan, {err("WRONGPASS no"), err("NOAUTH"), err("NOAUTH")}, peer));
  EXPECT_EQ(auth.at, setup_failure::stage::refused);
  EXPECT_EQ(auth.step, setup_step::auth);
  EXPECT_EQ(auth.server_text, "WRONGPASS no");
  auto select = read_setup_failure(
      check_setup(plan, {status("OK"), err("ERR DB index is out of range")}, peer));
  EXPECT_EQ(select.at, setup_failure::stage::transport);  // wrong count: a protocol error
  select = read_setup_failure(check_setup(
      plan, {status("OK"), err("ERR DB index is out of range"), arr({str("master")})}, peer));
  EXPECT_EQ(select.at, setup_failure::stage::refused);
  EXPECT_EQ(select.step, setup_step::select);
  EXPECT_EQ(select.server_text, "ERR DB index is out of range");
  auto role = read_setup_failure(
      check_setup(plan, {status("OK"), status("OK"), arr({str("slave")})}, peer));
  EXPECT_EQ(role.at, setup_failure::stage::refused);
  EXPECT_EQ(role.step, setup_step::role);
  const auto refused = make_error_code(boost::system::errc::connection_refused);
  EXPECT_EQ(read_setup_failure(connect_failure(peer, refused)).at, setup_failure::stage::connect);
  EXPECT_EQ(read_setup_failure(setup_transport_failure(peer, refused)).at,
            setup_failure::stage::transport);
}

}  // namespace redis_info_test
