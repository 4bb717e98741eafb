#pragma once
// The one source of unpredictable bytes: the kernel CSPRNG through getrandom(2)
// (docs/architecture.md, "base"). Every id, token, key and seed in owcore comes from here.
// Thread-safe (the kernel serialises nothing we can observe); blocks only before the kernel's
// pool is first initialised at boot.

#include <cstddef>
#include <cstdint>
#include <string>

namespace owcore::base {

/// Fills `size` bytes at `out` with CSPRNG output. Throws std::system_error (a
/// std::runtime_error) only when the kernel refuses, which is a broken system, never an input
/// problem.
void random_fill(void* out, std::size_t size);

/// `size` CSPRNG bytes as a string. Throws as random_fill.
std::string random_bytes(std::size_t size);

/// A uniformly random 64-bit value (a seed for a non-cryptographic jitter generator). Throws as
/// random_fill.
std::uint64_t random_u64();

}  // namespace owcore::base
