#include "owcore/net/error.hpp"
#include "owcore/redis/error.hpp"
#include "owcore/redis/protocol/sentinel.hpp"

#include "redis_replies.hpp"

#include <gtest/gtest.h>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace sentinel_parse_test {

using namespace owcore::redis;

using namespace test_replies;

namespace {

}  // namespace

TEST(SentinelParse, MasterAddress) {
  const auto a = parse_master_answer(arr({str("10.0.0.7"), str("6380")}), "mymaster", "s:26379");
  EXPECT_FALSE(a.err);
  EXPECT_EQ(a.master, (address{"10.0.0.7", 6380}));
}

TEST(SentinelParse, UnknownServiceIsUnknownMaster) {
  for (const reply& r : {reply{}, arr({}), arr({str("h")}), str("x")}) {
    const auto a = parse_master_answer(r, "svc", "127.0.0.1:26379");
    EXPECT_EQ(a.err.ec, make_error_code(error::unknown_master));
    EXPECT_EQ(a.err.detail, "sentinel 127.0.0.1:26379 does not know a master named 'svc'");
  }
}

TEST(SentinelParse, ErrorReplyIsAServerError) {
  const auto a = parse_master_answer(err("NOAUTH Authentication required."), "svc", "s:1");
  EXPECT_EQ(a.err.ec, make_error_code(error::server_error));
  EXPECT_EQ(a.err.detail, "s:1: NOAUTH Authentication required.");
}

TEST(SentinelParse, MalformedPortIsAProtocolError) {
  for (std::string port : {"0", "65536", "x", "", "-1", "6379 "}) {
    const auto a = parse_master_answer(arr({str("h"), str(port)}), "svc", "s:1");
    EXPECT_EQ(a.err.ec, make_error_code(error::protocol_error)) << port;
    EXPECT_EQ(a.err.detail, "s:1: malformed master address");
  }
}

TEST(SentinelParse, SwitchMaster) {
  const auto m = parse_switch_master("mymaster 127.0.0.1 6379 127.0.0.1 6380");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->name, "mymaster");
  EXPECT_EQ(m->from, (address{"127.0.0.1", 6379}));
  EXPECT_EQ(m->to, (address{"127.0.0.1", 6380}));
  EXPECT_TRUE(is_failover_of(*m, "mymaster"));
  EXPECT_FALSE(is_failover_of(*m, "other"));
  EXPECT_TRUE(parse_switch_master("m ::1 1 ::2 2"));
}

TEST(SentinelParse, MalformedSwitchMaster) {
  for (std::string_view bad : {"", "m", "m h 1 h", "m h x h 2", "m h 1 h 0", "m h 1 h 2 extra"}) {
    EXPECT_FALSE(parse_switch_master(bad)) << bad;
  }
}

TEST(SentinelParse, Role) {
  auto r = parse_role(arr({str("master"), integer(10), arr({})}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->name, "master");
  EXPECT_FALSE(r->master);
  r = parse_role(arr({str("slave"), str("10.0.0.1"), integer(6379), str("connected"), integer(5)}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->name, "slave");
  EXPECT_EQ(r->master, (address{"10.0.0.1", 6379}));
  r = parse_role(arr({str("sentinel"), arr({str("mymaster")})}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->name, "sentinel");
  EXPECT_FALSE(parse_role(err("NOPERM")));
  EXPECT_FALSE(parse_role(arr({})));
  EXPECT_FALSE(parse_role(arr({integer(1)})));
}

TEST(SentinelParse, RetryDecisionTable) {
  const response ok{str("v")};
  const response readonly{err("READONLY You can't write against a read only replica.")};
  const auto timeout = make_error_code(owcore::net::error::timeout);
  // READONLY: the master was demoted; reconnect through the sentinels and retry.
  EXPECT_EQ(judge_sentinel_attempt({}, readonly, 1, 2), sentinel_verdict::reconnect_and_retry);
  // Timeout: never written; retry.
  EXPECT_EQ(judge_sentinel_attempt(timeout, {}, 1, 2), sentinel_verdict::retry);
  // A written request whose outcome is unknown is never re-sent.
  EXPECT_EQ(judge_sentinel_attempt(make_error_code(error::unknown_outcome), {}, 1, 5),
            sentinel_verdict::done);
  EXPECT_EQ(judge_sentinel_attempt(make_error_code(error::stopped), {}, 1, 5), sentinel_verdict::done);
  EXPECT_EQ(judge_sentinel_attempt({}, ok, 1, 2), sentinel_verdict::done);
  // Other server errors are values for the caller.
  EXPECT_EQ(judge_sentinel_attempt({}, response{err("ERR x")}, 1, 2), sentinel_verdict::done);
  // The last attempt is always done.
  EXPECT_EQ(judge_sentinel_attempt({}, readonly, 2, 2), sentinel_verdict::done);
  EXPECT_EQ(judge_sentinel_attempt(timeout, {}, 1, 1), sentinel_verdict::done);
}

}  // namespace sentinel_parse_test
