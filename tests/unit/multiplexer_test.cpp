// The multiplexer's whole decision table (docs/redis.md): queueing, batching into one write,
// matching replies in order, cancellation, the queue limit, expiry, and above all what happens to
// each request when the connection drops: a non-idempotent write is never re-sent.
#include "owcore/net/error.hpp"
#include "owcore/redis/error.hpp"
#include "owcore/redis/protocol/multiplexer.hpp"

#include "redis_replies.hpp"

#include <gtest/gtest.h>

#include <boost/system/errc.hpp>

#include <memory>
#include <optional>
#include <vector>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace multiplexer_test {

using namespace owcore::redis;
using boost::system::error_code;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

using namespace test_replies;

namespace {

struct outcome {
  bool done = false;
  error_code ec;
  response replies;
  int calls = 0;
};

struct recording_sink final : request_sink {
  explicit recording_sink(std::shared_ptr<outcome> o) : out(std::move(o)) {}
  void complete(error_code ec, response r) override {
    out->done = true;
    out->ec = ec;
    out->replies = std::move(r);
    ++out->calls;
  }
  std::shared_ptr<outcome> out;
};

request get(std::string_view k) {
  request r;
  r.push("GET", key(k));
  r.idempotent();
  return r;
}

request incr(std::string_view k) {
  request r;
  r.push("INCR", key(k));  // never_after_write by default
  return r;
}

struct fixture {
  multiplexer mux;
  clock_type::time_point now = clock_type::now();
  std::uint64_t next_id = 1;

  explicit fixture(multiplexer_options o = {}) : mux(o) {}

  std::shared_ptr<outcome> add(request r, bool* woke = nullptr) {
    auto o = std::make_shared<outcome>();
    const bool w = mux.add(std::move(r), next_id++, std::make_unique<recording_sink>(o), now);
    if (woke) *woke = w;
    return o;
  }
  std::string write() {
    std::string bytes(mux.prepare_write(now));
    mux.commit_write(now);
    return bytes;
  }
};

std::string wire(const request& r) {
  std::string out;
  r.encode(out);
  return out;
}

}  // namespace

TEST(Multiplexer, WritesEverythingQueuedAsOneBuffer) {
  fixture f;
  bool woke = false;
  auto a = f.add(get("a"), &woke);
  EXPECT_TRUE(woke) << "the first request wakes the writer";
  auto b = f.add(incr("b"), &woke);
  EXPECT_FALSE(woke) << "the writer is already awake";
  EXPECT_EQ(f.mux.queued(), 2u);
  EXPECT_EQ(f.write(), wire(get("a")) + wire(incr("b")));
  EXPECT_EQ(f.mux.queued(), 0u);
  EXPECT_EQ(f.mux.in_flight(), 2u);
  EXPECT_TRUE(f.mux.prepare_write(f.now).empty()) << "nothing left to write";
}

TEST(Multiplexer, MatchesRepliesToTheOldestRequest) {
  fixture f;
  request two;
  two.push("SET", key("k"), "v").push("GET", key("k"));
  auto a = f.add(std::move(two));
  auto b = f.add(get("x"));
  f.write();
  EXPECT_EQ(f.mux.on_reply(status("OK")), multiplexer::reply_result::consumed);
  EXPECT_FALSE(a->done);
  EXPECT_EQ(f.mux.on_reply(status("v")), multiplexer::reply_result::completed);
  ASSERT_TRUE(a->done);
  EXPECT_FALSE(a->ec);
  ASSERT_EQ(a->replies.size(), 2u);
  EXPECT_TRUE(a->replies[1].is_status("v"));
  EXPECT_FALSE(b->done);
  EXPECT_EQ(f.mux.on_reply(status("x")), multiplexer::reply_result::completed);
  EXPECT_TRUE(b->done);
  EXPECT_TRUE(f.mux.idle());
}

TEST(Multiplexer, AReplyWithNothingInFlightIsUnsolicited) {
  fixture f;
  EXPECT_EQ(f.mux.on_reply(status("OK")), multiplexer::reply_result::unsolicited);
  auto a = f.add(get("a"));  // queued, not written: still nothing in flight
  EXPECT_EQ(f.mux.on_reply(status("OK")), multiplexer::reply_result::unsolicited);
  EXPECT_FALSE(a->done);
}

TEST(Multiplexer, ANonIdempotentWriteIsNeverResent) {
  fixture f;
  auto w = f.add(incr("counter"));
  f.write();
  const auto sum = f.mux.on_connection_lost();
  EXPECT_EQ(sum.unknown_outcome, 1u);
  EXPECT_EQ(sum.requeued, 0u);
  ASSERT_TRUE(w->done);
  EXPECT_EQ(w->ec, make_error_code(error::unknown_outcome));
  EXPECT_EQ(w->calls, 1);
  EXPECT_TRUE(f.mux.prepare_write(f.now).empty()) << "it must not be written again";
}

TEST(Multiplexer, AWriteInProgressCountsAsWritten) {
  // prepare_write() without commit_write(): the bytes may have reached the server.
  fixture f;
  auto w = f.add(incr("counter"));
  EXPECT_FALSE(f.mux.prepare_write(f.now).empty());
  f.mux.on_connection_lost();
  EXPECT_EQ(w->ec, make_error_code(error::unknown_outcome));
  EXPECT_TRUE(f.mux.prepare_write(f.now).empty());
}

TEST(Multiplexer, AnIdempotentWriteIsResentInOrder) {
  fixture f;
  auto a = f.add(get("a"));
  auto b = f.add(get("b"));
  auto w = f.add(incr("c"));
  f.write();
  f.mux.on_reply(status("partial"));  // a's reply arrives...
  auto d = f.add(get("d"));           // ...and d is queued, never written
  const auto sum = f.mux.on_connection_lost();
  EXPECT_EQ(sum.requeued, 1u);
  EXPECT_EQ(sum.unknown_outcome, 1u);
  EXPECT_TRUE(a->done);
  EXPECT_FALSE(b->done);
  EXPECT_EQ(w->ec, make_error_code(error::unknown_outcome));
  EXPECT_FALSE(d->done);
  // b first (it was written first), then d; never c.
  EXPECT_EQ(f.write(), wire(get("b")) + wire(get("d")));
  f.mux.on_reply(status("B"));
  f.mux.on_reply(status("D"));
  ASSERT_TRUE(b->done);
  EXPECT_FALSE(b->ec);
  ASSERT_EQ(b->replies.size(), 1u);
  EXPECT_TRUE(b->replies[0].is_status("B"));
  EXPECT_TRUE(d->done);
}

TEST(Multiplexer, PartialRepliesOfAResentPipelineAreDiscarded) {
  fixture f;
  request two;
  two.push("GET", key("a")).push("GET", key("b"));
  two.idempotent();
  auto p = f.add(std::move(two));
  f.write();
  f.mux.on_reply(status("stale"));
  f.mux.on_connection_lost();
  f.write();
  f.mux.on_reply(status("A"));
  f.mux.on_reply(status("B"));
  ASSERT_TRUE(p->done);
  ASSERT_EQ(p->replies.size(), 2u);
  EXPECT_TRUE(p->replies[0].is_status("A"));
}

TEST(Multiplexer, AnIdempotentRequestIsWrittenAtMostMaxAttemptsTimes) {
  multiplexer_options o;
  o.max_attempts = 3;
  fixture f(o);
  auto r = f.add(get("a"));
  for (int i = 0; i < 2; ++i) {
    EXPECT_FALSE(f.write().empty());
    EXPECT_EQ(f.mux.on_connection_lost().requeued, 1u);
    EXPECT_FALSE(r->done);
  }
  EXPECT_FALSE(f.write().empty());  // the third write
  EXPECT_EQ(f.mux.on_connection_lost().unknown_outcome, 1u);
  EXPECT_EQ(r->ec, make_error_code(error::unknown_outcome));
}

TEST(Multiplexer, UnwrittenRequestsSurviveADrop) {
  fixture f;
  auto w = f.add(incr("c"));  // never_after_write, but never written
  const auto sum = f.mux.on_connection_lost();
  EXPECT_EQ(sum.requeued + sum.unknown_outcome + sum.dropped, 0u);
  EXPECT_FALSE(w->done);
  EXPECT_EQ(f.write(), wire(incr("c")));
}

TEST(Multiplexer, QueueLimitCountsQueuedAndInFlight) {
  multiplexer_options o;
  o.max_queued = 2;
  fixture f(o);
  auto a = f.add(get("a"));
  f.write();
  auto b = f.add(get("b"));
  auto c = f.add(get("c"));
  ASSERT_TRUE(c->done);
  EXPECT_EQ(c->ec, make_error_code(error::queue_full));
  EXPECT_FALSE(a->done);
  EXPECT_FALSE(b->done);
}

TEST(Multiplexer, AnEmptyRequestCompletesAtOnce) {
  fixture f;
  auto e = f.add(request{});
  ASSERT_TRUE(e->done);
  EXPECT_FALSE(e->ec);
  EXPECT_TRUE(e->replies.empty());
  EXPECT_TRUE(f.mux.idle());
}

TEST(Multiplexer, CancelForgetsQueuedAndDiscardsTheReplyOfWritten) {
  fixture f;
  const auto aborted = make_error_code(boost::system::errc::operation_canceled);
  auto a = f.add(get("a"));  // id 1
  f.write();
  auto b = f.add(get("b"));  // id 2
  EXPECT_TRUE(f.mux.cancel(2, aborted));
  EXPECT_EQ(b->ec, aborted);
  EXPECT_EQ(f.mux.queued(), 0u);
  EXPECT_TRUE(f.mux.cancel(1, aborted));
  EXPECT_EQ(a->ec, aborted);
  EXPECT_EQ(a->calls, 1);
  EXPECT_EQ(f.mux.in_flight(), 1u) << "its reply is still coming";
  EXPECT_EQ(f.mux.on_reply(status("late")), multiplexer::reply_result::completed);
  EXPECT_EQ(a->calls, 1) << "completed once only";
  EXPECT_FALSE(f.mux.cancel(1, aborted));
  EXPECT_FALSE(f.mux.cancel(99, aborted));
}

TEST(Multiplexer, ACancelledWrittenRequestIsDroppedOnADrop) {
  fixture f;
  auto a = f.add(get("a"));
  f.write();
  f.mux.cancel(1, make_error_code(boost::system::errc::operation_canceled));
  const auto sum = f.mux.on_connection_lost();
  EXPECT_EQ(sum.dropped, 1u);
  EXPECT_EQ(a->calls, 1);
  EXPECT_TRUE(f.mux.idle());
}

TEST(Multiplexer, StopFailsQueuedAsStoppedAndWrittenAsUnknownOutcome) {
  fixture f;
  auto w = f.add(get("a"));
  f.write();
  auto q = f.add(get("b"));
  f.mux.stop();
  EXPECT_EQ(q->ec, make_error_code(error::stopped));
  EXPECT_EQ(w->ec, make_error_code(error::unknown_outcome)) << "stopping never re-sends";
  auto late = f.add(get("c"));
  EXPECT_EQ(late->ec, make_error_code(error::stopped));
  EXPECT_TRUE(f.mux.stopped());
  EXPECT_TRUE(f.mux.idle());
}

TEST(Multiplexer, ExpiresOnlyQueuedRequestsThatWaitedTooLong) {
  fixture f;
  auto written = f.add(get("w"));
  f.write();
  auto old_one = f.add(get("a"));
  f.now += 20s;
  auto young = f.add(get("b"));
  f.now += 15s;
  const auto why = make_error_code(owcore::net::error::timeout);
  EXPECT_EQ(f.mux.expire_queued(f.now, 30s, why), 1u);
  EXPECT_EQ(old_one->ec, why);
  EXPECT_FALSE(young->done);
  EXPECT_FALSE(written->done);
}

TEST(Multiplexer, HealthPingIsInternalAndSingle) {
  fixture f;
  EXPECT_TRUE(f.mux.add_ping(f.now));
  EXPECT_FALSE(f.mux.add_ping(f.now)) << "one at a time";
  EXPECT_EQ(f.write(), "*1\r\n$4\r\nPING\r\n");
  EXPECT_FALSE(f.mux.add_ping(f.now));
  EXPECT_EQ(f.mux.on_reply(status("PONG")), multiplexer::reply_result::completed);
  EXPECT_TRUE(f.mux.idle());
  EXPECT_TRUE(f.mux.add_ping(f.now));
  f.write();
  EXPECT_EQ(f.mux.on_connection_lost().dropped, 1u) << "nobody waits for a health PING";
  EXPECT_TRUE(f.mux.idle());
}

TEST(Multiplexer, BatchesStopAtTheByteLimitButTakeAtLeastOne) {
  multiplexer_options o;
  o.max_write_batch = 1;
  fixture f(o);
  auto a = f.add(get("a"));
  auto b = f.add(get("b"));
  EXPECT_EQ(f.write(), wire(get("a")));
  EXPECT_EQ(f.write(), wire(get("b")));
}

TEST(Multiplexer, TheReplyDeadlineRunsFromTheOldestWrite) {
  fixture f;
  EXPECT_FALSE(f.mux.oldest_written());
  auto a = f.add(get("a"));
  EXPECT_FALSE(f.mux.oldest_written()) << "queued is not written";
  const auto t0 = f.now;
  f.write();
  f.now += 5s;
  auto b = f.add(get("b"));
  f.write();
  EXPECT_EQ(f.mux.oldest_written(), t0);
  f.mux.on_reply(status("A"));
  EXPECT_EQ(f.mux.oldest_written(), f.now);
}

// The view form (command_view): one command, nothing copied, the same decision table.
namespace {

struct view_outcome {
  int calls = 0;
  int one_calls = 0;
  error_code ec;
  reply got;
};

struct view_sink final : request_sink {
  explicit view_sink(view_outcome* o) : out(o) {}
  void complete(error_code ec, response r) override {
    ++out->calls;
    out->ec = ec;
    if (r.size() == 1) out->got = std::move(r.front());
  }
  void complete_one(reply&& r) override {
    ++out->calls;
    ++out->one_calls;
    out->got = std::move(r);
  }
  view_outcome* out;
};

}  // namespace

TEST(Multiplexer, AViewCommandIsEncodedLikeARequestAndGetsItsReplyWithoutAVector) {
  fixture f;
  const std::string_view args[] = {"GET", "k"};
  view_outcome o;
  EXPECT_TRUE(f.mux.add(command_view{args, 1, retry_policy::idempotent}, 7,
                        std::make_unique<view_sink>(&o), f.now));
  auto b = f.add(get("x"));
  EXPECT_EQ(f.write(), wire(get("k")) + wire(get("x")));
  EXPECT_EQ(f.mux.on_reply(str("v")), multiplexer::reply_result::completed);
  EXPECT_EQ(o.calls, 1);
  EXPECT_EQ(o.one_calls, 1);
  EXPECT_EQ(o.got.str, "v");
  EXPECT_EQ(f.mux.on_reply(str("y")), multiplexer::reply_result::completed);
  ASSERT_TRUE(b->done);
  ASSERT_EQ(b->replies.size(), 1u) << "a request sink still gets its one-element response";
  EXPECT_EQ(b->replies[0].str, "y");
}

TEST(Multiplexer, AWrittenNonIdempotentViewCommandIsNeverResent) {
  fixture f;
  const std::string_view incr_args[] = {"INCR", "n"};
  const std::string_view get_args[] = {"GET", "k"};
  view_outcome w, r;
  f.mux.add(command_view{incr_args, 1, retry_policy::never_after_write}, 1,
            std::make_unique<view_sink>(&w), f.now);
  f.mux.add(command_view{get_args, 1, retry_policy::idempotent}, 2, std::make_unique<view_sink>(&r),
            f.now);
  f.write();
  const auto sum = f.mux.on_connection_lost();
  EXPECT_EQ(sum.unknown_outcome, 1u);
  EXPECT_EQ(sum.requeued, 1u);
  EXPECT_EQ(w.calls, 1);
  EXPECT_EQ(w.ec, make_error_code(error::unknown_outcome));
  EXPECT_EQ(r.calls, 0);
  std::string expected;
  encode_command(expected, get_args);
  EXPECT_EQ(f.write(), expected) << "only the idempotent GET is written again";
  f.mux.on_reply(str("v"));
  EXPECT_EQ(r.calls, 1);
  EXPECT_EQ(r.got.str, "v");
}

TEST(Multiplexer, CountsWritesAndTheCommandsTheyCarry) {
  fixture f;
  request two;
  two.push("SET", key("k"), "v").push("GET", key("k"));
  f.add(std::move(two));
  f.add(get("a"));
  f.write();
  EXPECT_EQ(f.mux.writes(), 1u) << "everything queued goes out in one write";
  EXPECT_EQ(f.mux.commands_written(), 3u);
  f.add(get("b"));
  f.write();
  EXPECT_EQ(f.mux.writes(), 2u);
  EXPECT_EQ(f.mux.commands_written(), 4u);
}

TEST(Multiplexer, KeepsOrderAcrossManyRequestsAndDrops) {
  // Enough requests to wrap and grow the internal queues several times.
  fixture f;
  std::vector<std::shared_ptr<outcome>> all;
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 40; ++i) all.push_back(f.add(get("k" + std::to_string(round * 40 + i))));
    f.write();
    for (int i = 0; i < 20; ++i) f.mux.on_reply(str(std::to_string(round * 40 + i)));
    f.mux.on_connection_lost();  // the other 20 are requeued at the head, in order
    f.write();
    for (int i = 20; i < 40; ++i) f.mux.on_reply(str(std::to_string(round * 40 + i)));
  }
  ASSERT_TRUE(f.mux.idle());
  for (std::size_t i = 0; i < all.size(); ++i) {
    ASSERT_TRUE(all[i]->done) << i;
    ASSERT_EQ(all[i]->replies.size(), 1u);
    EXPECT_EQ(all[i]->replies[0].str, std::to_string(i));
  }
}

}  // namespace multiplexer_test
