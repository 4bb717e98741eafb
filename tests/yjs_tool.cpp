// owcore_yjs_tool: drives the yjs codec for the JavaScript property tests (tests/js/).
// One request per stdin line, one answer per stdout line, so one Node process can run thousands
// of cases through one long-lived process:
//   request:  <op> [<update> ...]    each update is base64, or "-" for an empty byte string
//   ops:      merge (level A), squash (A+B), strip (A+C), compact (A+B+C),
//             decode (validate one update), roundtrip (decode then encode one update)
//   answer:   "ok <base64>" (decode answers "ok -"), or "err <message>"
#include "owcore/yjs/merge.hpp"
#include "owcore/yjs/update.hpp"

#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace yjs = owcore::yjs;

namespace {

constexpr char b64_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string to_base64(yjs::byte_view in) {
  if (in.empty()) return "-";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const unsigned v = (unsigned{in[i]} << 16) | (unsigned{in[i + 1]} << 8) | in[i + 2];
    out += b64_chars[(v >> 18) & 63];
    out += b64_chars[(v >> 12) & 63];
    out += b64_chars[(v >> 6) & 63];
    out += b64_chars[v & 63];
  }
  if (in.size() - i == 1) {
    const unsigned v = unsigned{in[i]} << 16;
    out += b64_chars[(v >> 18) & 63];
    out += b64_chars[(v >> 12) & 63];
    out += "==";
  } else if (in.size() - i == 2) {
    const unsigned v = (unsigned{in[i]} << 16) | (unsigned{in[i + 1]} << 8);
    out += b64_chars[(v >> 18) & 63];
    out += b64_chars[(v >> 12) & 63];
    out += b64_chars[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::optional<yjs::byte_buffer> from_base64(const std::string& s) {
  yjs::byte_buffer out;
  if (s == "-") return out;
  unsigned acc = 0;
  int bits = 0;
  for (char c : s) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+') v = 62;
    else if (c == '/') v = 63;
    else if (c == '=') break;
    else return std::nullopt;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>((acc >> bits) & 0xff));
    }
  }
  return out;
}

std::string answer(const std::string& line) {
  std::istringstream in(line);
  std::string op, tok;
  in >> op;
  std::vector<yjs::byte_buffer> updates;
  while (in >> tok) {
    auto b = from_base64(tok);
    if (!b) return "err bad base64";
    updates.push_back(std::move(*b));
  }
  std::vector<yjs::byte_view> views(updates.begin(), updates.end());
  if (op == "decode" || op == "roundtrip") {
    if (views.size() != 1) return "err expected one update";
    auto u = yjs::decode_update(views[0]);
    if (!u) return "err " + u.error().message();
    return op == "decode" ? std::string("ok -") : "ok " + to_base64(yjs::encode_update(*u));
  }
  yjs::merge_options opts;
  if (op == "squash" || op == "compact") opts.squash = true;
  if (op == "strip" || op == "compact") opts.strip_deleted = true;
  if (op != "merge" && op != "squash" && op != "strip" && op != "compact") return "err unknown op";
  auto merged = yjs::merge_updates(views, opts);
  if (!merged) return "err " + merged.error().message();
  return "ok " + to_base64(*merged);
}

}  // namespace

int main() {
  std::ios::sync_with_stdio(false);
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    std::cout << answer(line) << '\n' << std::flush;
  }
  return 0;
}
