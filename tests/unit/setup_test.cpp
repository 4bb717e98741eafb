#include "owcore/redis/error.hpp"
#include "owcore/redis/protocol/setup.hpp"

#include "redis_replies.hpp"

#include <gtest/gtest.h>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace setup_test {

using namespace owcore::redis;

using namespace test_replies;

namespace {

std::string wire(const request& r) {
  std::string out;
  r.encode(out);
  return out;
}

reply role(std::string name) {
  reply r;
  r.type = reply::kind::array;
  reply n;
  n.type = reply::kind::string;
  n.str = std::move(name);
  r.elements.push_back(n);
  return r;
}

}  // namespace

TEST(Setup, NothingToDoComposesNothing) {
  const auto s = compose_setup_request({});
  EXPECT_TRUE(s.empty());
  EXPECT_TRUE(s.req.empty());
  EXPECT_FALSE(check_setup(s, {}, "h:1"));
}

TEST(Setup, ComposesEveryStepInOrder) {
  setup_options o;
  o.auth = {"user", "pw"};
  o.db = 3;
  o.client_name = "owcore";
  o.require_master = true;
  const auto s = compose_setup_request(o);
  ASSERT_EQ(s.steps.size(), 4u);
  EXPECT_EQ(s.steps[0], setup_step::auth);
  EXPECT_EQ(s.steps[1], setup_step::select);
  EXPECT_EQ(s.steps[2], setup_step::set_name);
  EXPECT_EQ(s.steps[3], setup_step::role);
  EXPECT_EQ(wire(s.req),
            "*3\r\n$4\r\nAUTH\r\n$4\r\nuser\r\n$2\r\npw\r\n"
            "*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n"
            "*3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$6\r\nowcore\r\n"
            "*1\r\n$4\r\nROLE\r\n");
  EXPECT_EQ(s.req.policy(), retry_policy::idempotent);
}

TEST(Setup, LegacyAuthHasOnlyThePassword) {
  setup_options o;
  o.auth.password = "secret";
  const auto s = compose_setup_request(o);
  EXPECT_EQ(wire(s.req), "*2\r\n$4\r\nAUTH\r\n$6\r\nsecret\r\n");
}

TEST(Setup, DatabaseZeroAndNoNameSkipThoseSteps) {
  setup_options o;
  o.db = 0;
  o.require_master = true;
  const auto s = compose_setup_request(o);
  ASSERT_EQ(s.steps.size(), 1u);
  EXPECT_EQ(s.steps[0], setup_step::role);
}

TEST(Setup, AcceptsGoodReplies) {
  setup_options o;
  o.auth.password = "pw";
  o.db = 2;
  o.client_name = "n";
  o.require_master = true;
  const auto s = compose_setup_request(o);
  EXPECT_FALSE(check_setup(s, {status("OK"), status("OK"), status("OK"), role("master")}, "h:1"));
}

TEST(Setup, RefusedAuthIsAuthFailedAndNamesThePeer) {
  setup_options o;
  o.auth.password = "pw";
  o.db = 1;
  const auto s = compose_setup_request(o);
  const auto e = check_setup(s, {err("WRONGPASS invalid username-password pair"), err("NOAUTH")},
                             "10.0.0.1:6379");
  EXPECT_EQ(e.ec, make_error_code(error::auth_failed));
  EXPECT_EQ(e.detail, "AUTH to 10.0.0.1:6379 refused: WRONGPASS invalid username-password pair");
  // The password never appears in the detail.
  EXPECT_EQ(e.detail.find("pw "), std::string::npos);
}

TEST(Setup, RefusedSelectAndSetName) {
  setup_options o;
  o.db = 16;
  o.client_name = "x";
  const auto s = compose_setup_request(o);
  auto e = check_setup(s, {err("ERR DB index is out of range"), status("OK")}, "h:1");
  EXPECT_EQ(e.ec, make_error_code(error::server_error));
  EXPECT_EQ(e.detail, "SELECT 16 on h:1 refused: ERR DB index is out of range");
  e = check_setup(s, {status("OK"), err("ERR no")}, "h:1");
  EXPECT_EQ(e.detail, "CLIENT SETNAME on h:1 refused: ERR no");
}

TEST(Setup, ReplicaOrUnreadableRoleIsNotMaster) {
  setup_options o;
  o.require_master = true;
  const auto s = compose_setup_request(o);
  for (const reply& r : {role("slave"), role("sentinel"), err("NOPERM"), status("OK"), reply{}}) {
    const auto e = check_setup(s, {r}, "[::1]:6380");
    EXPECT_EQ(e.ec, make_error_code(error::not_master));
    EXPECT_EQ(e.detail, "node [::1]:6380 named by the sentinels is not a master (ROLE)");
  }
}

TEST(Setup, WrongReplyCountIsAProtocolError) {
  setup_options o;
  o.auth.password = "pw";
  const auto s = compose_setup_request(o);
  EXPECT_EQ(check_setup(s, {}, "h:1").ec, make_error_code(error::protocol_error));
}

TEST(Setup, ConnectFailureWordingIsTheStartUpLine) {
  const auto e = connect_failure("127.0.0.1:1", make_error_code(boost::system::errc::connection_refused));
  EXPECT_EQ(e.detail, "cannot connect to 127.0.0.1:1: Connection refused");
}

TEST(Setup, ConfirmSendsPingOnlyWhenNothingElseIsSent) {
  setup_options o;
  o.confirm = true;
  const auto s = compose_setup_request(o);
  ASSERT_EQ(s.steps.size(), 1u);
  EXPECT_EQ(s.steps[0], setup_step::ping);
  EXPECT_EQ(wire(s.req), "*1\r\n$4\r\nPING\r\n");
  EXPECT_FALSE(check_setup(s, {status("PONG")}, "h:1"));

  // AUTH already makes the round trip.
  o.auth.password = "pw";
  const auto with_auth = compose_setup_request(o);
  ASSERT_EQ(with_auth.steps.size(), 1u);
  EXPECT_EQ(with_auth.steps[0], setup_step::auth);
}

TEST(Setup, RefusedConfirmingPingNamesThePeer) {
  setup_options o;
  o.confirm = true;
  const auto s = compose_setup_request(o);
  const auto noauth = check_setup(s, {err("NOAUTH Authentication required.")}, "h:7");
  EXPECT_EQ(noauth.ec, make_error_code(error::auth_failed));
  EXPECT_EQ(noauth.detail, "PING to h:7 refused: NOAUTH Authentication required.");
  const auto other = check_setup(s, {err("LOADING Redis is loading")}, "h:7");
  EXPECT_EQ(other.ec, make_error_code(error::server_error));
}

// Error replies that services turn into failures keep their cause (issue 13: under maxmemory the
// log said only "Redis replied with an error").
TEST(ReplyError, TheFirstWordNamesTheCause) {
  EXPECT_EQ(reply_error("OOM command not allowed when used memory > 'maxmemory'."),
            make_error_code(error::out_of_memory));
  EXPECT_NE(reply_error("OOM command not allowed").message().find("maxmemory"), std::string::npos);
  EXPECT_EQ(reply_error("NOPERM User u has no permissions to run the 'eval' command"),
            make_error_code(error::no_permission));
  EXPECT_EQ(reply_error("READONLY You can't write against a read only replica."), make_error_code(error::read_only));
  EXPECT_EQ(reply_error("ERR unknown command"), make_error_code(error::server_error));
  EXPECT_EQ(reply_error("OOMX"), make_error_code(error::server_error));
  EXPECT_EQ(reply_error(""), make_error_code(error::server_error));
}

}  // namespace setup_test
