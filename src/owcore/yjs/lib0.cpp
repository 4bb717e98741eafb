#include "owcore/yjs/lib0.hpp"

#include "owcore/base/utf8.hpp"

#include <cstring>
#include <string_view>

namespace owcore::yjs::lib0 {

bool reader::fail(error code, std::size_t offset, const char* context) noexcept {
  if (!failed_) {
    failed_ = true;
    err_ = decode_error{code, 0, offset, context};
  }
  pos_ = data_.size();  // nothing more is read after a failure
  return false;
}

std::uint8_t reader::read_u8() noexcept {
  if (pos_ >= data_.size()) {
    fail(error::truncated, pos_, context_);
    return 0;
  }
  return data_[pos_++];
}

std::uint64_t reader::read_var_uint() noexcept {
  const std::size_t start = pos_;
  std::uint64_t value = 0;
  for (unsigned shift = 0; shift < 70; shift += 7) {
    if (pos_ >= data_.size()) {
      fail(error::truncated, start, context_);
      return 0;
    }
    const std::uint8_t b = data_[pos_++];
    const std::uint64_t bits = b & 0x7fu;
    if (bits != 0) {
      if (shift >= 53 || (value += bits << shift) > max_safe_integer) {
        fail(error::integer_overflow, start, context_);
        return 0;
      }
    }
    if ((b & 0x80u) == 0) return value;
  }
  fail(error::integer_overflow, start, context_);
  return 0;
}

std::uint64_t reader::read_var_int(bool& negative) noexcept {
  const std::size_t start = pos_;
  negative = false;
  if (pos_ >= data_.size()) {
    fail(error::truncated, start, context_);
    return 0;
  }
  std::uint8_t b = data_[pos_++];
  negative = (b & 0x40u) != 0;
  std::uint64_t value = b & 0x3fu;
  if ((b & 0x80u) == 0) return value;
  for (unsigned shift = 6; shift < 69; shift += 7) {
    if (pos_ >= data_.size()) {
      fail(error::truncated, start, context_);
      return 0;
    }
    b = data_[pos_++];
    const std::uint64_t bits = b & 0x7fu;
    if (bits != 0) {
      if (shift >= 53 || (value += bits << shift) > max_safe_integer) {
        fail(error::integer_overflow, start, context_);
        return 0;
      }
    }
    if ((b & 0x80u) == 0) return value;
  }
  fail(error::integer_overflow, start, context_);
  return 0;
}

byte_view reader::read_bytes(std::size_t n) noexcept {
  if (n > remaining()) {
    fail(error::truncated, pos_, context_);
    return {};
  }
  byte_view out = data_.subspan(pos_, n);
  pos_ += n;
  return out;
}

byte_view reader::read_var_uint8_array() noexcept {
  const std::uint64_t n = read_var_uint();
  if (!ok()) return {};
  if (n > remaining()) {
    fail(error::truncated, pos_, context_);
    return {};
  }
  return read_bytes(static_cast<std::size_t>(n));
}

string_span reader::read_var_string() noexcept {
  byte_view bytes = read_var_uint8_array();
  if (!ok()) return {};
  std::size_t bad = 0;
  const std::int64_t units = utf16_length(bytes, bad);
  if (units < 0) {
    fail(error::invalid_utf8, pos_ - bytes.size() + bad, context_);
    return {};
  }
  return {bytes, static_cast<std::uint64_t>(units)};
}

std::uint64_t reader::read_count(std::size_t min_bytes_each) noexcept {
  const std::size_t start = pos_;
  const std::uint64_t n = read_var_uint();
  if (ok() && n > remaining() / min_bytes_each) {
    fail(error::count_too_large, start, context_);
    return 0;
  }
  return n;
}

void reader::skip_any(std::size_t max_depth, std::size_t depth) noexcept {
  const std::size_t start = pos_;
  const std::uint8_t tag = read_u8();
  switch (tag) {
    case 127:
    case 126:
    case 121:
    case 120: return;  // undefined, null, false, true
    case 125: {
      bool neg;
      read_var_int(neg);
      return;
    }                                 // integer
    case 124: read_bytes(4); return;  // float32
    case 123:
    case 122: read_bytes(8); return;           // float64, bigint64
    case 119: read_var_string(); return;       // string
    case 116: read_var_uint8_array(); return;  // Uint8Array
    case 118:
    case 117: {  // object, array
      if (depth >= max_depth) {
        fail(error::nesting_too_deep, start, context_);
        return;
      }
      const bool object = tag == 118;
      const std::uint64_t n = read_count(object ? 2 : 1);
      for (std::uint64_t i = 0; i < n && ok(); ++i) {
        if (object) read_var_string();
        skip_any(max_depth, depth + 1);
      }
      return;
    }
    default:
      if (ok()) fail(error::invalid_any_tag, start, context_);
      return;
  }
}

std::int64_t utf16_length(byte_view s, std::size_t& bad_offset) noexcept {
  const auto scan =
      base::scan_utf8(std::string_view(reinterpret_cast<const char*>(s.data()), s.size()));
  if (!scan.valid) {
    bad_offset = scan.bad_offset;
    return -1;
  }
  return static_cast<std::int64_t>(scan.utf16_units);
}

std::size_t utf8_offset_of_unit(byte_view s, std::uint64_t unit, bool& split_pair) noexcept {
  split_pair = false;
  std::size_t i = 0;
  std::uint64_t u = 0;
  while (u < unit && i < s.size()) {
    const std::uint8_t c = s[i];
    if (c < 0x80) {
      ++i;
      ++u;
    } else if (c < 0xe0) {
      i += 2;
      ++u;
    } else if (c < 0xf0) {
      i += 3;
      ++u;
    } else {
      i += 4;
      u += 2;
      if (u > unit) split_pair = true;
    }
  }
  return i;
}

namespace {

// Recursive-descent JSON syntax check; depth is bounded by max_depth, so recursion is bounded too.
class json_checker {
 public:
  json_checker(byte_view t, std::size_t max_depth) : t_(t), max_depth_(max_depth) {}

  bool run() {
    ws();
    if (!value(0)) return false;
    ws();
    return i_ == t_.size();
  }

 private:
  bool at_end() const { return i_ >= t_.size(); }
  std::uint8_t peek() const { return at_end() ? 0 : t_[i_]; }
  void ws() {
    while (!at_end() && (t_[i_] == ' ' || t_[i_] == '\t' || t_[i_] == '\n' || t_[i_] == '\r')) ++i_;
  }
  bool literal(std::string_view lit) {
    if (t_.size() - i_ < lit.size()) return false;
    if (std::memcmp(t_.data() + i_, lit.data(), lit.size()) != 0) return false;
    i_ += lit.size();
    return true;
  }
  static bool digit(std::uint8_t c) { return c >= '0' && c <= '9'; }
  bool digits() {
    if (!digit(peek())) return false;
    while (digit(peek())) ++i_;
    return true;
  }
  bool number() {
    if (peek() == '-') ++i_;
    if (peek() == '0') {
      ++i_;
    } else if (!digits()) {
      return false;
    }
    if (peek() == '.') {
      ++i_;
      if (!digits()) return false;
    }
    if (peek() == 'e' || peek() == 'E') {
      ++i_;
      if (peek() == '+' || peek() == '-') ++i_;
      if (!digits()) return false;
    }
    return true;
  }
  bool string() {
    ++i_;  // opening quote
    while (!at_end()) {
      const std::uint8_t c = t_[i_++];
      if (c == '"') return true;
      if (c < 0x20) return false;
      if (c == '\\') {
        const std::uint8_t e = peek();
        ++i_;
        if (e == 'u') {
          for (int k = 0; k < 4; ++k) {
            const std::uint8_t h = peek();
            if (!(digit(h) || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F'))) return false;
            ++i_;
          }
        } else if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' &&
                   e != 'r' && e != 't') {
          return false;
        }
      }
    }
    return false;
  }
  bool value(std::size_t depth) {
    switch (peek()) {
      case '{':
      case '[': {
        if (depth >= max_depth_) return false;
        const std::uint8_t close = peek() == '{' ? '}' : ']';
        const bool object = close == '}';
        ++i_;
        ws();
        if (peek() == close) {
          ++i_;
          return true;
        }
        for (;;) {
          if (object) {
            if (peek() != '"' || !string()) return false;
            ws();
            if (peek() != ':') return false;
            ++i_;
            ws();
          }
          if (!value(depth + 1)) return false;
          ws();
          if (peek() == ',') {
            ++i_;
            ws();
            continue;
          }
          if (peek() != close) return false;
          ++i_;
          return true;
        }
      }
      case '"': return string();
      case 't': return literal("true");
      case 'f': return literal("false");
      case 'n': return literal("null");
      default: return number();
    }
  }

  byte_view t_;
  std::size_t max_depth_;
  std::size_t i_ = 0;
};

}  // namespace

bool is_valid_json(byte_view text, std::size_t max_depth) noexcept {
  return json_checker(text, max_depth).run();
}

void write_var_uint(byte_buffer& out, std::uint64_t v) {
  while (v > 0x7f) {
    out.push_back(static_cast<std::uint8_t>(0x80 | (v & 0x7f)));
    v >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(v));
}

void write_bytes(byte_buffer& out, byte_view bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}

void write_var_bytes(byte_buffer& out, byte_view bytes) {
  write_var_uint(out, bytes.size());
  write_bytes(out, bytes);
}

}  // namespace owcore::yjs::lib0
