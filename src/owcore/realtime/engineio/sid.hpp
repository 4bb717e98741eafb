#pragma once
// Engine.IO / Socket.IO session ids in python-engineio's format (docs/wire.md, "Socket.IO"): 12
// CSPRNG bytes followed by a 3-byte counter, base64url-encoded to 20 characters. The server always
// generates them; an id a client proposes is never adopted.

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace owcore::realtime::engineio {

/// Generates unique session ids. Thread-safe (the counter is atomic; randomness is
/// base::random_fill, the kernel CSPRNG).
class sid_generator {
 public:
  /// Length of every generated id.
  static constexpr std::size_t length = 20;

  /// A fresh id: 20 characters of [A-Za-z0-9_-]. Throws std::runtime_error if the CSPRNG fails
  /// (a broken system, never an input problem).
  std::string next();

  /// True when `s` has the shape of a generated id (length and alphabet); a cheap pre-check
  /// before any lookup, not proof that the server issued it.
  static bool well_formed(std::string_view s) noexcept;

 private:
  std::atomic<std::uint32_t> counter_{0};
};

}  // namespace owcore::realtime::engineio
