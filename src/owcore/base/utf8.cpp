#include "owcore/base/utf8.hpp"

#include <cstdint>
#include <cstring>

namespace owcore::base {

bool decode_utf8(std::string_view s, std::size_t& i, char32_t& cp) noexcept {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) {
    cp = c;
    ++i;
    return true;
  }
  std::size_t n = 0;
  char32_t min = 0;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 1, cp = c & 0x1F, min = 0x80;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 2, cp = c & 0x0F, min = 0x800;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 3, cp = c & 0x07, min = 0x10000;
  } else {
    ++i;  // a continuation byte, an overlong lead (C0, C1) or past U+10FFFF (F5..FF)
    return false;
  }
  if (i + n >= s.size()) {
    ++i;
    return false;
  }
  for (std::size_t k = 1; k <= n; ++k) {
    const unsigned char cc = byte(i + k);
    if ((cc & 0xC0) != 0x80) {
      ++i;
      return false;
    }
    cp = (cp << 6) | (cc & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++i;
    return false;
  }
  i += n + 1;
  return true;
}

utf8_scan scan_utf8(std::string_view text) noexcept {
  utf8_scan out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text.size() - i >= 8) {
      std::uint64_t w;
      std::memcpy(&w, text.data() + i, 8);
      if ((w & 0x8080808080808080ULL) == 0) {
        i += 8;
        out.utf16_units += 8;
        continue;
      }
    }
    const std::size_t start = i;
    char32_t cp = 0;
    if (!decode_utf8(text, i, cp)) {
      out.valid = false;
      out.bad_offset = start;
      out.utf16_units = 0;
      return out;
    }
    out.utf16_units += cp >= 0x10000 ? 2 : 1;
  }
  return out;
}

bool valid_utf8(std::string_view text) noexcept { return scan_utf8(text).valid; }

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace owcore::base
