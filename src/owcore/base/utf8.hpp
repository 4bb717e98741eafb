#pragma once
// Strict UTF-8 (Unicode Table 3-7: no overlong forms, no surrogates, nothing above U+10FFFF),
// the rule RFC 6455 text frames, lib0's fatal TextDecoder and Python's str all share
// (docs/architecture.md, "base"). Pure functions; thread-safe.

#include <cstddef>
#include <string>
#include <string_view>

namespace owcore::base {

/// U+FFFD, written in place of what cannot be represented.
inline constexpr char32_t replacement_character = 0xFFFD;

/// What scan_utf8 found.
struct utf8_scan {
  bool valid = true;
  std::size_t bad_offset = 0;   ///< when !valid: the byte where the first bad sequence starts
  std::size_t utf16_units = 0;  ///< when valid: the length in UTF-16 code units
};

/// Validates all of `text` (ASCII runs eight bytes at a time) and counts its UTF-16 units.
utf8_scan scan_utf8(std::string_view text) noexcept;

/// True when `text` is well-formed UTF-8.
bool valid_utf8(std::string_view text) noexcept;

/// Decodes the code point starting at `text[i]` (i < text.size()) into `cp` and advances `i`
/// past it. On an ill-formed sequence returns false and advances `i` by one byte only.
bool decode_utf8(std::string_view text, std::size_t& i, char32_t& cp) noexcept;

/// Appends the UTF-8 form of `cp` (at most U+10FFFF; the caller excludes surrogates).
void append_utf8(std::string& out, char32_t cp);

}  // namespace owcore::base
