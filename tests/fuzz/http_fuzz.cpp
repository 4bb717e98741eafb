// libFuzzer target for HTTP request heads as a client sends them (tests/fuzz/run_fuzz http):
// the bytes go through Beast's request parser with owcore's limits (16 KiB of header, 1 MiB of
// body, as http::server_options), then through what owcore reads of a request before any
// handler: the Engine.IO query parameters (EIO, transport, sid), the Origin check, and the
// percent-decoding of query values. Properties: the parser never accepts a header block above
// the limit; an accepted Engine.IO request has a transport, and a `sid` only when non-empty; a
// query value decodes to bytes that re-encode and decode to the same value.
//
// fuzz-sources: src/owcore/realtime/engineio/handshake.cpp src/owcore/realtime/engineio/error.cpp
// fuzz-sources: src/owcore/realtime/engineio/websocket.cpp
// fuzz-libs: -lboost_json -lcrypto
#include "owcore/realtime/engineio/handshake.hpp"

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace bhttp = boost::beast::http;
namespace eio = owcore::realtime::engineio;

namespace {

constexpr std::size_t header_limit = 16 * 1024;

[[noreturn]] void broken(const char* what) {
  __builtin_printf("property broken: %s\n", what);
  std::abort();
}

std::string percent_encode(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

void request(std::string_view target, std::string_view origin) {
  if (auto p = eio::parse_request(target)) {
    if (p->sid && p->sid->empty()) broken("an empty sid accepted");
  }
  for (const auto* name : {"EIO", "transport", "sid", "t"}) {
    auto v = eio::query_param(target, name);
    if (!v) continue;
    auto again = eio::query_param("/?" + std::string(name) + "=" + percent_encode(*v), name);
    if (!again || *again != *v) broken("a query value does not survive encode/decode");
  }
  const std::vector<std::string> allowed{"https://chat.example.org", "http://localhost:8080/"};
  if (eio::origin_allowed(origin, allowed) && origin.size() > 64) broken("an over-long origin allowed");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(header_limit));
  parser.body_limit(1'000'000);
  parser.eager(true);
  boost::beast::error_code ec;
  const std::size_t used = parser.put(boost::asio::buffer(data, size), ec);
  if (ec || !parser.is_header_done()) return 0;
  if (used > header_limit + 1'000'000) broken("more consumed than the limits allow");
  const auto& req = parser.get();
  const auto origin = req[bhttp::field::origin];
  request(std::string_view(req.target().data(), req.target().size()), std::string_view(origin.data(), origin.size()));
  return 0;
}
