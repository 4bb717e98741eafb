// The Cluster execution state machine's whole redirect matrix (docs/redis.md): MOVED, ASK,
// TRYAGAIN, CLUSTERDOWN, READONLY, LOADING, MASTERDOWN, transport errors, no route, the budget.
#include "owcore/net/error.hpp"
#include "owcore/redis/error.hpp"
#include "owcore/redis/protocol/cluster_exec_fsm.hpp"

#include "redis_replies.hpp"

#include <gtest/gtest.h>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace cluster_exec_fsm_test {

using namespace owcore::redis;
using namespace std::chrono_literals;
using boost::system::error_code;
using kind = cluster_action::kind;
using clock_type = std::chrono::steady_clock;

using namespace test_replies;

namespace {

reply ok() {
  reply r;
  r.type = reply::kind::status;
  r.str = "OK";
  return r;
}

struct driver {
  clock_type::time_point now = clock_type::now();
  cluster_exec_fsm fsm;
  response replies;

  explicit driver(cluster_exec_options o = {}) : fsm(now + 60s, o) {}

  cluster_action start() {
    cluster_event e;
    e.type = cluster_event::kind::start;
    e.now = now;
    return fsm.resume(e);
  }
  cluster_action replied(response r, std::string_view target = "10.0.0.1:7000") {
    replies = std::move(r);
    cluster_event e;
    e.type = cluster_event::kind::replied;
    e.now = now;
    e.replies = &replies;
    e.target = target;
    return fsm.resume(e);
  }
  cluster_action failed(error_code ec, bool client_stopped = false) {
    cluster_event e;
    e.type = cluster_event::kind::replied;
    e.now = now;
    e.ec = ec;
    e.target = "10.0.0.1:7000";
    e.client_stopped = client_stopped;
    return fsm.resume(e);
  }
  cluster_action event(cluster_event::kind k) {
    cluster_event e;
    e.type = k;
    e.now = now;
    return fsm.resume(e);
  }
};

}  // namespace

TEST(ClusterExecFsm, StartsBySendingByTheSlotMap) {
  driver d;
  auto a = d.start();
  EXPECT_EQ(a.type, kind::send);
  EXPECT_EQ(a.target, "");
  EXPECT_FALSE(a.asking);
}

TEST(ClusterExecFsm, APlainReplyIsDone) {
  driver d;
  d.start();
  auto a = d.replied({ok()});
  EXPECT_EQ(a.type, kind::done);
  EXPECT_FALSE(a.ec);
  // A server error that is not a redirect is a value for the caller.
  driver e;
  e.start();
  EXPECT_EQ(e.replied({err("WRONGTYPE x")}).type, kind::done);
}

TEST(ClusterExecFsm, MovedUpdatesTheSlotThenSendsByTheMap) {
  driver d;
  d.start();
  auto a = d.replied({err("MOVED 3999 10.0.0.2:7001")});
  ASSERT_EQ(a.type, kind::update_slot);
  EXPECT_EQ(a.slot, 3999);
  EXPECT_EQ(a.target, "10.0.0.2:7001");
  a = d.event(cluster_event::kind::updated);
  EXPECT_EQ(a.type, kind::send);
  EXPECT_EQ(a.target, "") << "by the updated map";
  EXPECT_FALSE(a.asking);
}

TEST(ClusterExecFsm, MovedWithoutHostMeansTheReplyingHost) {
  driver d;
  d.start();
  auto a = d.replied({err("MOVED 1 :7005")}, "10.9.9.9:7000");
  ASSERT_EQ(a.type, kind::update_slot);
  EXPECT_EQ(a.target, "10.9.9.9:7005");
}

TEST(ClusterExecFsm, AskSendsOnceWithAskingThenReturnsToTheMap) {
  driver d;
  d.start();
  auto a = d.replied({err("ASK 3999 10.0.0.3:7002")});
  ASSERT_EQ(a.type, kind::send);
  EXPECT_EQ(a.target, "10.0.0.3:7002");
  EXPECT_TRUE(a.asking);
  // The importing node answers MOVED back (migration finished): the map decides again.
  a = d.replied({err("MOVED 3999 10.0.0.3:7002")}, "10.0.0.3:7002");
  ASSERT_EQ(a.type, kind::update_slot);
  a = d.event(cluster_event::kind::updated);
  EXPECT_EQ(a.type, kind::send);
  EXPECT_EQ(a.target, "");
  EXPECT_FALSE(a.asking) << "ASKING is for one send only";
  EXPECT_EQ(d.replied({ok()}).type, kind::done);
}

TEST(ClusterExecFsm, TryagainLoadingMasterdownSleepThenResend) {
  for (const char* e : {"TRYAGAIN Multiple keys request during rehashing of slot",
                        "LOADING Redis is loading the dataset in memory",
                        "MASTERDOWN Link with MASTER is down"}) {
    driver d;
    d.start();
    auto a = d.replied({err(e)});
    ASSERT_EQ(a.type, kind::sleep) << e;
    EXPECT_GT(a.delay.count(), 0);
    a = d.event(cluster_event::kind::slept);
    EXPECT_EQ(a.type, kind::send) << e;
    EXPECT_EQ(a.target, "");
  }
}

TEST(ClusterExecFsm, ClusterdownAndReadonlyRefreshSleepThenResend) {
  for (const char* e : {"CLUSTERDOWN The cluster is down", "READONLY You can't write against a read only replica."}) {
    driver d;
    d.start();
    auto a = d.replied({err(e)});
    ASSERT_EQ(a.type, kind::refresh_slots) << e;
    EXPECT_FALSE(a.force) << "rate-limited refresh";
    a = d.event(cluster_event::kind::refreshed);
    ASSERT_EQ(a.type, kind::sleep) << e;
    a = d.event(cluster_event::kind::slept);
    EXPECT_EQ(a.type, kind::send) << e;
  }
}

TEST(ClusterExecFsm, NeverWrittenTransportErrorsRefreshSleepThenResend) {
  for (auto ec : {make_error_code(owcore::net::error::timeout), make_error_code(error::queue_full),
                  make_error_code(error::stopped)}) {
    driver d;
    d.start();
    auto a = d.failed(ec, /*client_stopped=*/false);
    ASSERT_EQ(a.type, kind::refresh_slots) << ec.message();
    a = d.event(cluster_event::kind::refreshed);
    ASSERT_EQ(a.type, kind::sleep);
    a = d.event(cluster_event::kind::slept);
    EXPECT_EQ(a.type, kind::send);
  }
}

TEST(ClusterExecFsm, AWrittenRequestIsNeverResent) {
  driver d;
  d.start();
  auto a = d.failed(make_error_code(error::unknown_outcome));
  EXPECT_EQ(a.type, kind::done);
  EXPECT_FALSE(a.ec) << "the caller gets unknown_outcome itself";
}

TEST(ClusterExecFsm, StoppingTheClientIsDone) {
  driver d;
  d.start();
  EXPECT_EQ(d.failed(make_error_code(error::stopped), /*client_stopped=*/true).type, kind::done);
}

TEST(ClusterExecFsm, NoRouteForcesARefreshThenRoutesAgain) {
  driver d;
  d.start();
  auto a = d.event(cluster_event::kind::no_route);
  ASSERT_EQ(a.type, kind::refresh_slots);
  EXPECT_TRUE(a.force);
  a = d.event(cluster_event::kind::refreshed);
  ASSERT_EQ(a.type, kind::send);
  EXPECT_EQ(a.target, "");
  // Still no node: wait, then a new round with a new forced refresh.
  a = d.event(cluster_event::kind::no_route);
  ASSERT_EQ(a.type, kind::sleep);
  a = d.event(cluster_event::kind::slept);
  ASSERT_EQ(a.type, kind::send);
  a = d.event(cluster_event::kind::no_route);
  EXPECT_EQ(a.type, kind::refresh_slots);
}

TEST(ClusterExecFsm, RedirectsEndAfterTheBudget) {
  cluster_exec_options o;
  o.max_rounds = 4;
  driver d(o);
  auto a = d.start();
  int sends = 0;
  while (a.type != kind::done) {
    if (a.type == kind::send) {
      ++sends;
      a = d.replied({err("MOVED 1 10.0.0.2:7001")});
    } else {
      a = d.event(cluster_event::kind::updated);
    }
  }
  EXPECT_EQ(a.ec, make_error_code(error::too_many_redirects));
  EXPECT_EQ(sends, 4);
}

TEST(ClusterExecFsm, EndsAtTheDeadlineWithTheLastError) {
  driver d;
  d.start();
  auto a = d.failed(make_error_code(owcore::net::error::timeout));
  a = d.event(cluster_event::kind::refreshed);
  d.now += 61s;
  a = d.event(cluster_event::kind::slept);
  EXPECT_EQ(a.type, kind::done);
  EXPECT_EQ(a.ec, make_error_code(owcore::net::error::timeout));
}

TEST(ClusterExecFsm, AskLoopsAreBounded) {
  cluster_exec_options o;
  o.max_rounds = 3;
  driver d(o);
  auto a = d.start();
  int sends = 0;
  while (a.type == kind::send) {
    ++sends;
    a = d.replied({err("ASK 5 10.0.0.3:7002")});
  }
  EXPECT_EQ(a.type, kind::done);
  EXPECT_EQ(a.ec, make_error_code(error::too_many_redirects));
  EXPECT_EQ(sends, 3);
}

TEST(ClusterExecFsm, ClassifyNeedsEveryReplyToAgree) {
  EXPECT_EQ(cluster_exec_fsm::classify({err("MOVED 1 h:1"), err("MOVED 1 h:1")}).type,
            redirect::kind::moved);
  // A partly executed pipeline is handed back, never re-run.
  EXPECT_EQ(cluster_exec_fsm::classify({ok(), err("MOVED 1 h:1")}).type, redirect::kind::none);
  EXPECT_EQ(cluster_exec_fsm::classify({err("TRYAGAIN x"), err("MOVED 1 h:1")}).type,
            redirect::kind::none);
  EXPECT_EQ(cluster_exec_fsm::classify({}).type, redirect::kind::none);
  EXPECT_EQ(cluster_exec_fsm::classify({err("MOVED bad")}).type, redirect::kind::none);
}

TEST(ClusterExecFsm, AskingWrapsEveryCommandAndIsStrippedAfter) {
  request r;
  r.push("SET", key("k"), "v").push("GET", key("k"));
  r.idempotent();
  const auto w = cluster_exec_fsm::with_asking(r);
  ASSERT_EQ(w.size(), 4u);
  EXPECT_EQ(w.commands()[0].args[0], "ASKING");
  EXPECT_EQ(w.commands()[1].args[0], "SET");
  EXPECT_EQ(w.commands()[2].args[0], "ASKING");
  EXPECT_EQ(w.policy(), retry_policy::idempotent);
  EXPECT_EQ(cluster_exec_fsm::with_asking(request{}.push("INCR", key("k"))).policy(),
            retry_policy::never_after_write);
  auto stripped = cluster_exec_fsm::strip_asking({ok(), err("a"), ok(), err("b")});
  ASSERT_EQ(stripped.size(), 2u);
  EXPECT_EQ(stripped[0].str, "a");
  EXPECT_EQ(stripped[1].str, "b");
}

}  // namespace cluster_exec_fsm_test
