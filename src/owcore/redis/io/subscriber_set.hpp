#pragma once
// Internal to the redis clients: the subscribers a client made, held weakly so that a
// subscriber its owner dropped is forgotten, and reachable for stop() and failover reconnects.

#include "owcore/redis/io/subscriber.hpp"

#include <algorithm>
#include <memory>
#include <mutex>
#include <vector>

namespace owcore::redis::detail {

/// A thread-safe set of weakly held subscribers.
class subscriber_set {
 public:
  /// Adds `s` and forgets the subscribers that are gone.
  void add(const std::shared_ptr<subscriber>& s) {
    std::lock_guard lock(mutex_);
    std::erase_if(subs_, [](const auto& w) { return w.expired(); });
    subs_.push_back(s);
  }

  /// Calls `f(subscriber&)` for every live subscriber, under the set's lock (f must not block
  /// nor call back into the set).
  template <class F>
  void for_each(F f) {
    std::lock_guard lock(mutex_);
    for (auto& w : subs_)
      if (auto s = w.lock()) f(*s);
  }

 private:
  std::mutex mutex_;
  std::vector<std::weak_ptr<subscriber>> subs_;
};

}  // namespace owcore::redis::detail
