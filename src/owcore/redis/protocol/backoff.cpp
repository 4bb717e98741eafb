#include "owcore/redis/protocol/backoff.hpp"

#include "owcore/base/random.hpp"

#include <algorithm>
#include <cstdint>
#include <random>

namespace owcore::redis {

std::chrono::milliseconds backoff::next() {
  // Jitter needs no secrecy, only a seed that differs per thread and process: base's CSPRNG.
  thread_local std::mt19937_64 rng{base::random_u64()};
  const auto shift = std::min(attempt_, 20u);
  ++attempt_;
  auto d = initial_ * (std::int64_t{1} << shift);
  if (d > cap_ || d <= std::chrono::milliseconds::zero()) d = cap_;
  std::uniform_int_distribution<std::int64_t> dist(d.count() / 2, d.count());
  return std::chrono::milliseconds(dist(rng));
}

}  // namespace owcore::redis
