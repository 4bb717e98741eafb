#pragma once
// How Python reads the text of an environment variable: str.strip(), int(), float() and env.py's
// boolean convention. The settings loader (settings.cpp) uses these so that owcore accepts and
// refuses exactly the values Open WebUI does (docs/wire.md, "Environment variables").
// Pure functions; thread-safe.

#include <string>
#include <string_view>

namespace owcore::app {

/// `s` without the ASCII whitespace Python's str.strip() removes (" \t\n\r\f\v").
std::string_view strip(std::string_view s);

/// env.py's boolean convention: `value.lower() == "true"`, nothing else is true.
bool python_true(std::string_view s);

/// `s` between single quotes, as the settings issues quote values.
std::string quoted(std::string_view s);

/// The shortest decimal text that reads back as `v` (std::to_chars).
std::string format_number(double v);

/// Why a text is or is not a usable number.
enum class number_status { ok, invalid, out_of_range, not_finite };

/// A parsed number and its status; `value` is meaningful only when status is ok.
template <class T>
struct parsed_number {
  number_status status = number_status::invalid;
  T value{};
};

/// What Python's int(text) accepts: surrounding whitespace, a sign, decimal digits with single
/// underscores between them. Python ints are unbounded; values beyond long long are out_of_range.
parsed_number<long long> parse_python_int(std::string_view text);

/// What Python's float(text) accepts. Non-finite results (inf, nan, overflow), which Python
/// accepts, are reported as not_finite: no owcore setting can use them. Underflow reads as 0.0.
parsed_number<double> parse_python_float(std::string_view text);

/// The phrase a settings issue uses for `st` ("is out of range", "is not <what>", ...).
std::string describe(number_status st, std::string_view what);

}  // namespace owcore::app
