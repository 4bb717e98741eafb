#pragma once
// Metric primitives every layer counts with (docs/metrics.md): counters, gauges, fixed-bucket
// latency histograms and a bounded table of labelled slots. Plain atomics only: no layer below
// `app` knows the exposition format; `app` reads these and renders them.
//
// Thread-safety and cost: every update is one relaxed atomic read-modify-write (a histogram
// observation is two: its bucket and its sum), safe from any thread, never blocking and never
// allocating. Reads (`value()`, `snapshot()`) are relaxed too: a scrape sees each number as it
// was at some moment during the scrape, not one consistent instant across numbers.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace owcore::base::metrics {

/// A monotonically increasing count. Thread-safe (relaxed atomics); one atomic add per inc().
class counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { v_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

/// A value that goes up and down (open sessions, running tasks). Thread-safe (relaxed atomics).
class gauge {
 public:
  void add(std::int64_t n = 1) noexcept { v_.fetch_add(n, std::memory_order_relaxed); }
  void sub(std::int64_t n = 1) noexcept { v_.fetch_sub(n, std::memory_order_relaxed); }
  void set(std::int64_t n) noexcept { v_.store(n, std::memory_order_relaxed); }
  std::int64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> v_{0};
};

/// The upper bounds (inclusive) of every latency histogram, in microseconds: 100 µs to 10 s.
/// Observations above the last bound land in the +Inf bucket.
inline constexpr std::array<std::uint64_t, 16> latency_bounds_us{
    100,    250,     500,     1'000,   2'500,     5'000,     10'000,    25'000,
    50'000, 100'000, 250'000, 500'000, 1'000'000, 2'500'000, 5'000'000, 10'000'000};

/// A latency histogram over `latency_bounds_us`. observe() costs a scan of at most 16 integers
/// and two relaxed atomic adds; it is thread-safe and lock-free. Memory: 18 words.
class histogram {
 public:
  static constexpr std::size_t buckets = latency_bounds_us.size() + 1;  ///< the last is +Inf

  /// Records one duration (negative durations count as zero).
  void observe(std::chrono::steady_clock::duration d) noexcept {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
    const std::uint64_t n = ns > 0 ? static_cast<std::uint64_t>(ns) : 0;
    std::size_t i = 0;
    while (i < latency_bounds_us.size() && n > latency_bounds_us[i] * 1000) ++i;  // le: inclusive
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(n, std::memory_order_relaxed);
  }

  /// A copy of the counts for rendering: per-bucket (not cumulative) counts and the sum.
  struct snapshot_t {
    std::array<std::uint64_t, buckets> counts{};
    std::uint64_t sum_ns = 0;
    std::uint64_t count() const noexcept {
      std::uint64_t c = 0;
      for (auto v : counts) c += v;
      return c;
    }
  };
  snapshot_t snapshot() const noexcept {
    snapshot_t s;
    for (std::size_t i = 0; i < buckets; ++i)
      s.counts[i] = counts_[i].load(std::memory_order_relaxed);
    s.sum_ns = sum_ns_.load(std::memory_order_relaxed);
    return s;
  }

 private:
  std::array<std::atomic<std::uint64_t>, buckets> counts_{};
  std::atomic<std::uint64_t> sum_ns_{0};
};

/// At most `N` named slots of `T` (for a label whose values are not known in advance, such as a
/// Redis node address), plus one slot named "other" that takes every name beyond the first N, so
/// the label set stays bounded whatever the input.
///
/// `slot()` takes a mutex when the name is new and scans the used slots otherwise: call it when a
/// connection or route is set up and keep the returned reference, never per event. The returned
/// reference stays valid for the table's lifetime. `for_each` (the scrape) is lock-free: a slot
/// is published with a release store after its name is written.
template <class T, std::size_t N>
class bounded_slots {
 public:
  static constexpr std::string_view overflow_name = "other";

  /// The slot named `name` (created on first use; "other" once N names are taken). Thread-safe.
  T& slot(std::string_view name) {
    if (auto* t = find(name)) return *t;
    std::lock_guard lock(mutex_);
    if (auto* t = find(name)) return *t;
    const auto used = used_.load(std::memory_order_relaxed);
    if (used >= N) {
      other_used_.store(true, std::memory_order_release);
      return other_;
    }
    names_[used] = std::string(name);
    used_.store(used + 1, std::memory_order_release);
    return slots_[used];
  }

  /// Calls f(name, slot) for every used slot, "other" last. Thread-safe, lock-free.
  template <class F>
  void for_each(F&& f) const {
    const auto used = used_.load(std::memory_order_acquire);
    for (std::size_t i = 0; i < used; ++i) f(std::string_view(names_[i]), slots_[i]);
    if (other_used_.load(std::memory_order_acquire)) f(overflow_name, other_);
  }

  /// Number of named slots in use (not counting "other").
  std::size_t size() const noexcept { return used_.load(std::memory_order_acquire); }

 private:
  T* find(std::string_view name) {
    const auto used = used_.load(std::memory_order_acquire);
    for (std::size_t i = 0; i < used; ++i)
      if (names_[i] == name) return &slots_[i];
    if (name == overflow_name) {
      other_used_.store(true, std::memory_order_release);
      return &other_;
    }
    return nullptr;
  }

  std::array<T, N> slots_{};
  std::array<std::string, N> names_{};  ///< written once, before used_ covers it
  std::atomic<std::size_t> used_{0};
  T other_{};
  std::atomic<bool> other_used_{false};
  std::mutex mutex_;  ///< serialises the creation of slots; never taken by for_each
};

}  // namespace owcore::base::metrics
