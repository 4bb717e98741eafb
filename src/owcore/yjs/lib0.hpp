#pragma once
// lib0 binary primitives as Yjs v1 uses them (docs/yjs.md): a bounds-checked reader with a sticky
// error, canonical writers, UTF-8 validation with UTF-16 length, and validators for `Any` values
// and JSON text. Pure functions over caller-owned bytes; no I/O, no allocation by claimed sizes.

#include "owcore/yjs/error.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace owcore::yjs {

/// A read-only view of encoded bytes. The codec never copies input it can point into.
using byte_view = std::span<const std::uint8_t>;
/// An owned byte buffer (encoder output).
using byte_buffer = std::vector<std::uint8_t>;

/// JavaScript's Number.MAX_SAFE_INTEGER: the largest varUint the codec accepts.
inline constexpr std::uint64_t max_safe_integer = (std::uint64_t{1} << 53) - 1;

namespace lib0 {

/// Result of reading a varString: the UTF-8 bytes (validated) and their length in UTF-16 code
/// units, the unit Yjs counts string positions in.
struct string_span {
  byte_view utf8;
  std::uint64_t utf16_length = 0;
};

/// Cursor over an encoded update. Every read is bounds-checked. The first failure is recorded and
/// sticks: later reads return zero values and do not advance, so callers check `ok()` at loop
/// heads rather than after every call. Not thread-safe; cheap to copy (used to re-scan content).
class reader {
 public:
  explicit reader(byte_view data) noexcept : data_(data) {}

  bool ok() const noexcept { return !failed_; }
  std::size_t pos() const noexcept { return pos_; }
  std::size_t remaining() const noexcept { return data_.size() - pos_; }
  byte_view data() const noexcept { return data_; }
  /// The recorded failure (meaningful only when `!ok()`); `input` is left 0 for the caller.
  decode_error failure() const noexcept { return err_; }

  /// Records `code` at byte `offset` unless a failure is already recorded. Always returns false.
  bool fail(error code, std::size_t offset, const char* context) noexcept;

  /// Sets the description attached to failures recorded from now on (a static string).
  void set_context(const char* context) noexcept { context_ = context; }

  std::uint8_t read_u8() noexcept;
  /// lib0 varUint; non-canonical forms are accepted, values above 2^53-1 rejected.
  std::uint64_t read_var_uint() noexcept;
  /// lib0 varInt (sign-magnitude): sets `negative` and returns the magnitude (at most 2^53-1).
  std::uint64_t read_var_int(bool& negative) noexcept;
  /// `n` raw bytes, or an empty view after a failure.
  byte_view read_bytes(std::size_t n) noexcept;
  /// varUint length, then that many raw bytes.
  byte_view read_var_uint8_array() noexcept;
  /// varUint byte length, then UTF-8 that must be well-formed (a BOM is kept, as lib0 does).
  string_span read_var_string() noexcept;
  /// Reads a varUint count and fails with count_too_large unless `count * min_bytes_each` fits in
  /// the remaining bytes: bounds every loop and reservation by the input size.
  std::uint64_t read_count(std::size_t min_bytes_each) noexcept;
  /// Validates and skips one `Any` value (docs/yjs.md, "Any values"); `depth` counts enclosing
  /// arrays/objects.
  void skip_any(std::size_t max_depth, std::size_t depth = 0) noexcept;

 private:
  byte_view data_;
  std::size_t pos_ = 0;
  bool failed_ = false;
  const char* context_ = "";
  decode_error err_{};
};

/// Validates UTF-8 as a fatal WHATWG decoder does (no overlongs, no surrogates, nothing above
/// U+10FFFF; base::scan_utf8). Returns the UTF-16 length, or -1 and sets `bad_offset` to the
/// first bad byte.
std::int64_t utf16_length(byte_view utf8, std::size_t& bad_offset) noexcept;

/// Byte offset in valid `utf8` of UTF-16 unit `unit`. When `unit` falls between the two units of
/// a supplementary character, returns the offset just past that character and sets `split_pair`.
std::size_t utf8_offset_of_unit(byte_view utf8, std::uint64_t unit, bool& split_pair) noexcept;

/// True when `text` is what `JSON.parse` accepts (RFC 8259 grammar, JSON whitespace around it)
/// with at most `max_depth` nested arrays/objects. `text` must already be valid UTF-8.
bool is_valid_json(byte_view text, std::size_t max_depth) noexcept;

/// Appends one byte.
inline void write_u8(byte_buffer& out, std::uint8_t v) { out.push_back(v); }
/// Appends the canonical (shortest) varUint encoding of `v`.
void write_var_uint(byte_buffer& out, std::uint64_t v);
/// Appends raw bytes.
void write_bytes(byte_buffer& out, byte_view bytes);
/// Appends varUint(size) then the bytes: varString and varUint8Array share this layout.
void write_var_bytes(byte_buffer& out, byte_view bytes);

/// The bytes of a string literal, for building and comparing encodings.
inline byte_view as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace lib0
}  // namespace owcore::yjs
