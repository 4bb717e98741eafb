#pragma once
// The subscriptions of one pub/sub connection, sans-io (docs/redis.md): which channels, patterns
// and shard channels are wanted (they survive every reconnect), the commands that (re)subscribe
// them, and the classification of what a subscribed connection receives. The shell
// (io/subscriber) writes the commands and acts on the classified replies.

#include "owcore/redis/protocol/resp.hpp"

#include <cstddef>
#include <set>
#include <string>
#include <string_view>

namespace owcore::redis {

/// One message received on a subscription.
struct message {
  enum class kind { message, pmessage, smessage };
  kind type = kind::message;
  std::string channel;
  std::string pattern;   ///< for pmessage: the pattern that matched
  std::string payload;
};

/// What a subscription is to.
enum class subscription_kind {
  channel,  ///< SUBSCRIBE / UNSUBSCRIBE
  pattern,  ///< PSUBSCRIBE / PUNSUBSCRIBE
  shard,    ///< SSUBSCRIBE / SUNSUBSCRIBE (Cluster shard channels)
};

/// A reply received on a subscribed connection, classified.
struct push_event {
  enum class kind {
    message,       ///< a message, pmessage or smessage: `msg` holds it
    subscribed,    ///< a subscribe, psubscribe or ssubscribe confirmation
    unsubscribed,  ///< an unsubscribe confirmation of something no longer wanted
    lost_shard,    ///< sunsubscribe of a shard channel still wanted (its slot moved): reconnect
    error,         ///< an error reply (it answers a subscribe: ACL, MOVED); `text` holds it
    other,         ///< PONG and anything else: proof of life only
  };
  kind type = kind::other;
  message msg;
  std::string text;
};

/// The wanted subscriptions of one connection. A value type; not thread-safe (one per
/// subscriber, used on its strand). Names are binary-safe; no limit beyond memory.
class subscription_tracker {
 public:
  /// Adds `name`; returns true when it is new (then, if connected, write subscribe_command()).
  bool add(subscription_kind k, std::string name);
  /// Removes `name`; returns true when it was there (then, if connected, write
  /// unsubscribe_command()). Removed names are not re-subscribed after a reconnect.
  bool remove(subscription_kind k, std::string_view name);
  bool contains(subscription_kind k, std::string_view name) const;
  /// True when nothing is wanted.
  bool empty() const noexcept;
  /// Number of wanted names of kind `k`.
  std::size_t size(subscription_kind k) const noexcept { return set(k).size(); }

  /// Appends `SUBSCRIBE|PSUBSCRIBE|SSUBSCRIBE name` to `out`.
  static void subscribe_command(std::string& out, subscription_kind k, std::string_view name);
  /// Appends `UNSUBSCRIBE|PUNSUBSCRIBE|SUNSUBSCRIBE name` to `out`.
  static void unsubscribe_command(std::string& out, subscription_kind k, std::string_view name);

  /// Appends the commands that subscribe everything wanted on a new connection: one SUBSCRIBE
  /// with every channel, one PSUBSCRIBE with every pattern, one SSUBSCRIBE with every shard
  /// channel (each only when non-empty). Returns how many commands it appended.
  std::size_t resubscribe_commands(std::string& out) const;

  /// Classifies one reply received on the subscribed connection. Pure.
  push_event classify(reply r) const;

 private:
  const std::set<std::string, std::less<>>& set(subscription_kind k) const noexcept;
  std::set<std::string, std::less<>>& set(subscription_kind k) noexcept;

  std::set<std::string, std::less<>> channels_, patterns_, shards_;
};

}  // namespace owcore::redis
