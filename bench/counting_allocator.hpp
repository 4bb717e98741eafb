#pragma once
// The bench binary's counting allocator (counting_allocator.cpp): every heap allocation of the
// process is counted (operator new replaced; malloc, calloc, realloc and the aligned forms
// interposed and forwarded to glibc's, so Asio's recycled handler memory and hiredis count too).

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace alloc_count {

/// Allocations so far, all threads (relaxed; exact once the threads are quiet).
std::uint64_t total() noexcept;

/// While true, the caller of every 64th allocation is recorded in `sites` (the first 4096), to
/// be printed as offsets for `addr2line -i -f -C -e` (OWCORE_BENCH_ALLOC_SITES=1).
extern bool record_sites;
extern std::array<std::atomic<std::uintptr_t>, 4096> sites;
extern std::atomic<std::size_t> site_count;

}  // namespace alloc_count
