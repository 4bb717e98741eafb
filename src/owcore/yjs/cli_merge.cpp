#include "owcore/yjs/cli_merge.hpp"

#include "owcore/yjs/merge.hpp"

#include <istream>
#include <ostream>
#include <string>
#include <vector>

namespace owcore::yjs {
namespace {

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

}  // namespace

std::optional<byte_buffer> parse_byte_array(std::string_view s, const char*& reason) {
  std::size_t i = 0;
  const auto skip_ws = [&] {
    while (i < s.size() && is_ws(s[i])) ++i;
  };
  skip_ws();
  if (i >= s.size() || s[i] != '[') {
    reason = "expected '[' (a JSON array of byte values)";
    return std::nullopt;
  }
  ++i;
  byte_buffer out;
  out.reserve(s.size() / 3);
  skip_ws();
  if (i < s.size() && s[i] == ']') {
    ++i;
  } else {
    for (;;) {
      skip_ws();
      if (i >= s.size() || s[i] < '0' || s[i] > '9') {
        reason = "expected a byte value (an integer 0..255)";
        return std::nullopt;
      }
      unsigned v = 0;
      const std::size_t start = i;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9' && v <= 255) v = v * 10 + static_cast<unsigned>(s[i++] - '0');
      if (v > 255 || (s[start] == '0' && i - start > 1)) {
        reason = "byte value out of range 0..255 (or with a leading zero)";
        return std::nullopt;
      }
      out.push_back(static_cast<std::uint8_t>(v));
      skip_ws();
      if (i < s.size() && s[i] == ',') {
        ++i;
        continue;
      }
      if (i < s.size() && s[i] == ']') {
        ++i;
        break;
      }
      reason = "expected ',' or ']'";
      return std::nullopt;
    }
  }
  skip_ws();
  if (i != s.size()) {
    reason = "unexpected text after ']'";
    return std::nullopt;
  }
  return out;
}

void format_byte_array(std::ostream& out, byte_view bytes) {
  std::string s;
  s.reserve(bytes.size() * 5 + 2);
  s += '[';
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(bytes[i]);
  }
  s += ']';
  out << s;
}

int run_ydoc_merge(std::istream& in, std::ostream& out, std::ostream& err, bool compact) {
  merge_options options;
  options.squash = compact;
  options.strip_deleted = compact;
  const std::size_t max_line = options.limits.max_update_size * 5 + 64;

  std::vector<byte_buffer> updates;
  std::vector<std::size_t> line_of;  // line number of each update, for error messages
  std::string line;
  std::size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.size() > max_line) {
      err << "line " << line_no << ": line longer than " << max_line << " bytes\n";
      return 1;
    }
    bool blank = true;
    for (char c : line) blank = blank && is_ws(c);
    if (blank) continue;
    const char* reason = "";
    auto bytes = parse_byte_array(line, reason);
    if (!bytes) {
      err << "line " << line_no << ": " << reason << '\n';
      return 1;
    }
    updates.push_back(std::move(*bytes));
    line_of.push_back(line_no);
  }
  if (in.bad()) {
    err << "error reading input\n";
    return 1;
  }
  std::vector<byte_view> views(updates.begin(), updates.end());
  auto merged = merge_updates(views, options);
  if (!merged) {
    const decode_error& e = merged.error();
    err << "line " << line_of[e.input] << ": invalid update: byte " << e.offset << ": "
        << make_error_code(e.code).message();
    if (*e.context != '\0') err << " (" << e.context << ')';
    err << '\n';
    return 1;
  }
  format_byte_array(out, *merged);
  out << '\n';
  return out.good() ? 0 : 1;
}

}  // namespace owcore::yjs
