#include "owcore/base/base64.hpp"

#include <array>
#include <cstdint>

namespace owcore::base {
namespace {

constexpr std::string_view standard_chars =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view url_safe_chars =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Sextet values by byte, `invalid` outside the alphabet; one table per accepted alphabet set.
constexpr std::uint8_t invalid = 0xFF;

constexpr std::array<std::uint8_t, 256> make_table(bool standard, bool url_safe) {
  std::array<std::uint8_t, 256> t{};
  for (auto& v : t) v = invalid;
  for (std::size_t i = 0; i < 62; ++i)
    t[static_cast<unsigned char>(standard_chars[i])] = static_cast<std::uint8_t>(i);
  if (standard) t['+'] = 62, t['/'] = 63;
  if (url_safe) t['-'] = 62, t['_'] = 63;
  return t;
}

constexpr auto standard_table = make_table(true, false);
constexpr auto url_safe_table = make_table(false, true);
constexpr auto either_table = make_table(true, true);

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "owcore.base64"; }
  std::string message(int ev) const override {
    switch (static_cast<base64_error>(ev)) {
      case base64_error::invalid_character: return "invalid base64 character";
      case base64_error::invalid_length: return "invalid base64 length";
      case base64_error::invalid_padding: return "invalid base64 padding";
      case base64_error::nonzero_trailing_bits: return "non-zero trailing bits in base64";
    }
    return "unknown base64 error";
  }
};

}  // namespace

const boost::system::error_category& base64_category() noexcept {
  static const category instance;
  return instance;
}

std::string base64_encode(std::string_view bytes, base64_alphabet alphabet, bool pad) {
  const std::string_view chars =
      alphabet == base64_alphabet::url_safe ? url_safe_chars : standard_chars;
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  const auto byte = [&](std::size_t k) {
    return std::uint32_t{static_cast<unsigned char>(bytes[k])};
  };
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out += chars[(v >> 18) & 63];
    out += chars[(v >> 12) & 63];
    out += chars[(v >> 6) & 63];
    out += chars[v & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 0) return out;
  const std::uint32_t v = (byte(i) << 16) | (rest == 2 ? byte(i + 1) << 8 : 0);
  out += chars[(v >> 18) & 63];
  out += chars[(v >> 12) & 63];
  if (rest == 2) out += chars[(v >> 6) & 63];
  if (pad) out.append(rest == 1 ? "==" : "=");
  return out;
}

boost::system::result<std::string> base64_decode(std::string_view text,
                                                 const base64_decode_options& options) {
  // Separate the padding from the data sextets first; '=' left in the data is then an invalid
  // character like any other.
  std::size_t pad = 0;
  switch (options.padding) {
    case base64_padding::required:
    case base64_padding::optional:
      while (pad < 2 && pad < text.size() && text[text.size() - 1 - pad] == '=') ++pad;
      if (options.padding == base64_padding::required && text.size() % 4 != 0)
        return base64_error::invalid_length;
      if (pad > 0 && text.size() % 4 != 0) return base64_error::invalid_padding;
      break;
    case base64_padding::ignored:
      while (pad < text.size() && text[text.size() - 1 - pad] == '=') ++pad;
      break;
    case base64_padding::forbidden: break;
  }
  const std::string_view data = text.substr(0, text.size() - pad);
  if (data.size() % 4 == 1) return base64_error::invalid_length;
  // With a whole number of quads, the '=' count must complete the last one (two for 2 data
  // characters, one for 3); a stray '=' inside the data fails below as a character.
  if (pad > 0 && options.padding != base64_padding::ignored && pad != (4 - data.size() % 4) % 4)
    return base64_error::invalid_padding;

  const auto& table = options.either_alphabet                         ? either_table
                      : options.alphabet == base64_alphabet::url_safe ? url_safe_table
                                                                      : standard_table;
  std::string out;
  out.reserve(data.size() / 4 * 3 + 2);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : data) {
    const std::uint8_t v = table[static_cast<unsigned char>(c)];
    if (v == invalid) return base64_error::invalid_character;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  if (options.strict_trailing_bits && bits > 0 && (acc & ((1u << bits) - 1)) != 0)
    return base64_error::nonzero_trailing_bits;
  return out;
}

}  // namespace owcore::base
