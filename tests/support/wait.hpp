// Deadlines and polling for test code: every wait is bounded, none is a fixed sleep.
#pragma once

#include <algorithm>
#include <chrono>
#include <thread>

namespace owcore::test {

using test_clock = std::chrono::steady_clock;

/// An absolute point in time after which a wait gives up.
using deadline = test_clock::time_point;

/// now + `timeout`.
inline deadline deadline_after(std::chrono::milliseconds timeout) {
  return test_clock::now() + timeout;
}

/// Time left until `d`, never negative.
inline std::chrono::milliseconds remaining(deadline d) {
  return std::max(std::chrono::duration_cast<std::chrono::milliseconds>(d - test_clock::now()),
                  std::chrono::milliseconds(0));
}

/// Calls `done()` until it returns true (then returns true) or `d` has passed (then returns
/// false), sleeping `interval` (or what is left of it) between calls. `done` is called at least
/// once, and once more when the deadline is reached. Exceptions from `done` propagate.
template <class Predicate>
bool poll_until(deadline d, Predicate&& done,
                std::chrono::milliseconds interval = std::chrono::milliseconds(25)) {
  for (;;) {
    if (done()) return true;
    const auto left = remaining(d);
    if (left.count() == 0) return false;
    std::this_thread::sleep_for(std::min(interval, left));
  }
}

}  // namespace owcore::test
