#pragma once
// Recycled memory for the per-request objects of a connection (the caller's waiting handler and
// the handlers posted to wake it): thread-local free lists of small blocks, so that a steady
// stream of requests allocates nothing (docs/redis.md "Performance").

#include <cstddef>

namespace owcore::redis::io {

/// A block of at least `n` bytes (aligned as ::operator new). Blocks of up to 512 bytes come from
/// the calling thread's free list when it has one; larger ones are plain ::operator new.
/// Thread-safe (the lists are per thread).
void* recycled_allocate(std::size_t n);

/// Returns a block from recycled_allocate(n) (same `n`), possibly allocated on another thread.
/// Each thread keeps at most 4096 free blocks per size class; beyond that it frees them.
void recycled_deallocate(void* p, std::size_t n) noexcept;

/// A standard allocator over recycled_allocate, for Asio handlers (asio::bind_allocator).
template <class T>
struct recycling_allocator {
  using value_type = T;
  recycling_allocator() noexcept = default;
  template <class U>
  recycling_allocator(const recycling_allocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(recycled_allocate(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { recycled_deallocate(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const recycling_allocator<U>&) const noexcept {
    return true;
  }
};

/// Base for objects created with `new` and destroyed through a base pointer (request sinks):
/// their memory comes from recycled_allocate. The sized delete gets the dynamic type's size.
struct recycled {
  static void* operator new(std::size_t n) { return recycled_allocate(n); }
  static void operator delete(void* p, std::size_t n) noexcept { recycled_deallocate(p, n); }
};

}  // namespace owcore::redis::io
