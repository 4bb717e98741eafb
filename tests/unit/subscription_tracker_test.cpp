#include "owcore/redis/protocol/subscription_tracker.hpp"

#include "redis_replies.hpp"

#include <gtest/gtest.h>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace subscription_tracker_test {

using namespace owcore::redis;

using namespace test_replies;

namespace {

}  // namespace

TEST(SubscriptionTracker, TracksEachKindOnce) {
  subscription_tracker t;
  EXPECT_TRUE(t.empty());
  EXPECT_TRUE(t.add(subscription_kind::channel, "a"));
  EXPECT_FALSE(t.add(subscription_kind::channel, "a"));
  EXPECT_TRUE(t.add(subscription_kind::pattern, "a"));
  EXPECT_TRUE(t.add(subscription_kind::shard, "a"));
  EXPECT_EQ(t.size(subscription_kind::channel), 1u);
  EXPECT_TRUE(t.remove(subscription_kind::channel, "a"));
  EXPECT_FALSE(t.remove(subscription_kind::channel, "a"));
  EXPECT_TRUE(t.contains(subscription_kind::pattern, "a"));
  EXPECT_FALSE(t.empty());
}

TEST(SubscriptionTracker, ResubscribesEverythingInThreeCommands) {
  subscription_tracker t;
  std::string out;
  EXPECT_EQ(t.resubscribe_commands(out), 0u);
  EXPECT_EQ(out, "");
  t.add(subscription_kind::channel, "b");
  t.add(subscription_kind::channel, "a");
  t.add(subscription_kind::pattern, "p*");
  t.add(subscription_kind::shard, "{s}1");
  EXPECT_EQ(t.resubscribe_commands(out), 3u);
  EXPECT_EQ(out,
            "*3\r\n$9\r\nSUBSCRIBE\r\n$1\r\na\r\n$1\r\nb\r\n"
            "*2\r\n$10\r\nPSUBSCRIBE\r\n$2\r\np*\r\n"
            "*2\r\n$10\r\nSSUBSCRIBE\r\n$4\r\n{s}1\r\n");
}

TEST(SubscriptionTracker, SingleCommands) {
  std::string out;
  subscription_tracker::subscribe_command(out, subscription_kind::pattern, "x");
  subscription_tracker::unsubscribe_command(out, subscription_kind::shard, "y");
  EXPECT_EQ(out, "*2\r\n$10\r\nPSUBSCRIBE\r\n$1\r\nx\r\n*2\r\n$12\r\nSUNSUBSCRIBE\r\n$1\r\ny\r\n");
}

TEST(SubscriptionTracker, ClassifiesMessages) {
  subscription_tracker t;
  auto ev = t.classify(arr({str("message"), str("ch"), str("hello")}));
  ASSERT_EQ(ev.type, push_event::kind::message);
  EXPECT_EQ(ev.msg.type, message::kind::message);
  EXPECT_EQ(ev.msg.channel, "ch");
  EXPECT_EQ(ev.msg.payload, "hello");

  ev = t.classify(arr({str("pmessage"), str("p*"), str("pq"), str("x")}));
  ASSERT_EQ(ev.type, push_event::kind::message);
  EXPECT_EQ(ev.msg.type, message::kind::pmessage);
  EXPECT_EQ(ev.msg.pattern, "p*");
  EXPECT_EQ(ev.msg.channel, "pq");
  EXPECT_EQ(ev.msg.payload, "x");

  ev = t.classify(arr({str("smessage"), str("{s}"), str("y")}));
  ASSERT_EQ(ev.type, push_event::kind::message);
  EXPECT_EQ(ev.msg.type, message::kind::smessage);
  EXPECT_EQ(ev.msg.channel, "{s}");
}

TEST(SubscriptionTracker, ClassifiesConfirmationsErrorsAndPongs) {
  subscription_tracker t;
  t.add(subscription_kind::shard, "{s}");
  for (const char* k : {"subscribe", "psubscribe", "ssubscribe"})
    EXPECT_EQ(t.classify(arr({str(k), str("c"), integer(1)})).type, push_event::kind::subscribed) << k;
  EXPECT_EQ(t.classify(arr({str("unsubscribe"), str("c"), integer(0)})).type,
            push_event::kind::unsubscribed);
  // A shard channel still wanted, dropped by the server (its slot moved): reconnect.
  EXPECT_EQ(t.classify(arr({str("sunsubscribe"), str("{s}"), integer(0)})).type,
            push_event::kind::lost_shard);
  EXPECT_EQ(t.classify(arr({str("sunsubscribe"), str("{other}"), integer(0)})).type,
            push_event::kind::unsubscribed);
  reply e;
  e.type = reply::kind::error;
  e.str = "NOPERM no";
  auto ev = t.classify(e);
  EXPECT_EQ(ev.type, push_event::kind::error);
  EXPECT_EQ(ev.text, "NOPERM no");
  EXPECT_EQ(t.classify(arr({str("pong"), str("")})).type, push_event::kind::other);
  reply pong;
  pong.type = reply::kind::status;
  pong.str = "PONG";
  EXPECT_EQ(t.classify(pong).type, push_event::kind::other);
  // Malformed shapes are proof of life, not messages.
  EXPECT_EQ(t.classify(arr({str("message"), str("only-channel")})).type, push_event::kind::other);
  EXPECT_EQ(t.classify(arr({})).type, push_event::kind::other);
}

}  // namespace subscription_tracker_test
