// Counting allocator (counting_allocator.hpp): every heap allocation of the process is counted in
// a per-thread slot. Asio recycles handler memory through aligned_alloc and hiredis uses malloc,
// so the C functions are interposed as well as operator new, all forwarding to glibc's.
#include "counting_allocator.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

namespace alloc_count {
struct alignas(64) slot {
  std::atomic<std::uint64_t> n{0};
};
std::array<slot, 64> slots;
std::atomic<unsigned> next_slot{0};
bool record_sites = false;
std::array<std::atomic<std::uintptr_t>, 4096> sites{};
std::atomic<std::size_t> site_count{0};
inline void count(void* caller) noexcept {
  thread_local slot* mine =
      &slots[next_slot.fetch_add(1, std::memory_order_relaxed) % slots.size()];
  const auto n = mine->n.fetch_add(1, std::memory_order_relaxed);
  if (record_sites && n % 64 == 0) {
    const auto i = site_count.fetch_add(1, std::memory_order_relaxed);
    if (i < sites.size())
      sites[i].store(reinterpret_cast<std::uintptr_t>(caller), std::memory_order_relaxed);
  }
}
std::uint64_t total() noexcept {
  std::uint64_t t = 0;
  for (auto& s : slots) t += s.n.load(std::memory_order_relaxed);
  return t;
}

// glibc's functions, found with dlsym(RTLD_NEXT) on first use. dlsym itself may allocate: those
// few blocks come from a static bump area and are never freed.
using malloc_fn = void* (*)(std::size_t);
using free_fn = void (*)(void*);
using calloc_fn = void* (*)(std::size_t, std::size_t);
using realloc_fn = void* (*)(void*, std::size_t);
using aligned_fn = void* (*)(std::size_t, std::size_t);
using posix_memalign_fn = int (*)(void**, std::size_t, std::size_t);
malloc_fn real_malloc = nullptr;
free_fn real_free = nullptr;
calloc_fn real_calloc = nullptr;
realloc_fn real_realloc = nullptr;
aligned_fn real_aligned_alloc = nullptr;
aligned_fn real_memalign = nullptr;
posix_memalign_fn real_posix_memalign = nullptr;
bool resolving = false;
alignas(64) char boot[16384];
std::size_t boot_used = 0;

bool from_boot(const void* p) noexcept {
  return p >= static_cast<const void*>(boot) && p < static_cast<const void*>(boot + sizeof boot);
}
void* boot_alloc(std::size_t n) noexcept {
  n = (n + 63) / 64 * 64;
  if (boot_used + n > sizeof boot) return nullptr;
  void* p = boot + boot_used;
  boot_used += n;
  return p;  // static storage: already zero
}
template <class F>
F find(const char* name) noexcept {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}
void resolve() noexcept {
  resolving = true;
  real_malloc = find<malloc_fn>("malloc");
  real_free = find<free_fn>("free");
  real_calloc = find<calloc_fn>("calloc");
  real_realloc = find<realloc_fn>("realloc");
  real_aligned_alloc = find<aligned_fn>("aligned_alloc");
  real_memalign = find<aligned_fn>("memalign");
  real_posix_memalign = find<posix_memalign_fn>("posix_memalign");
  resolving = false;
}
void* counted_malloc(std::size_t n, void* caller) noexcept {
  if (!real_malloc) {
    if (resolving) return boot_alloc(n);
    resolve();
  }
  count(caller);
  return real_malloc(n);
}
}  // namespace alloc_count

extern "C" {
void* malloc(std::size_t n) noexcept {
  return alloc_count::counted_malloc(n, __builtin_return_address(0));
}
void free(void* p) noexcept {
  if (!p || alloc_count::from_boot(p)) return;
  if (!alloc_count::real_free) alloc_count::resolve();
  alloc_count::real_free(p);
}
void* calloc(std::size_t n, std::size_t size) noexcept {
  if (!alloc_count::real_calloc) {
    if (alloc_count::resolving) return alloc_count::boot_alloc(n * size);
    alloc_count::resolve();
  }
  alloc_count::count(__builtin_return_address(0));
  return alloc_count::real_calloc(n, size);
}
void* realloc(void* p, std::size_t n) noexcept {
  if (!alloc_count::real_realloc) alloc_count::resolve();
  alloc_count::count(__builtin_return_address(0));
  if (alloc_count::from_boot(p)) {
    void* q = alloc_count::real_malloc(n);
    if (q)
      std::memcpy(q, p,
                  std::min<std::size_t>(
                      n, alloc_count::boot + sizeof alloc_count::boot - static_cast<char*>(p)));
    return q;
  }
  return alloc_count::real_realloc(p, n);
}
void* aligned_alloc(std::size_t align, std::size_t n) noexcept {
  if (!alloc_count::real_aligned_alloc) alloc_count::resolve();
  alloc_count::count(__builtin_return_address(0));
  return alloc_count::real_aligned_alloc(align, n);
}
void* memalign(std::size_t align, std::size_t n) noexcept {
  if (!alloc_count::real_memalign) alloc_count::resolve();
  alloc_count::count(__builtin_return_address(0));
  return alloc_count::real_memalign(align, n);
}
int posix_memalign(void** out, std::size_t align, std::size_t n) noexcept {
  if (!alloc_count::real_posix_memalign) alloc_count::resolve();
  alloc_count::count(__builtin_return_address(0));
  return alloc_count::real_posix_memalign(out, align, n);
}
}  // extern "C"

void* operator new(std::size_t n) {
  if (void* p = alloc_count::counted_malloc(n ? n : 1, __builtin_return_address(0))) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  if (void* p = alloc_count::counted_malloc(n ? n : 1, __builtin_return_address(0))) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return alloc_count::counted_malloc(n ? n : 1, __builtin_return_address(0));
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return alloc_count::counted_malloc(n ? n : 1, __builtin_return_address(0));
}
void* operator new(std::size_t n, std::align_val_t a) {
  const auto al = std::max(static_cast<std::size_t>(a), sizeof(void*));
  if (void* p = aligned_alloc(al, (n + al - 1) / al * al)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t a) { return operator new(n, a); }
void operator delete(void* p) noexcept { free(p); }
void operator delete[](void* p) noexcept { free(p); }
void operator delete(void* p, std::size_t) noexcept { free(p); }
void operator delete[](void* p, std::size_t) noexcept { free(p); }
void operator delete(void* p, std::align_val_t) noexcept { free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { free(p); }
