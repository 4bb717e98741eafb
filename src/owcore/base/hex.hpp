#pragma once
// Lowercase hexadecimal text of bytes, as Python's bytes.hex() and hashlib's hexdigest() write
// it (docs/architecture.md, "base"). Pure functions; thread-safe.

#include <string>
#include <string_view>

namespace owcore::base {

/// Two lowercase hex digits per byte of `bytes`.
std::string hex_encode(std::string_view bytes);

/// True when `text` is exactly `length` characters of [0-9a-f].
bool is_lower_hex(std::string_view text, std::size_t length) noexcept;

}  // namespace owcore::base
