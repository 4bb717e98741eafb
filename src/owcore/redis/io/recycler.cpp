#include "owcore/redis/io/recycler.hpp"

#include <array>
#include <new>
#include <vector>

namespace owcore::redis::io {
namespace {

constexpr std::size_t classes = 4;  // 64, 128, 256, 512 bytes
constexpr std::size_t max_free = 4096;

// The size class of `n`, or `classes` when it is too large to recycle.
std::size_t class_of(std::size_t n) noexcept {
  std::size_t c = 0;
  for (std::size_t size = 64; c < classes; ++c, size *= 2)
    if (n <= size) return c;
  return classes;
}

std::size_t size_of(std::size_t c) noexcept { return std::size_t{64} << c; }

struct free_lists {
  std::array<std::vector<void*>, classes> lists;
  ~free_lists() {
    for (std::size_t c = 0; c < classes; ++c)
      for (void* p : lists[c]) ::operator delete(p, size_of(c));
  }
};

free_lists& mine() {
  thread_local free_lists f;
  return f;
}

}  // namespace

void* recycled_allocate(std::size_t n) {
  const auto c = class_of(n);
  if (c == classes) return ::operator new(n);
  auto& list = mine().lists[c];
  if (list.empty()) return ::operator new(size_of(c));
  void* p = list.back();
  list.pop_back();
  return p;
}

void recycled_deallocate(void* p, std::size_t n) noexcept {
  if (!p) return;
  const auto c = class_of(n);
  if (c == classes) {
    ::operator delete(p, n);
    return;
  }
  auto& list = mine().lists[c];
  if (list.size() >= max_free) {
    ::operator delete(p, size_of(c));
    return;
  }
  if (list.capacity() == 0) {
    try {
      list.reserve(max_free);
    } catch (...) {
      ::operator delete(p, size_of(c));
      return;
    }
  }
  list.push_back(p);
}

}  // namespace owcore::redis::io
