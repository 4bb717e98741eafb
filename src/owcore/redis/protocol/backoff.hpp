#pragma once
// Capped exponential backoff with full jitter, used by every reconnect loop and retry loop of the
// Redis layer (docs/redis.md). Sans-io: it computes delays; the caller sleeps.

#include <chrono>

namespace owcore::redis {

/// Delays between attempts: the n-th call to next() returns a uniform random delay in [d/2, d]
/// where d = initial * 2^n, capped at `cap`. Not thread-safe (one per loop).
class backoff {
 public:
  backoff(std::chrono::milliseconds initial, std::chrono::milliseconds cap) noexcept
      : initial_(initial), cap_(cap) {}
  /// The next delay; counts one attempt.
  std::chrono::milliseconds next();
  /// Back to the initial delay (after a success).
  void reset() noexcept { attempt_ = 0; }
  /// Attempts counted since the last reset().
  unsigned attempts() const noexcept { return attempt_; }

 private:
  std::chrono::milliseconds initial_, cap_;
  unsigned attempt_ = 0;
};

}  // namespace owcore::redis
