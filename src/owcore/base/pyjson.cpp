#include "owcore/base/pyjson.hpp"

#include "owcore/base/utf8.hpp"

#include <charconv>
#include <cmath>
#include <limits>
#include <optional>

namespace owcore::base::pyjson {

namespace json = boost::json;

namespace {

// ---------------------------------------------------------------------------------------------
// JSON reading, with Python's json.loads grammar (scanner.py / decoder.py, strict=True).

class parser {
 public:
  parser(std::string_view text, std::size_t max_depth) : s_(text), max_depth_(max_depth) {}

  std::optional<load_failure> run(json::value& out) {
    if (s_.starts_with("\xEF\xBB\xBF")) pos_ = 3;
    skip_ws();
    if (!value(out, 0)) return err_;
    skip_ws();
    if (pos_ != s_.size()) {
      fail(load_error::invalid_json);
      return err_;
    }
    return std::nullopt;
  }

 private:
  bool fail(load_error e) {
    err_ = load_failure{e, pos_};
    return false;
  }
  bool at_end() const noexcept { return pos_ >= s_.size(); }
  char peek() const noexcept { return s_[pos_]; }
  void skip_ws() noexcept {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r'))
      ++pos_;
  }
  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return fail(load_error::invalid_json);
    pos_ += word.size();
    return true;
  }

  bool value(json::value& out, std::size_t depth) {
    if (at_end()) return fail(load_error::invalid_json);
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
    if (depth > max_depth_) return fail(load_error::too_deep);
    auto& obj = out.emplace_object();
    ++pos_;
    skip_ws();
    if (!at_end() && peek() == '}') {
      ++pos_;
      return true;
    }
    json::string key;
    for (;;) {
      if (at_end() || peek() != '"') return fail(load_error::invalid_json);
      key.clear();
      if (!string(key)) return false;
      skip_ws();
      if (at_end() || peek() != ':') return fail(load_error::invalid_json);
      ++pos_;
      skip_ws();
      json::value v;
      if (!value(v, depth)) return false;
      // dict(pairs): a repeated key keeps its first position and takes the last value.
      obj.insert_or_assign(key, std::move(v));
      skip_ws();
      if (at_end()) return fail(load_error::invalid_json);
      if (peek() == '}') {
        ++pos_;
        return true;
      }
      if (peek() != ',') return fail(load_error::invalid_json);
      ++pos_;
      skip_ws();
    }
  }

  bool array(json::value& out, std::size_t depth) {
    if (depth > max_depth_) return fail(load_error::too_deep);
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
      if (at_end()) return fail(load_error::invalid_json);
      if (peek() == ']') {
        ++pos_;
        return true;
      }
      if (peek() != ',') return fail(load_error::invalid_json);
      ++pos_;
      skip_ws();
    }
  }

  bool hex4(char32_t& v) {
    if (s_.size() - pos_ < 4) return fail(load_error::invalid_json);
    v = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<char32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<char32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<char32_t>(c - 'A' + 10);
      else return fail(load_error::invalid_json);
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
      if (at_end()) return fail(load_error::invalid_json);
      const auto c = static_cast<unsigned char>(peek());
      if (c == '"') {
        ++pos_;
        out.assign(buf_);
        return true;
      }
      if (c < 0x20)
        return fail(load_error::invalid_json);  // strict=True: no raw control characters
      if (c >= 0x80) {
        const std::size_t start = pos_;
        char32_t cp = 0;
        if (!decode_utf8(s_, pos_, cp)) {
          pos_ = start;
          return fail(load_error::invalid_json);
        }
        buf_.append(s_.data() + start, pos_ - start);
        continue;
      }
      ++pos_;  // backslash
      if (at_end()) return fail(load_error::invalid_json);
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
          if (cp >= 0xD800 && cp <= 0xDFFF) cp = replacement_character;
          append_utf8(buf_, cp);
          break;
        }
        default: --pos_; return fail(load_error::invalid_json);
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
    if (at_end() || !digit(peek())) return fail(load_error::invalid_json);
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
        return fail(load_error::integer_too_long);
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
      return fail(load_error::invalid_json);
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
    const std::string_view fp =
        dot == std::string_view::npos ? std::string_view{} : mant.substr(dot + 1);
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
  load_failure err_;
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

void write_string(std::string_view s, style st, std::string& out) {
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
      case '"':
        out += "\\\"";
        ++i;
        continue;
      case '\\':
        out += "\\\\";
        ++i;
        continue;
      case '\n':
        out += "\\n";
        ++i;
        continue;
      case '\r':
        out += "\\r";
        ++i;
        continue;
      case '\t':
        out += "\\t";
        ++i;
        continue;
      case '\b':
        out += "\\b";
        ++i;
        continue;
      case '\f':
        out += "\\f";
        ++i;
        continue;
      default: break;
    }
    if (c < 0x20) {
      append_u_escape(out, c);
      ++i;
      continue;
    }
    if (c == 0x7F) {
      // ensure_ascii escapes everything outside ' '..'~', DEL included; orjson leaves it.
      if (st == style::stdlib) append_u_escape(out, c);
      else out += '\x7F';
      ++i;
      continue;
    }
    const std::size_t start = i;
    char32_t cp = 0;
    const bool valid = decode_utf8(s, i, cp);
    if (!valid) cp = replacement_character;
    if (st == style::compact) {
      if (valid) out.append(s.data() + start, i - start);
      else append_utf8(out, replacement_character);
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
void write_double(double d, style st, std::string& out) {
  if (std::isnan(d)) {
    out += st == style::stdlib ? "NaN" : "null";
    return;
  }
  if (std::isinf(d)) {
    if (st == style::compact) out += "null";
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

void write_value(const json::value& v, style st, std::string& out);

void write_array(const json::array& a, style st, std::string& out) {
  out += '[';
  bool first = true;
  for (const auto& e : a) {
    if (!first) out += item_separator(st);
    first = false;
    write_value(e, st, out);
  }
  out += ']';
}

void write_value(const json::value& v, style st, std::string& out) {
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
    case json::kind::double_: write_double(v.get_double(), st, out); return;
    case json::kind::string: write_string(v.get_string(), st, out); return;
    case json::kind::array: write_array(v.get_array(), st, out); return;
    case json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& kv : v.get_object()) {
        if (!first) out += item_separator(st);
        first = false;
        write_string(kv.key(), st, out);
        out += key_separator(st);
        write_value(kv.value(), st, out);
      }
      out += '}';
      return;
    }
  }
}

}  // namespace

std::variant<json::value, load_failure> load(std::string_view text, std::size_t max_depth) {
  json::value v;
  parser p(text, max_depth);
  if (auto err = p.run(v)) return *err;
  return v;
}

void dump(const json::value& v, style s, std::string& out) { write_value(v, s, out); }

void dump(const json::array& a, style s, std::string& out) { write_array(a, s, out); }

void dump_string(std::string_view text, style s, std::string& out) { write_string(text, s, out); }

std::string_view item_separator(style s) noexcept { return s == style::stdlib ? ", " : ","; }

std::string_view key_separator(style s) noexcept { return s == style::stdlib ? ": " : ":"; }

std::string dump(const json::value& v, style s) {
  std::string out;
  write_value(v, s, out);
  return out;
}

void null_non_finite(json::value& v) {
  switch (v.kind()) {
    case json::kind::double_:
      if (!std::isfinite(v.get_double())) v = nullptr;
      break;
    case json::kind::array:
      for (auto& e : v.get_array()) null_non_finite(e);
      break;
    case json::kind::object:
      for (auto& m : v.get_object()) null_non_finite(m.value());
      break;
    default: break;
  }
}

}  // namespace owcore::base::pyjson
