#include "owcore/realtime/adapter/socketio_pubsub.hpp"

#include <openssl/rand.h>

#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>

namespace owcore::realtime::adapter::socketio_pubsub {

namespace json = boost::json;
using boost::system::error_code;

namespace {

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "owcore.realtime.socketio_pubsub"; }
  std::string message(int ev) const override {
    switch (static_cast<error>(ev)) {
      case error::too_large: return "pub/sub message exceeds the size limit";
      case error::invalid_json: return "invalid JSON";
      case error::too_deep: return "JSON nesting exceeds the depth limit";
      case error::integer_too_long: return "integer literal longer than 100 characters";
      case error::not_an_object: return "pub/sub message is not a JSON object";
      case error::missing_field: return "required field missing";
      case error::wrong_type: return "field has the wrong type";
      case error::unknown_method: return "unknown pub/sub method";
      case error::invalid_host_id: return "host_id is not 32 lowercase hex digits";
      case error::invalid_namespace: return "namespace does not start with '/'";
      case error::string_too_long: return "name exceeds the length limit";
      case error::empty_sid: return "empty sid";
      case error::too_many_elements: return "list exceeds its length limit";
      case error::invalid_ack_id: return "ack id is not a non-negative integer";
      case error::invalid_binary: return "malformed binary attachments";
      case error::queue_full: return "publish queue is full";
      case error::stopped: return "channel stopped";
    }
    return "unknown socketio_pubsub error";
  }
};

decode_error make_error(error e, std::string where) {
  return decode_error{make_error_code(e), std::move(where)};
}

// ---------------------------------------------------------------------------------------------
// UTF-8

constexpr char32_t replacement = 0xFFFD;

// Decodes one code point at s[i] (strict: no overlongs, surrogates or values above U+10FFFF).
// Returns false, consuming one byte, on an invalid sequence.
bool next_code_point(std::string_view s, std::size_t& i, char32_t& cp) noexcept {
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
    ++i;
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

// ---------------------------------------------------------------------------------------------
// JSON reading, with Python's json.loads grammar (scanner.py / decoder.py, strict=True).

class py_json_parser {
 public:
  py_json_parser(std::string_view text, std::size_t max_depth) : s_(text), max_depth_(max_depth) {}

  std::optional<decode_error> run(json::value& out) {
    if (s_.starts_with("\xEF\xBB\xBF")) pos_ = 3;
    skip_ws();
    if (!value(out, 0)) return err_;
    skip_ws();
    if (pos_ != s_.size()) {
      fail(error::invalid_json);
      return err_;
    }
    return std::nullopt;
  }

 private:
  bool fail(error e) {
    err_ = make_error(e, "offset " + std::to_string(pos_));
    return false;
  }
  bool at_end() const noexcept { return pos_ >= s_.size(); }
  char peek() const noexcept { return s_[pos_]; }
  void skip_ws() noexcept {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) ++pos_;
  }
  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return fail(error::invalid_json);
    pos_ += word.size();
    return true;
  }

  bool value(json::value& out, std::size_t depth) {
    if (at_end()) return fail(error::invalid_json);
    switch (peek()) {
      case '"': return string(out.emplace_string());
      case '{': return object(out, depth + 1);
      case '[': return array(out, depth + 1);
      case 'n': out.emplace_null(); return literal("null");
      case 't': out = true; return literal("true");
      case 'f': out = false; return literal("false");
      case 'N': out = std::numeric_limits<double>::quiet_NaN(); return literal("NaN");
      case 'I': out = std::numeric_limits<double>::infinity(); return literal("Infinity");
      default: return number(out);
    }
  }

  bool object(json::value& out, std::size_t depth) {
    if (depth > max_depth_) return fail(error::too_deep);
    auto& obj = out.emplace_object();
    ++pos_;
    skip_ws();
    if (!at_end() && peek() == '}') {
      ++pos_;
      return true;
    }
    json::string key;
    for (;;) {
      if (at_end() || peek() != '"') return fail(error::invalid_json);
      key.clear();
      if (!string(key)) return false;
      skip_ws();
      if (at_end() || peek() != ':') return fail(error::invalid_json);
      ++pos_;
      skip_ws();
      json::value v;
      if (!value(v, depth)) return false;
      // dict(pairs): a repeated key keeps its first position and takes the last value.
      obj.insert_or_assign(key, std::move(v));
      skip_ws();
      if (at_end()) return fail(error::invalid_json);
      if (peek() == '}') {
        ++pos_;
        return true;
      }
      if (peek() != ',') return fail(error::invalid_json);
      ++pos_;
      skip_ws();
    }
  }

  bool array(json::value& out, std::size_t depth) {
    if (depth > max_depth_) return fail(error::too_deep);
    auto& arr = out.emplace_array();
    ++pos_;
    skip_ws();
    if (!at_end() && peek() == ']') {
      ++pos_;
      return true;
    }
    for (;;) {
      if (!value(arr.emplace_back(nullptr), depth)) return false;
      skip_ws();
      if (at_end()) return fail(error::invalid_json);
      if (peek() == ']') {
        ++pos_;
        return true;
      }
      if (peek() != ',') return fail(error::invalid_json);
      ++pos_;
      skip_ws();
    }
  }

  bool hex4(char32_t& v) {
    if (s_.size() - pos_ < 4) return fail(error::invalid_json);
    v = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<char32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<char32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<char32_t>(c - 'A' + 10);
      else return fail(error::invalid_json);
    }
    return true;
  }

  bool string(json::string& out) {
    ++pos_;  // opening quote
    buf_.clear();
    for (;;) {
      const std::size_t run = pos_;
      while (!at_end()) {
        const auto c = static_cast<unsigned char>(peek());
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
        ++pos_;
      }
      buf_.append(s_.data() + run, pos_ - run);
      if (at_end()) return fail(error::invalid_json);
      const auto c = static_cast<unsigned char>(peek());
      if (c == '"') {
        ++pos_;
        out.assign(buf_);
        return true;
      }
      if (c < 0x20) return fail(error::invalid_json);  // strict=True: no raw control characters
      if (c >= 0x80) {
        const std::size_t start = pos_;
        char32_t cp = 0;
        if (!next_code_point(s_, pos_, cp)) {
          pos_ = start;
          return fail(error::invalid_json);
        }
        buf_.append(s_.data() + start, pos_ - start);
        continue;
      }
      ++pos_;  // backslash
      if (at_end()) return fail(error::invalid_json);
      const char e = s_[pos_++];
      switch (e) {
        case '"': buf_ += '"'; break;
        case '\\': buf_ += '\\'; break;
        case '/': buf_ += '/'; break;
        case 'b': buf_ += '\b'; break;
        case 'f': buf_ += '\f'; break;
        case 'n': buf_ += '\n'; break;
        case 'r': buf_ += '\r'; break;
        case 't': buf_ += '\t'; break;
        case 'u': {
          char32_t cp = 0;
          if (!hex4(cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF && s_.substr(pos_, 2) == "\\u") {
            const std::size_t save = pos_;
            pos_ += 2;
            char32_t lo = 0;
            if (!hex4(lo)) return false;
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else {
              pos_ = save;  // the second escape stands on its own
            }
          }
          // A lone surrogate is valid in a Python str but not in UTF-8.
          if (cp >= 0xD800 && cp <= 0xDFFF) cp = replacement;
          append_utf8(buf_, cp);
          break;
        }
        default: --pos_; return fail(error::invalid_json);
      }
    }
  }

  static bool digit(char c) noexcept { return c >= '0' && c <= '9'; }

  // Python's NUMBER_RE: (-?(?:0|[1-9]\d*))(\.\d+)?([eE][-+]?\d+)?; a '.' or 'e' not followed by
  // digits ends the number (and the next token check then fails).
  bool number(json::value& out) {
    const std::size_t start = pos_;
    if (peek() == '-') {
      ++pos_;
      if (s_.substr(pos_, 8) == "Infinity") {
        pos_ += 8;
        out = -std::numeric_limits<double>::infinity();
        return true;
      }
    }
    if (at_end() || !digit(peek())) return fail(error::invalid_json);
    if (peek() == '0') {
      ++pos_;
    } else {
      while (!at_end() && digit(peek())) ++pos_;
    }
    bool is_float = false;
    if (pos_ + 1 < s_.size() && peek() == '.' && digit(s_[pos_ + 1])) {
      pos_ += 2;
      while (!at_end() && digit(peek())) ++pos_;
      is_float = true;
    }
    if (!at_end() && (peek() == 'e' || peek() == 'E')) {
      std::size_t k = pos_ + 1;
      if (k < s_.size() && (s_[k] == '+' || s_[k] == '-')) ++k;
      if (k < s_.size() && digit(s_[k])) {
        while (k < s_.size() && digit(s_[k])) ++k;
        pos_ = k;
        is_float = true;
      }
    }
    const std::string_view lit = s_.substr(start, pos_ - start);
    const char* first = lit.data();
    const char* last = lit.data() + lit.size();
    if (!is_float) {
      if (lit.size() > 100) {
        pos_ = start;
        return fail(error::integer_too_long);
      }
      std::int64_t i = 0;
      if (auto r = std::from_chars(first, last, i); r.ec == std::errc{} && r.ptr == last) {
        out = i;
        return true;
      }
      std::uint64_t u = 0;
      if (auto r = std::from_chars(first, last, u); r.ec == std::errc{} && r.ptr == last) {
        out = u;
        return true;
      }
    }
    double d = 0;
    auto r = std::from_chars(first, last, d);
    if (r.ec == std::errc::result_out_of_range) {
      d = out_of_range_value(lit);
    } else if (r.ec != std::errc{} || r.ptr != last) {
      pos_ = start;
      return fail(error::invalid_json);
    }
    out = d;
    return true;
  }

  // float() of a literal outside double's range: ±inf on overflow, ±0.0 on underflow. The
  // decimal exponent of the leading significant digit tells which.
  static double out_of_range_value(std::string_view lit) {
    const bool neg = lit.front() == '-';
    if (neg) lit.remove_prefix(1);
    const auto epos = lit.find_first_of("eE");
    const std::string_view mant = lit.substr(0, epos);
    std::int64_t exp10 = 0;
    if (epos != std::string_view::npos) {
      std::string_view e = lit.substr(epos + 1);
      const bool eneg = !e.empty() && e.front() == '-';
      if (!e.empty() && (e.front() == '-' || e.front() == '+')) e.remove_prefix(1);
      for (char c : e) exp10 = std::min<std::int64_t>(exp10 * 10 + (c - '0'), 1'000'000'000);
      if (eneg) exp10 = -exp10;
    }
    const auto dot = mant.find('.');
    const std::string_view ip = mant.substr(0, dot);
    const std::string_view fp = dot == std::string_view::npos ? std::string_view{} : mant.substr(dot + 1);
    std::int64_t lead = 0;
    if (const auto nz = ip.find_first_not_of('0'); nz != std::string_view::npos) {
      lead = static_cast<std::int64_t>(ip.size() - nz) - 1;
    } else if (const auto fz = fp.find_first_not_of('0'); fz != std::string_view::npos) {
      lead = -static_cast<std::int64_t>(fz) - 1;
    }
    const double mag = lead + exp10 > 0 ? std::numeric_limits<double>::infinity() : 0.0;
    return neg ? -mag : mag;
  }

  std::string_view s_;
  std::size_t max_depth_;
  std::size_t pos_ = 0;
  std::string buf_;
  decode_error err_;
};

// ---------------------------------------------------------------------------------------------
// JSON writing

constexpr char hex_digits[] = "0123456789abcdef";

void append_u_escape(std::string& out, char32_t unit) {
  out += "\\u";
  out += hex_digits[(unit >> 12) & 0xF];
  out += hex_digits[(unit >> 8) & 0xF];
  out += hex_digits[(unit >> 4) & 0xF];
  out += hex_digits[unit & 0xF];
}

void write_string(std::string_view s, json_style style, std::string& out) {
  out += '"';
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t run = i;
    while (i < s.size()) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c == '"' || c == '\\' || c < 0x20 || c >= 0x7F) break;
      ++i;
    }
    out.append(s.data() + run, i - run);
    if (i == s.size()) break;
    const auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"': out += "\\\""; ++i; continue;
      case '\\': out += "\\\\"; ++i; continue;
      case '\n': out += "\\n"; ++i; continue;
      case '\r': out += "\\r"; ++i; continue;
      case '\t': out += "\\t"; ++i; continue;
      case '\b': out += "\\b"; ++i; continue;
      case '\f': out += "\\f"; ++i; continue;
      default: break;
    }
    if (c < 0x20) {
      append_u_escape(out, c);
      ++i;
      continue;
    }
    if (c == 0x7F) {
      // ensure_ascii escapes everything outside ' '..'~', DEL included; orjson leaves it.
      if (style == json_style::stdlib) append_u_escape(out, c);
      else out += '\x7F';
      ++i;
      continue;
    }
    const std::size_t start = i;
    char32_t cp = 0;
    const bool valid = next_code_point(s, i, cp);
    if (!valid) cp = replacement;
    if (style == json_style::compact) {
      if (valid) out.append(s.data() + start, i - start);
      else append_utf8(out, replacement);
    } else if (cp >= 0x10000) {
      const char32_t v = cp - 0x10000;
      append_u_escape(out, 0xD800 + (v >> 10));
      append_u_escape(out, 0xDC00 + (v & 0x3FF));
    } else {
      append_u_escape(out, cp);
    }
  }
  out += '"';
}

// float.__repr__: the shortest round-trip digits, positional when the decimal point position
// is in (-4, 16], otherwise d[.ddd]e±XX.
void write_double(double d, json_style style, std::string& out) {
  if (std::isnan(d)) {
    out += style == json_style::stdlib ? "NaN" : "null";
    return;
  }
  if (std::isinf(d)) {
    if (style == json_style::compact) out += "null";
    else out += d < 0 ? "-Infinity" : "Infinity";
    return;
  }
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<std::size_t>(r.ptr - buf));
  if (sci.front() == '-') {
    out += '-';
    sci.remove_prefix(1);
  }
  const auto epos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, epos))
    if (c != '.') digits += c;
  std::string_view es = sci.substr(epos + 1);
  const bool eneg = es.front() == '-';
  es.remove_prefix(1);
  int exp = 0;
  std::from_chars(es.data(), es.data() + es.size(), exp);
  if (eneg) exp = -exp;
  const int decpt = exp + 1;
  const int nd = static_cast<int>(digits.size());
  if (decpt <= -4 || decpt > 16) {
    out += digits[0];
    if (nd > 1) {
      out += '.';
      out.append(digits, 1);
    }
    out += 'e';
    out += exp < 0 ? '-' : '+';
    const int a = exp < 0 ? -exp : exp;
    if (a < 10) out += '0';
    out += std::to_string(a);
  } else if (decpt <= 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-decpt), '0');
    out += digits;
  } else if (decpt < nd) {
    out.append(digits, 0, static_cast<std::size_t>(decpt));
    out += '.';
    out.append(digits, static_cast<std::size_t>(decpt));
  } else {
    out += digits;
    out.append(static_cast<std::size_t>(decpt - nd), '0');
    out += ".0";
  }
}

const char* item_sep(json_style s) noexcept { return s == json_style::stdlib ? ", " : ","; }
const char* key_sep(json_style s) noexcept { return s == json_style::stdlib ? ": " : ":"; }

void write_value(const json::value& v, json_style style, std::string& out);

void write_array(const json::array& a, json_style style, std::string& out) {
  out += '[';
  bool first = true;
  for (const auto& e : a) {
    if (!first) out += item_sep(style);
    first = false;
    write_value(e, style, out);
  }
  out += ']';
}

void write_value(const json::value& v, json_style style, std::string& out) {
  switch (v.kind()) {
    case json::kind::null: out += "null"; return;
    case json::kind::bool_: out += v.get_bool() ? "true" : "false"; return;
    case json::kind::int64: {
      char buf[24];
      const auto r = std::to_chars(buf, buf + sizeof buf, v.get_int64());
      out.append(buf, r.ptr);
      return;
    }
    case json::kind::uint64: {
      char buf[24];
      const auto r = std::to_chars(buf, buf + sizeof buf, v.get_uint64());
      out.append(buf, r.ptr);
      return;
    }
    case json::kind::double_: write_double(v.get_double(), style, out); return;
    case json::kind::string: write_string(v.get_string(), style, out); return;
    case json::kind::array: write_array(v.get_array(), style, out); return;
    case json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& kv : v.get_object()) {
        if (!first) out += item_sep(style);
        first = false;
        write_string(kv.key(), style, out);
        out += key_sep(style);
        write_value(kv.value(), style, out);
      }
      out += '}';
      return;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Base64 (standard alphabet, padded), as base64.b64encode writes it.

constexpr char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  const auto b = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(in[k])); };
  for (; i + 3 <= in.size(); i += 3) {
    const std::uint32_t n = (b(i) << 16) | (b(i + 1) << 8) | b(i + 2);
    out += b64_alphabet[(n >> 18) & 63];
    out += b64_alphabet[(n >> 12) & 63];
    out += b64_alphabet[(n >> 6) & 63];
    out += b64_alphabet[n & 63];
  }
  if (const std::size_t rest = in.size() - i; rest > 0) {
    const std::uint32_t n = (b(i) << 16) | (rest == 2 ? b(i + 1) << 8 : 0);
    out += b64_alphabet[(n >> 18) & 63];
    out += b64_alphabet[(n >> 12) & 63];
    out += rest == 2 ? b64_alphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

int b64_value(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Strict decoding; non-zero bits after the last full byte are ignored, as binascii does.
std::optional<std::string> base64_decode(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  std::size_t pad = 0;
  if (!in.empty() && in.back() == '=') ++pad;
  if (in.size() >= 2 && in[in.size() - 2] == '=') ++pad;
  std::string out;
  out.reserve(in.size() / 4 * 3);
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t k = 0; k < in.size() - pad; ++k) {
    const int v = b64_value(in[k]);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

bool valid_base64(std::string_view in) noexcept {
  if (in.size() % 4 != 0) return false;
  std::size_t pad = 0;
  if (!in.empty() && in.back() == '=') ++pad;
  if (in.size() >= 2 && in[in.size() - 2] == '=') ++pad;
  for (std::size_t k = 0; k < in.size() - pad; ++k)
    if (b64_value(in[k]) < 0) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Validation helpers

bool python_truthy(const json::value& v) noexcept {
  switch (v.kind()) {
    case json::kind::null: return false;
    case json::kind::bool_: return v.get_bool();
    case json::kind::int64: return v.get_int64() != 0;
    case json::kind::uint64: return v.get_uint64() != 0;
    case json::kind::double_: return v.get_double() != 0.0;  // NaN is truthy, as in Python
    case json::kind::string: return !v.get_string().empty();
    case json::kind::array: return !v.get_array().empty();
    case json::kind::object: return !v.get_object().empty();
  }
  return false;
}

std::optional<std::uint64_t> as_index(const json::value& v) noexcept {
  if (v.is_int64() && v.get_int64() >= 0) return static_cast<std::uint64_t>(v.get_int64());
  if (v.is_uint64()) return v.get_uint64();
  return std::nullopt;
}

// Where a nested value sits, e.g. data[0][2]{1} ({k}: the k-th member of an object; member names
// are payload bytes and stay out of logs). Rendered only when an error is reported.
struct path {
  const path* parent = nullptr;
  const char* root = nullptr;   ///< set on the outermost node only
  std::size_t index = 0;
  bool member = false;

  std::string render() const {
    std::string s = parent ? parent->render() : std::string(root ? root : "");
    if (parent) s += (member ? "{" : "[") + std::to_string(index) + (member ? "}" : "]");
    return s;
  }
};

// Walks a container at nesting level `depth` (1 = the message object) checking the depth limit
// and, when `attachments` is set, that every placeholder names an existing attachment.
std::optional<decode_error> check_tree(const json::value& v, std::size_t depth, const limits& lim,
                                       std::optional<std::size_t> attachments, const path& at);

std::optional<decode_error> check_array(const json::array& a, std::size_t depth, const limits& lim,
                                        std::optional<std::size_t> attachments, const path& at) {
  if (depth > lim.max_depth) return make_error(error::too_deep, at.render());
  std::size_t k = 0;
  for (const auto& e : a) {
    if (e.is_array() || e.is_object())
      if (auto err = check_tree(e, depth + 1, lim, attachments, path{&at, nullptr, k, false})) return err;
    ++k;
  }
  return std::nullopt;
}

std::optional<decode_error> check_tree(const json::value& v, std::size_t depth, const limits& lim,
                                       std::optional<std::size_t> attachments, const path& at) {
  if (v.is_array()) return check_array(v.get_array(), depth, lim, attachments, at);
  if (!v.is_object()) return std::nullopt;
  if (depth > lim.max_depth) return make_error(error::too_deep, at.render());
  if (attachments && is_placeholder(v)) {
    const auto num = as_index(v.get_object().at("num"));
    if (!num || *num >= *attachments) return make_error(error::invalid_binary, at.render() + ".num");
    return std::nullopt;
  }
  std::size_t k = 0;
  for (const auto& kv : v.get_object()) {
    const auto& e = kv.value();
    if (e.is_array() || e.is_object())
      if (auto err = check_tree(e, depth + 1, lim, attachments, path{&at, nullptr, k, true})) return err;
    ++k;
  }
  return std::nullopt;
}

std::optional<decode_error> check_name(std::string_view s, const limits& lim, const char* where) {
  if (s.size() > lim.max_name_bytes) return make_error(error::string_too_long, where);
  return std::nullopt;
}

std::optional<decode_error> check_sid(std::string_view s, const limits& lim, const char* where) {
  if (s.empty()) return make_error(error::empty_sid, where);
  return check_name(s, lim, where);
}

std::optional<decode_error> check_nsp(std::string_view s, const limits& lim, const char* where) {
  if (s.empty() || s.front() != '/') return make_error(error::invalid_namespace, where);
  return check_name(s, lim, where);
}

std::optional<decode_error> check_host(std::string_view s) {
  if (!valid_host_id(s)) return make_error(error::invalid_host_id, "host_id");
  return std::nullopt;
}

std::optional<decode_error> check_target(const target& t, bool is_room, const limits& lim, const char* where) {
  if (const auto* s = std::get_if<std::string>(&t)) return check_name(*s, lim, where);
  if (const auto* l = std::get_if<std::vector<std::string>>(&t)) {
    if (is_room && l->empty()) return make_error(error::wrong_type, where);  // Python indexes room[0]
    if (l->size() > lim.max_targets) return make_error(error::too_many_elements, where);
    for (std::size_t k = 0; k < l->size(); ++k)
      if ((*l)[k].size() > lim.max_name_bytes)
        return make_error(error::string_too_long, std::string(where) + "[" + std::to_string(k) + "]");
  }
  return std::nullopt;
}

std::optional<decode_error> check_binary_data(const json::array& data, const limits& lim) {
  if (data.empty()) return make_error(error::invalid_binary, "data");
  if (!data[0].is_array()) return make_error(error::invalid_binary, "data[0]");
  if (data[0].get_array().size() > lim.max_args) return make_error(error::too_many_elements, "data[0]");
  const std::size_t n = data.size() - 1;
  if (n > lim.max_attachments) return make_error(error::too_many_elements, "data");
  for (std::size_t k = 1; k < data.size(); ++k)
    if (!data[k].is_string() || !valid_base64(data[k].get_string()))
      return make_error(error::invalid_binary, "data[" + std::to_string(k) + "]");
  return check_tree(data[0], 3, lim, n, path{nullptr, "data[0]", 0, false});
}

struct validator {
  const limits& lim;

  std::optional<decode_error> operator()(const emit_message& m) const {
    if (auto e = check_name(m.event, lim, "event")) return e;
    if (auto e = check_nsp(m.nsp, lim, "namespace")) return e;
    if (auto e = check_target(m.room, true, lim, "room")) return e;
    if (auto e = check_target(m.skip_sid, false, lim, "skip_sid")) return e;
    if (m.callback) {
      if (auto e = check_sid(m.callback->room, lim, "callback[0]")) return e;
      if (auto e = check_nsp(m.callback->nsp, lim, "callback[1]")) return e;
    }
    if (auto e = check_host(m.host_id)) return e;
    if (m.binary) return check_binary_data(m.data, lim);
    if (m.data.size() > lim.max_args) return make_error(error::too_many_elements, "data");
    return check_array(m.data, 2, lim, std::nullopt, path{nullptr, "data", 0, false});
  }
  std::optional<decode_error> operator()(const callback_message& m) const {
    if (auto e = check_host(m.host_id)) return e;
    if (auto e = check_sid(m.sid, lim, "sid")) return e;
    if (auto e = check_nsp(m.nsp, lim, "namespace")) return e;
    if (m.args.size() > lim.max_args) return make_error(error::too_many_elements, "args");
    return check_array(m.args, 2, lim, std::nullopt, path{nullptr, "args", 0, false});
  }
  std::optional<decode_error> operator()(const disconnect_message& m) const {
    if (auto e = check_sid(m.sid, lim, "sid")) return e;
    if (auto e = check_nsp(m.nsp, lim, "namespace")) return e;
    return check_host(m.host_id);
  }
  template <class Room>
    requires std::is_same_v<Room, enter_room_message> || std::is_same_v<Room, leave_room_message>
  std::optional<decode_error> operator()(const Room& m) const {
    if (auto e = check_sid(m.sid, lim, "sid")) return e;
    if (auto e = check_name(m.room, lim, "room")) return e;
    if (auto e = check_nsp(m.nsp, lim, "namespace")) return e;
    return check_host(m.host_id);
  }
  std::optional<decode_error> operator()(const close_room_message& m) const {
    if (auto e = check_name(m.room, lim, "room")) return e;
    if (auto e = check_nsp(m.nsp, lim, "namespace")) return e;
    return check_host(m.host_id);
  }
};

// ---------------------------------------------------------------------------------------------
// Message encoding: keys in python-socketio's dict order.

class object_writer {
 public:
  object_writer(std::string& out, json_style style) : out_(out), style_(style) { out_ += '{'; }
  object_writer& key(std::string_view k) {
    if (!first_) out_ += item_sep(style_);
    first_ = false;
    write_string(k, style_, out_);
    out_ += key_sep(style_);
    return *this;
  }
  object_writer& str(std::string_view k, std::string_view v) {
    key(k);
    write_string(v, style_, out_);
    return *this;
  }
  object_writer& val(std::string_view k, const json::value& v) {
    key(k);
    write_value(v, style_, out_);
    return *this;
  }
  object_writer& raw(std::string_view k, std::string_view text) {
    key(k);
    out_ += text;
    return *this;
  }
  object_writer& target_field(std::string_view k, const target& t) {
    key(k);
    if (const auto* s = std::get_if<std::string>(&t)) {
      write_string(*s, style_, out_);
    } else if (const auto* l = std::get_if<std::vector<std::string>>(&t)) {
      out_ += '[';
      for (std::size_t i = 0; i < l->size(); ++i) {
        if (i) out_ += item_sep(style_);
        write_string((*l)[i], style_, out_);
      }
      out_ += ']';
    } else {
      out_ += "null";
    }
    return *this;
  }
  void close() { out_ += '}'; }

 private:
  std::string& out_;
  json_style style_;
  bool first_ = true;
};

struct encoder {
  std::string& out;
  json_style style;

  void operator()(const emit_message& m) const {
    object_writer w(out, style);
    w.str("method", "emit").str("event", m.event).key("data");
    write_array(m.data, style, out);
    w.raw("binary", m.binary ? "true" : "false").str("namespace", m.nsp).target_field("room", m.room);
    w.target_field("skip_sid", m.skip_sid).key("callback");
    if (m.callback) {
      out += '[';
      write_string(m.callback->room, style, out);
      out += item_sep(style);
      write_string(m.callback->nsp, style, out);
      out += item_sep(style);
      out += std::to_string(m.callback->id);
      out += ']';
    } else {
      out += "null";
    }
    w.str("host_id", m.host_id).close();
  }
  void operator()(const callback_message& m) const {
    object_writer w(out, style);
    w.str("method", "callback").str("host_id", m.host_id).str("sid", m.sid).str("namespace", m.nsp);
    w.raw("id", std::to_string(m.id)).key("args");
    write_array(m.args, style, out);
    w.close();
  }
  void operator()(const disconnect_message& m) const {
    object_writer(out, style).str("method", "disconnect").str("sid", m.sid).str("namespace", m.nsp)
        .str("host_id", m.host_id).close();
  }
  void operator()(const enter_room_message& m) const { room_change("enter_room", m.sid, m.room, m.nsp, m.host_id); }
  void operator()(const leave_room_message& m) const { room_change("leave_room", m.sid, m.room, m.nsp, m.host_id); }
  void operator()(const close_room_message& m) const {
    object_writer(out, style).str("method", "close_room").str("room", m.room).str("namespace", m.nsp)
        .str("host_id", m.host_id).close();
  }
  void room_change(std::string_view method, const std::string& sid, const std::string& room, const std::string& nsp,
                   const std::string& host) const {
    object_writer(out, style).str("method", method).str("sid", sid).str("room", room).str("namespace", nsp)
        .str("host_id", host).close();
  }
};

// ---------------------------------------------------------------------------------------------
// Message decoding: types first (here), then values (validate).

class field_reader {
 public:
  field_reader(json::object& o, const limits& lim) : o_(o), lim_(lim) {}

  std::optional<decode_error> err;

  json::value* get(std::string_view k, bool required) {
    auto* v = o_.if_contains(k);
    if (!v && required) fail(error::missing_field, std::string(k));
    return v;
  }
  bool fail(error e, std::string where) {
    if (!err) err = make_error(e, std::move(where));
    return false;
  }
  bool str(std::string_view k, std::string& out) {
    auto* v = get(k, true);
    if (!v) return false;
    if (!v->is_string()) return fail(error::wrong_type, std::string(k));
    out = v->get_string();
    return true;
  }
  bool index(json::value& v, std::uint64_t& out, std::string where) {
    if (auto i = as_index(v)) {
      out = *i;
      return true;
    }
    return fail(v.is_number() ? error::invalid_ack_id : error::wrong_type, std::move(where));
  }
  bool target_field(std::string_view k, target& out) {
    auto* v = get(k, false);
    if (!v || v->is_null()) {
      out = std::monostate{};
      return true;
    }
    if (v->is_string()) {
      out = std::string(v->get_string());
      return true;
    }
    if (!v->is_array()) return fail(error::wrong_type, std::string(k));
    const auto& a = v->get_array();
    if (a.size() > lim_.max_targets) return fail(error::too_many_elements, std::string(k));
    std::vector<std::string> list;
    list.reserve(a.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!a[i].is_string()) return fail(error::wrong_type, std::string(k) + "[" + std::to_string(i) + "]");
      list.emplace_back(a[i].get_string());
    }
    out = std::move(list);
    return true;
  }
  bool args(std::string_view k, json::array& out) {
    auto* v = get(k, true);
    if (!v) return false;
    if (!v->is_array()) return fail(error::wrong_type, std::string(k));
    out = std::move(v->get_array());
    return true;
  }

 private:
  json::object& o_;
  const limits& lim_;
};

std::optional<decode_error> read_emit(field_reader& r, emit_message& m) {
  r.str("event", m.event);
  if (auto* b = r.get("binary", false); b && !b->is_null()) {
    if (!b->is_bool()) r.fail(error::wrong_type, "binary");
    else m.binary = b->get_bool();
  }
  if (auto* d = r.get("data", true)) {
    if (m.binary) {
      if (!d->is_array() || d->get_array().empty()) {
        r.fail(error::invalid_binary, "data");
      } else {
        m.data = std::move(d->get_array());
        // Senders before python-socketio 5.15.1 put the bare value first: one argument.
        if (!m.data[0].is_array()) {
          json::array one;
          one.emplace_back(std::move(m.data[0]));
          m.data[0] = std::move(one);
        }
      }
    } else if (d->is_array()) {
      m.data = std::move(d->get_array());
    } else {
      m.data.emplace_back(std::move(*d));
    }
  }
  r.str("namespace", m.nsp);
  r.target_field("room", m.room);
  r.target_field("skip_sid", m.skip_sid);
  if (auto* c = r.get("callback", false); c && !c->is_null()) {
    // Python ignores a callback that is not a 3-element list; untrusted input is rejected here.
    if (!c->is_array() || c->get_array().size() != 3 || !c->get_array()[0].is_string() ||
        !c->get_array()[1].is_string()) {
      r.fail(error::wrong_type, "callback");
    } else {
      auto& a = c->get_array();
      ack_ref ack;
      ack.room = a[0].get_string();
      ack.nsp = a[1].get_string();
      if (r.index(a[2], ack.id, "callback[2]")) m.callback = std::move(ack);
    }
  }
  r.str("host_id", m.host_id);
  return r.err;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public API

const boost::system::error_category& protocol_category() noexcept {
  static const category instance;
  return instance;
}

std::variant<json::value, decode_error> load_json(std::string_view text, const limits& lim) {
  if (text.size() > lim.max_message_bytes) return make_error(error::too_large, "payload");
  json::value v;
  py_json_parser p(text, lim.max_depth);
  if (auto err = p.run(v)) return std::move(*err);
  return v;
}

void dump_json(const json::value& v, json_style style, std::string& out) { write_value(v, style, out); }

std::string dump_json(const json::value& v, json_style style) {
  std::string out;
  write_value(v, style, out);
  return out;
}

std::string_view method_name(const message& m) noexcept {
  static constexpr std::string_view names[] = {"emit", "callback", "disconnect", "enter_room", "leave_room", "close_room"};
  return m.valueless_by_exception() ? std::string_view{} : names[m.index()];
}

const std::string& host_id_of(const message& m) noexcept {
  static const std::string none;
  if (m.valueless_by_exception()) return none;
  return std::visit([](const auto& x) -> const std::string& { return x.host_id; }, m);
}

std::string& host_id_of(message& m) noexcept {
  if (m.valueless_by_exception()) m = close_room_message{};
  return std::visit([](auto& x) -> std::string& { return x.host_id; }, m);
}

std::optional<decode_error> validate(const message& m, const limits& lim) {
  return std::visit(validator{lim}, m);
}

std::string encode(const message& m, json_style style) {
  std::string out;
  std::visit(encoder{out, style}, m);
  return out;
}

std::variant<message, decode_error> decode(std::string_view payload, const limits& lim) {
  auto parsed = load_json(payload, lim);
  if (auto* e = std::get_if<decode_error>(&parsed)) return std::move(*e);
  auto& root = std::get<json::value>(parsed);
  if (!root.is_object()) return make_error(error::not_an_object, "payload");
  auto& obj = root.get_object();
  field_reader r(obj, lim);
  std::string method;
  if (!r.str("method", method)) return std::move(*r.err);

  message out;
  if (method == "emit") {
    emit_message m;
    read_emit(r, m);
    out = std::move(m);
  } else if (method == "callback") {
    callback_message m;
    r.str("host_id", m.host_id);
    r.str("sid", m.sid);
    r.str("namespace", m.nsp);
    if (auto* id = r.get("id", true)) r.index(*id, m.id, "id");
    r.args("args", m.args);
    out = std::move(m);
  } else if (method == "disconnect") {
    disconnect_message m;
    r.str("sid", m.sid);
    r.str("namespace", m.nsp);
    r.str("host_id", m.host_id);
    out = std::move(m);
  } else if (method == "enter_room" || method == "leave_room") {
    enter_room_message m;
    r.str("sid", m.sid);
    r.str("room", m.room);
    r.str("namespace", m.nsp);
    r.str("host_id", m.host_id);
    if (method == "enter_room") out = std::move(m);
    else out = leave_room_message{std::move(m.sid), std::move(m.room), std::move(m.nsp), std::move(m.host_id)};
  } else if (method == "close_room") {
    close_room_message m;
    r.str("room", m.room);
    r.str("namespace", m.nsp);
    r.str("host_id", m.host_id);
    out = std::move(m);
  } else {
    return make_error(error::unknown_method, "method");
  }
  if (r.err) return std::move(*r.err);
  if (auto err = validate(out, lim)) return std::move(*err);
  return out;
}

json::value make_placeholder(std::size_t num) {
  json::object o;
  o["_placeholder"] = true;
  o["num"] = static_cast<std::uint64_t>(num);
  return o;
}

json::value add_attachment(event_args& ea, std::string bytes) {
  ea.attachments.push_back(std::move(bytes));
  return make_placeholder(ea.attachments.size() - 1);
}

bool is_placeholder(const json::value& v) noexcept {
  const auto* o = v.if_object();
  if (!o) return false;
  const auto* p = o->if_contains("_placeholder");
  return p && python_truthy(*p) && o->contains("num");
}

std::pair<json::array, bool> to_wire(const event_args& ea) {
  if (ea.attachments.empty()) return {ea.args, false};
  json::array data;
  data.reserve(ea.attachments.size() + 1);
  data.emplace_back(ea.args);
  for (const auto& a : ea.attachments) data.emplace_back(base64_encode(a));
  return {std::move(data), true};
}

void set_args(emit_message& m, const event_args& ea) {
  auto [data, binary] = to_wire(ea);
  m.data = std::move(data);
  m.binary = binary;
}

boost::system::result<event_args> from_wire(const json::array& data, bool binary, const limits& lim) {
  event_args ea;
  if (!binary) {
    ea.args = data;
    return ea;
  }
  if (auto err = check_binary_data(data, lim)) return err->code;
  ea.args = data[0].get_array();
  ea.attachments.reserve(data.size() - 1);
  for (std::size_t k = 1; k < data.size(); ++k) {
    auto bytes = base64_decode(data[k].get_string());
    if (!bytes) return make_error_code(error::invalid_binary);
    ea.attachments.push_back(std::move(*bytes));
  }
  return ea;
}

boost::system::result<event_args> get_args(const emit_message& m, const limits& lim) {
  return from_wire(m.data, m.binary, lim);
}

std::string make_host_id() {
  std::array<unsigned char, 16> b{};
  if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1) throw std::runtime_error("RAND_bytes failed");
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);
  std::string out;
  out.reserve(32);
  for (unsigned char c : b) {
    out += hex_digits[c >> 4];
    out += hex_digits[c & 0xF];
  }
  return out;
}

bool valid_host_id(std::string_view s) noexcept {
  if (s.size() != 32) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

bool should_process(const message& m, std::string_view own_host_id) noexcept {
  const bool own = host_id_of(m) == own_host_id;
  return std::holds_alternative<callback_message>(m) ? own : !own;
}

}  // namespace owcore::realtime::adapter::socketio_pubsub
