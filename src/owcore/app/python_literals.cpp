#include "owcore/app/python_literals.hpp"

#include "owcore/base/ascii.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <system_error>

namespace owcore::app {
namespace {

using base::ascii_lower;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Python's `digitpart`: digits, optionally separated by single underscores ("1_000").
bool take_digitpart(std::string_view& s, std::string& out) {
  if (s.empty() || !is_digit(s.front())) return false;
  std::size_t i = 0;
  while (i < s.size()) {
    if (is_digit(s[i])) {
      out += s[i++];
    } else if (s[i] == '_' && i + 1 < s.size() && is_digit(s[i + 1])) {
      ++i;
    } else {
      break;
    }
  }
  s.remove_prefix(i);
  return true;
}

}  // namespace

// The characters Python's str.strip() and int()/float() ignore around a value (ASCII subset).
constexpr std::string_view whitespace = " \t\n\r\f\v";

std::string_view strip(std::string_view s) {
  const auto first = s.find_first_not_of(whitespace);
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(whitespace);
  return s.substr(first, last - first + 1);
}

// env.py's boolean convention: `value.lower() == "true"`, nothing else.
bool python_true(std::string_view s) { return ascii_lower(s) == "true"; }

std::string quoted(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '\'';
  out += s;
  out += '\'';
  return out;
}

std::string format_number(double v) {
  std::array<char, 64> buf{};
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  return std::string(buf.data(), r.ptr);
}

// What Python's int(text) accepts: surrounding whitespace, a sign, decimal digits with
// single underscores between them. Python ints are unbounded; ours report out_of_range.
parsed_number<long long> parse_python_int(std::string_view text) {
  std::string_view s = strip(text);
  std::string digits;
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    if (s.front() == '-') digits += '-';
    s.remove_prefix(1);
  }
  if (!take_digitpart(s, digits) || !s.empty()) return {};
  long long v = 0;
  const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (r.ec == std::errc::result_out_of_range) return {number_status::out_of_range, 0};
  if (r.ec != std::errc{} || r.ptr != digits.data() + digits.size()) return {};
  return {number_status::ok, v};
}

// What Python's float(text) accepts: whitespace, a sign, then inf/infinity/nan in any case, or
// a decimal literal with optional fraction and exponent (underscores as in int()). Non-finite
// results, which Python accepts, are reported as not_finite: no owcore setting can use them.
parsed_number<double> parse_python_float(std::string_view text) {
  std::string_view s = strip(text);
  std::string cleaned;
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    if (s.front() == '-') cleaned += '-';
    s.remove_prefix(1);
  }
  const std::string word = ascii_lower(s);
  if (word == "inf" || word == "infinity" || word == "nan") return {number_status::not_finite, 0};
  const bool int_part = take_digitpart(s, cleaned);
  bool frac_part = false;
  if (!s.empty() && s.front() == '.') {
    cleaned += '.';
    s.remove_prefix(1);
    frac_part = take_digitpart(s, cleaned);
  }
  if (!int_part && !frac_part) return {};
  bool negative_exponent = false;
  if (!s.empty() && (s.front() == 'e' || s.front() == 'E')) {
    cleaned += 'e';
    s.remove_prefix(1);
    if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
      negative_exponent = s.front() == '-';
      cleaned += s.front();
      s.remove_prefix(1);
    }
    if (!take_digitpart(s, cleaned)) return {};
  }
  if (!s.empty()) return {};
  double v = 0;
  const auto r = std::from_chars(cleaned.data(), cleaned.data() + cleaned.size(), v);
  if (r.ec == std::errc::result_out_of_range) {
    // Python rounds underflow to 0.0 and overflow to inf.
    if (negative_exponent) return {number_status::ok, 0.0};
    return {number_status::not_finite, 0};
  }
  if (r.ec != std::errc{} || r.ptr != cleaned.data() + cleaned.size()) return {};
  if (!std::isfinite(v)) return {number_status::not_finite, 0};
  return {number_status::ok, v};
}

std::string describe(number_status st, std::string_view what) {
  switch (st) {
    case number_status::out_of_range: return "is out of range";
    case number_status::not_finite: return "is not a finite number";
    default: return std::string("is not ") + std::string(what);
  }
}

}  // namespace owcore::app
