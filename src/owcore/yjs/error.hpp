#pragma once
// The `yjs` codec's error codes and the error value its decoders return.

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <cstddef>
#include <string>
#include <type_traits>

namespace owcore::yjs {

/// Why an update was rejected. Every rejection class (docs/yjs.md, "Limits") has its own value.
enum class error {
  truncated = 1,       ///< the input ends inside a value (also: an empty input)
  integer_overflow,    ///< a varUint/varInt above 2^53-1, or a varint longer than 10 bytes
  clock_overflow,      ///< a clock, or clock + length, above `decode_limits::max_clock` (2^32-1)
  count_too_large,     ///< a claimed element count cannot fit in the bytes that remain
  invalid_utf8,        ///< a string is not well-formed UTF-8 (lib0's TextDecoder is fatal)
  invalid_any_tag,     ///< an `Any` value starts with a tag outside 116..127
  nesting_too_deep,    ///< `Any` or JSON nesting deeper than `decode_limits::max_depth`
  invalid_struct_ref,  ///< a struct info with ref 11..31, or ref 10 (Skip) with flag bits
  invalid_type_ref,    ///< a ContentType typeRef above 6
  invalid_json,        ///< ContentJSON / Embed / Format text that `JSON.parse` rejects
  invalid_doc_options, ///< ContentDoc options that are not an `Any` object (JS throws on them)
  limit_exceeded,      ///< more structs, delete ranges or bytes than `decode_limits` allow
};

/// The category of `yjs::error` ("owcore.yjs"); safe to call from any thread.
const boost::system::error_category& yjs_category() noexcept;

inline boost::system::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), yjs_category()};
}

/// A rejection with its position: which input (for merges), the byte offset in that input where the
/// offending value starts, and a static description of what was being read. A value type.
struct decode_error {
  error code = error::truncated;
  std::size_t input = 0;         ///< index of the offending update in a merge's input list
  std::size_t offset = 0;        ///< byte offset inside that update
  const char* context = "";      ///< what was being read, e.g. "delete set range"; never null

  /// "update 2, byte 17: invalid UTF-8 (ContentString)". Allocates; call only on the error path.
  std::string message() const;
};

/// `value()` on a failed result throws `boost::system::system_error` carrying the code and
/// `message()`; found by ADL from `boost::system::result`.
[[noreturn]] void throw_exception_from_error(const decode_error& e, const boost::source_location& loc);

/// The codec's return type: a value or a `decode_error`.
template <class T>
using result = boost::system::result<T, decode_error>;

}  // namespace owcore::yjs

template <>
struct boost::system::is_error_code_enum<owcore::yjs::error> : std::true_type {};
