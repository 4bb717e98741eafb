#pragma once
// Base64 (RFC 4648 §4 standard and §5 URL-safe alphabets) with the padding and trailing-bit
// rules each wire format needs spelled out by the caller (docs/architecture.md, "base"). Pure
// functions; thread-safe; no allocation beyond the returned string.

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <string>
#include <string_view>
#include <type_traits>

namespace owcore::base {

/// Why a base64 text was refused.
enum class base64_error {
  invalid_character = 1,  ///< a byte outside the accepted alphabet (or '=' before the end)
  invalid_length,         ///< 4n+1 characters, or not a multiple of 4 when padding is required
  invalid_padding,        ///< padding where it is forbidden, or a wrong number of '='
  nonzero_trailing_bits,  ///< the bits after the last whole byte are not zero (strict mode)
};

/// The error category of base64_error ("owcore.base64").
const boost::system::error_category& base64_category() noexcept;

inline boost::system::error_code make_error_code(base64_error e) noexcept {
  return {static_cast<int>(e), base64_category()};
}

/// The 64-character alphabet: '+' and '/' (standard) or '-' and '_' (URL-safe) for values 62, 63.
enum class base64_alphabet { standard, url_safe };

/// How '=' padding is treated when decoding.
enum class base64_padding {
  required,   ///< the text is a multiple of 4 characters with exactly the right '=' count
  optional,   ///< as `required`, or no '=' at all (then any length but 4n+1)
  forbidden,  ///< '=' is an invalid character; any length but 4n+1
  ignored,    ///< any number of trailing '=' is dropped first; then any length but 4n+1
};

/// Decoding rules. Defaults are the strictest: standard alphabet, exact padding, zero
/// trailing bits, so that every accepted text has exactly one spelling.
struct base64_decode_options {
  base64_alphabet alphabet = base64_alphabet::standard;
  /// Also accept the other alphabet's two characters (JWT verifiers are this lenient).
  bool either_alphabet = false;
  base64_padding padding = base64_padding::required;
  /// Refuse non-zero bits after the last whole byte (Python's binascii ignores them).
  bool strict_trailing_bits = true;
};

/// Encodes `bytes` in `alphabet`, appending '=' padding to a multiple of 4 when `pad` is true.
std::string base64_encode(std::string_view bytes,
                          base64_alphabet alphabet = base64_alphabet::standard, bool pad = true);

/// Decodes `text` under `options`; whitespace is never skipped. Returns the bytes or the first
/// rule the text breaks. Never throws except std::bad_alloc.
boost::system::result<std::string> base64_decode(std::string_view text,
                                                 const base64_decode_options& options = {});

}  // namespace owcore::base

template <>
struct boost::system::is_error_code_enum<owcore::base::base64_error> : std::true_type {};
