#pragma once
// A double-ended FIFO over one growable power-of-two array: the multiplexer's queues. Unlike
// std::deque (which allocates and frees a block every few elements as a FIFO moves), it allocates
// only when it grows past its largest size so far (docs/redis.md "Performance").

#include <cstddef>
#include <utility>
#include <vector>

namespace owcore::redis::detail {

/// FIFO with push at both ends. T must be default-constructible and movable. pop_front() leaves
/// the slot as it is (the caller has usually moved from it; what it still holds is released when
/// the slot is reused or the ring destroyed); erase_at, erase_if and clear reset slots to T{}.
/// Not thread-safe. Size is bounded by the caller.
template <class T>
class ring {
 public:
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  T& operator[](std::size_t i) noexcept { return slots_[(head_ + i) & mask()]; }
  const T& operator[](std::size_t i) const noexcept { return slots_[(head_ + i) & mask()]; }
  T& front() noexcept { return (*this)[0]; }
  const T& front() const noexcept { return (*this)[0]; }

  void push_back(T&& v) {
    grow_if_full();
    (*this)[size_] = std::move(v);
    ++size_;
  }
  void push_front(T&& v) {
    grow_if_full();
    head_ = (head_ + slots_.size() - 1) & mask();
    slots_[head_] = std::move(v);
    ++size_;
  }
  void pop_front() {
    head_ = (head_ + 1) & mask();
    --size_;
  }
  void clear() {
    for (std::size_t i = 0; i < size_; ++i) (*this)[i] = T{};
    size_ = 0;
    head_ = 0;
  }
  /// Removes element `i`, keeping the order of the others.
  void erase_at(std::size_t i) {
    for (; i + 1 < size_; ++i) (*this)[i] = std::move((*this)[i + 1]);
    (*this)[size_ - 1] = T{};
    --size_;
  }
  /// Removes every element for which `pred` is true, keeping the order; returns how many.
  template <class Pred>
  std::size_t erase_if(Pred pred) {
    std::size_t kept = 0;
    for (std::size_t i = 0; i < size_; ++i) {
      if (pred((*this)[i])) continue;
      if (kept != i) (*this)[kept] = std::move((*this)[i]);
      ++kept;
    }
    const auto removed = size_ - kept;
    for (std::size_t i = kept; i < size_; ++i) (*this)[i] = T{};
    size_ = kept;
    return removed;
  }

 private:
  std::size_t mask() const noexcept { return slots_.size() - 1; }
  void grow_if_full() {
    if (size_ < slots_.size()) return;
    std::vector<T> bigger(slots_.empty() ? 16 : slots_.size() * 2);
    for (std::size_t i = 0; i < size_; ++i) bigger[i] = std::move((*this)[i]);
    slots_ = std::move(bigger);
    head_ = 0;
  }

  std::vector<T> slots_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace owcore::redis::detail
