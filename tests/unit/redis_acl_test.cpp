// protocol/acl: the rule owcore needs, the doctor's dry run and the reading of NOPERM replies.
#include "owcore/redis/protocol/acl.hpp"

#include <gtest/gtest.h>

#include <algorithm>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace redis_acl_test {

using namespace owcore::redis;

namespace {

bool has(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

TEST(RedisAcl, RuleNamesPrefixKeysChannelsAndCommands) {
  const auto r = acl::rule("open-webui");
  EXPECT_EQ(r.at(0), "resetkeys");
  EXPECT_EQ(r.at(1), "resetchannels");
  EXPECT_EQ(r.at(2), "-@all");
  for (const auto* want :
       {"~open-webui:*", "&open-webui:*", "&socketio", "&socketio#*", "+eval", "+publish",
        "+subscribe", "+psubscribe", "+hscan", "+cluster|slots", "+client|setname", "+select",
        "+lpush", "+pexpire", "+info", "+multi", "+discard"})
    EXPECT_TRUE(has(r, want)) << want;
  EXPECT_FALSE(has(r, "+@all"));
  EXPECT_FALSE(has(r, "+flushall"));
  EXPECT_EQ(acl::setuser_line("owcore", "p")
                .rfind("ACL SETUSER owcore on >PASSWORD resetkeys "
                       "resetchannels -@all ~p:* &p:* &socketio",
                       0),
            0u);
  // Glob characters of a prefix are matched literally.
  EXPECT_EQ(acl::key_pattern("a*b?[c]"), "~a\\*b\\?\\[c\\]:*");
}

TEST(RedisAcl, DryRunChecksEveryCommandKeyAndChannel) {
  const auto plain = acl::dry_run("p", false);
  const auto cluster = acl::dry_run("p", true);
  EXPECT_GT(cluster.size(), plain.size());
  std::vector<std::string> names;
  for (const auto& c : plain) {
    ASSERT_FALSE(c.args.empty());
    names.push_back(c.args[0]);
    for (std::size_t i = 1; i < c.args.size(); ++i) {
      if (c.args[i].find(':') != std::string::npos && c.args[0] != "EVAL") {
        EXPECT_TRUE(c.args[i].starts_with("p:")) << c.args[0] << " " << c.args[i];
      }
    }
  }
  for (const auto* want : {"EVAL", "GET", "HSET", "HSCAN", "LPUSH", "PEXPIRE", "PING", "ROLE",
                           "INFO", "PUBLISH", "SUBSCRIBE", "PSUBSCRIBE", "UNSUBSCRIBE"})
    EXPECT_TRUE(has(names, want)) << want;
  EXPECT_FALSE(has(names, "CLUSTER"));
  EXPECT_FALSE(has(names, "MULTI"));
  // The channels: the stop channel, socketio and the room channels, each published and subscribed.
  std::vector<std::string> channels;
  for (const auto& c : plain)
    if (!c.channel_pattern.empty())
      channels.push_back(c.args[0] + " " + c.args[1] + " " + c.channel_pattern);
  EXPECT_TRUE(has(channels, "PUBLISH p:tasks:commands &p:*"));
  EXPECT_TRUE(has(channels, "SUBSCRIBE p:tasks:commands &p:*"));
  EXPECT_TRUE(has(channels, "SUBSCRIBE socketio &socketio"));
  EXPECT_TRUE(has(channels, "PUBLISH socketio#/#owcore-doctor &socketio#*"));
  EXPECT_TRUE(has(channels, "PSUBSCRIBE socketio#* &socketio#*"));
}

TEST(RedisAcl, ReadsNopermRepliesOfRedis70And72) {
  auto cmd = acl::read_noperm("NOPERM this user has no permissions to run the 'eval' command");
  ASSERT_TRUE(cmd);
  EXPECT_EQ(cmd->what, acl::denial::kind::command);
  EXPECT_EQ(cmd->command, "eval");
  cmd =
      acl::read_noperm("NOPERM User owcore has no permissions to run the 'cluster|slots' command");
  ASSERT_TRUE(cmd);
  EXPECT_EQ(cmd->command, "cluster|slots");
  for (const auto* key : {"NOPERM this user has no permissions to access one of the keys used as "
                          "arguments",
                          "NOPERM No permissions to access a key"}) {
    auto d = acl::read_noperm(key);
    ASSERT_TRUE(d) << key;
    EXPECT_EQ(d->what, acl::denial::kind::key);
  }
  for (const auto* chan : {"NOPERM this user has no permissions to access one of the channels used "
                           "as arguments",
                           "NOPERM No permissions to access a channel"}) {
    auto d = acl::read_noperm(chan);
    ASSERT_TRUE(d) << chan;
    EXPECT_EQ(d->what, acl::denial::kind::channel);
  }
  EXPECT_FALSE(acl::read_noperm("ERR unknown command"));
  EXPECT_FALSE(acl::read_noperm(""));
  EXPECT_TRUE(acl::read_noperm("NOPERM"));  // an unknown wording is still a refusal

  acl::check c{{"SUBSCRIBE", "socketio"}, "&socketio"};
  EXPECT_EQ(acl::grant_for(c, {acl::denial::kind::channel, {}}, "p"), "&socketio");
  EXPECT_EQ(acl::grant_for(c, {acl::denial::kind::key, {}}, "p"), "~p:*");
  EXPECT_EQ(acl::grant_for(c, {acl::denial::kind::command, "subscribe"}, "p"), "+subscribe");
}

}  // namespace redis_acl_test
