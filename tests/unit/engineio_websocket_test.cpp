// The sans-io WebSocket codec of the Engine.IO server (RFC 6455, server side).
#include "owcore/realtime/engineio/websocket.hpp"

#include <gtest/gtest.h>

#include <string>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace engineio_websocket_test {

using namespace owcore::realtime::engineio::ws;

namespace {

// A client frame as a browser sends it: masked with `key`, FIN as given, 7/16/64-bit length.
std::string client_frame(unsigned op, std::string_view payload, bool fin = true,
                         std::string_view key = "\x11\x22\x33\x44", unsigned rsv = 0) {
  std::string f;
  f += static_cast<char>((fin ? 0x80 : 0) | rsv | op);
  const auto n = payload.size();
  if (n < 126) {
    f += static_cast<char>(0x80 | n);
  } else if (n <= 0xFFFF) {
    f += static_cast<char>(0x80 | 126);
    f += static_cast<char>(n >> 8);
    f += static_cast<char>(n & 0xFF);
  } else {
    f += static_cast<char>(0x80 | 127);
    for (int i = 7; i >= 0; --i) f += static_cast<char>((static_cast<std::uint64_t>(n) >> (8 * i)) & 0xFF);
  }
  f += key;
  for (std::size_t i = 0; i < n; ++i) f += static_cast<char>(payload[i] ^ key[i % 4]);
  return f;
}

std::string unmasked_frame(unsigned op, std::string_view payload) {
  std::string f;
  f += static_cast<char>(0x80 | op);
  f += static_cast<char>(payload.size());
  f += payload;
  return f;
}

// Parses everything in `in`, returning the events (stops at a failure, recorded in `fail`).
std::vector<event> parse_all(frame_parser& p, std::string_view in, std::optional<close_code>* fail = nullptr) {
  std::vector<event> out;
  while (!in.empty()) {
    auto st = p.parse(in);
    if (st.fail) {
      if (fail) *fail = st.fail;
      return out;
    }
    if (st.consumed == 0) break;
    in.remove_prefix(st.consumed);
    if (st.ev) out.push_back(std::move(*st.ev));
  }
  return out;
}

close_code failure_of(std::string_view in, std::size_t max = 1000) {
  frame_parser p(max);
  std::optional<close_code> fail;
  parse_all(p, in, &fail);
  EXPECT_TRUE(fail.has_value());
  return fail.value_or(close_code::normal);
}

}  // namespace

TEST(WebSocketHandshake, AcceptKeyMatchesTheRfcExample) {
  EXPECT_EQ(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WebSocketHandshake, MalformedKeysAreRefused) {
  EXPECT_FALSE(accept_key(""));
  EXPECT_FALSE(accept_key("dGhlIHNhbXBsZSBub25jZQ"));      // no padding
  EXPECT_FALSE(accept_key("dGhlIHNhbXBsZSBub25jZQ=x"));    // bad padding
  EXPECT_FALSE(accept_key("dGhlIHNhbXBsZSBub25j*Q=="));    // not base64
  EXPECT_FALSE(accept_key("dGhlIHNhbXBsZSBub25jZQ==AAAA"));  // longer than 16 bytes
}

TEST(WebSocketHandshake, TokensAreFoundCaseInsensitivelyInLists) {
  EXPECT_TRUE(has_token("Upgrade", "upgrade"));
  EXPECT_TRUE(has_token("keep-alive, Upgrade", "upgrade"));
  EXPECT_TRUE(has_token(" websocket ", "websocket"));
  EXPECT_FALSE(has_token("keep-alive", "upgrade"));
  EXPECT_FALSE(has_token("upgraded", "upgrade"));
  EXPECT_FALSE(has_token("", "upgrade"));
  const auto r = switching_protocols("abc=");
  EXPECT_EQ(r.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0), 0u);
  EXPECT_NE(r.find("Sec-WebSocket-Accept: abc=\r\n"), std::string::npos);
  EXPECT_EQ(r.substr(r.size() - 4), "\r\n\r\n");
}

TEST(WebSocketUtf8, AcceptsValidAndRefusesMalformedSequences) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("plain ascii text, longer than eight bytes"));
  EXPECT_TRUE(valid_utf8("\xC3\xA9t\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));  // été € 😀
  EXPECT_TRUE(valid_utf8("\xF4\x8F\xBF\xBF"));                                   // U+10FFFF
  EXPECT_FALSE(valid_utf8("\x80"));                  // lone continuation
  EXPECT_FALSE(valid_utf8("\xC0\xAF"));              // overlong '/'
  EXPECT_FALSE(valid_utf8("\xE0\x80\xAF"));          // overlong, 3 bytes
  EXPECT_FALSE(valid_utf8("\xED\xA0\x80"));          // surrogate U+D800
  EXPECT_FALSE(valid_utf8("\xF4\x90\x80\x80"));      // past U+10FFFF
  EXPECT_FALSE(valid_utf8("\xC3"));                  // truncated
  EXPECT_FALSE(valid_utf8("abcdefgh\xE2\x82"));      // truncated after the fast path
}

TEST(WebSocketParser, ParsesMaskedTextAndBinaryMessages) {
  frame_parser p(1000);
  const auto in = client_frame(1, "40") + client_frame(2, std::string("\x00\x01\xFF", 3));
  auto evs = parse_all(p, in);
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0].what, event::kind::message);
  EXPECT_FALSE(evs[0].binary);
  EXPECT_EQ(evs[0].data, "40");
  EXPECT_TRUE(evs[1].binary);
  EXPECT_EQ(evs[1].data, std::string("\x00\x01\xFF", 3));
}

TEST(WebSocketParser, AnIncompleteFrameConsumesNothingUntilItIsWhole) {
  const auto f = client_frame(1, std::string(300, 'x'));  // 16-bit length
  frame_parser p(1000);
  for (std::size_t cut = 0; cut < f.size(); ++cut) {
    auto st = p.parse(std::string_view(f).substr(0, cut));
    EXPECT_EQ(st.consumed, 0u) << cut;
    EXPECT_FALSE(st.ev || st.fail) << cut;
  }
  auto st = p.parse(f);
  EXPECT_EQ(st.consumed, f.size());
  ASSERT_TRUE(st.ev);
  EXPECT_EQ(st.ev->data, std::string(300, 'x'));
}

TEST(WebSocketParser, LargeMessagesUseTheSixtyFourBitLength) {
  frame_parser p(100'000);
  const std::string body(70'000, 'y');
  auto evs = parse_all(p, client_frame(1, body));
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].data, body);
}

TEST(WebSocketParser, ReassemblesFragmentsWithControlFramesBetween) {
  frame_parser p(1000);
  const auto in = client_frame(1, "he", false) + client_frame(9, "ping!") + client_frame(0, "ll", false) +
                  client_frame(0, "o", true);
  auto evs = parse_all(p, in);
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0].what, event::kind::ping);
  EXPECT_EQ(evs[0].data, "ping!");
  EXPECT_EQ(evs[1].what, event::kind::message);
  EXPECT_EQ(evs[1].data, "hello");
  // The parser is ready for the next message.
  auto next = parse_all(p, client_frame(2, "z"));
  ASSERT_EQ(next.size(), 1u);
  EXPECT_TRUE(next[0].binary);
}

TEST(WebSocketParser, CloseFramesCarryCodeAndReason) {
  frame_parser p(1000);
  auto evs = parse_all(p, client_frame(8, std::string("\x03\xE8", 2) + "bye"));
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].what, event::kind::close);
  EXPECT_EQ(evs[0].code, 1000);
  EXPECT_EQ(evs[0].data, "bye");
  frame_parser q(1000);
  auto empty = parse_all(q, client_frame(8, ""));
  ASSERT_EQ(empty.size(), 1u);
  EXPECT_EQ(empty[0].code, 1005);
  frame_parser r(1000);
  auto pong = parse_all(r, client_frame(10, "x"));
  ASSERT_EQ(pong.size(), 1u);
  EXPECT_EQ(pong[0].what, event::kind::pong);
}

TEST(WebSocketParser, ProtocolViolationsAreRefusedWithTheRightCode) {
  EXPECT_EQ(failure_of(unmasked_frame(1, "40")), close_code::protocol_error);            // not masked
  EXPECT_EQ(failure_of(client_frame(1, "x", true, "\x01\x02\x03\x04", 0x40)), close_code::protocol_error);  // RSV1
  EXPECT_EQ(failure_of(client_frame(3, "x")), close_code::protocol_error);                // reserved opcode
  EXPECT_EQ(failure_of(client_frame(11, "x")), close_code::protocol_error);               // reserved control
  EXPECT_EQ(failure_of(client_frame(0, "x")), close_code::protocol_error);                // continuation of nothing
  EXPECT_EQ(failure_of(client_frame(1, "a", false) + client_frame(1, "b")), close_code::protocol_error);
  EXPECT_EQ(failure_of(client_frame(9, "x", false)), close_code::protocol_error);         // fragmented ping
  EXPECT_EQ(failure_of(client_frame(9, std::string(126, 'p'))), close_code::protocol_error);  // control > 125
  EXPECT_EQ(failure_of(client_frame(8, "\x03")), close_code::protocol_error);             // 1-byte close
  EXPECT_EQ(failure_of(client_frame(8, std::string("\x03\xED", 2))), close_code::protocol_error);  // code 1005
  EXPECT_EQ(failure_of(client_frame(8, std::string("\x03\xE8\xC3", 3))), close_code::invalid_payload);
  EXPECT_EQ(failure_of(client_frame(1, "\xFF\xFE")), close_code::invalid_payload);        // text not UTF-8
  EXPECT_EQ(failure_of(client_frame(1, "\xE2\x82", false) + client_frame(0, "x")), close_code::invalid_payload);
  // 64-bit length with the most significant bit set.
  std::string huge = "\x81\xFF";
  huge += std::string("\x80\x00\x00\x00\x00\x00\x00\x01", 8);
  huge += "\x01\x02\x03\x04";
  EXPECT_EQ(failure_of(huge), close_code::protocol_error);
}

TEST(WebSocketParser, OversizedMessagesAreRefusedBeforeTheirBytesArrive) {
  // Only the header of a 2000-byte frame: refused at once, nothing needs buffering.
  const auto f = client_frame(1, std::string(2000, 'x'));
  frame_parser p(1000);
  auto st = p.parse(std::string_view(f).substr(0, 8));
  ASSERT_TRUE(st.fail);
  EXPECT_EQ(*st.fail, close_code::too_big);
  // Fragments that only together pass the limit.
  EXPECT_EQ(failure_of(client_frame(1, std::string(600, 'a'), false) + client_frame(0, std::string(600, 'b'))),
            close_code::too_big);
  // Exactly at the limit is fine.
  frame_parser q(1000);
  EXPECT_EQ(parse_all(q, client_frame(1, std::string(1000, 'c'))).size(), 1u);
  EXPECT_EQ(q.max_frame_bytes(), 1014u);
  // A ping may carry 125 bytes even when messages are limited to fewer (found by fuzzing).
  frame_parser small(10);
  EXPECT_EQ(small.max_frame_bytes(), 139u);
  EXPECT_EQ(parse_all(small, client_frame(9, std::string(125, 'p'))).size(), 1u);
}

TEST(WebSocketEncoder, HeadersUseTheShortestLengthForm) {
  char h[10];
  EXPECT_EQ(encode_header(h, opcode::text, 0), 2u);
  EXPECT_EQ(static_cast<unsigned char>(h[0]), 0x81);
  EXPECT_EQ(h[1], 0);
  EXPECT_EQ(encode_header(h, opcode::binary, 125), 2u);
  EXPECT_EQ(static_cast<unsigned char>(h[0]), 0x82);
  EXPECT_EQ(h[1], 125);
  EXPECT_EQ(encode_header(h, opcode::text, 126), 4u);
  EXPECT_EQ(static_cast<unsigned char>(h[1]), 126);
  EXPECT_EQ(static_cast<unsigned char>(h[2]), 0);
  EXPECT_EQ(static_cast<unsigned char>(h[3]), 126);
  EXPECT_EQ(encode_header(h, opcode::text, 65535), 4u);
  EXPECT_EQ(encode_header(h, opcode::text, 65536), 10u);
  EXPECT_EQ(static_cast<unsigned char>(h[1]), 127);
  EXPECT_EQ(static_cast<unsigned char>(h[7]), 1);  // 0x00..00 01 00 00
  EXPECT_EQ(static_cast<unsigned char>(h[9]), 0);
  EXPECT_EQ(close_frame(close_code::too_big), std::string("\x88\x02\x03\xF1", 4));
  EXPECT_EQ(control_frame(opcode::pong, "hi"), std::string("\x8A\x02hi", 4));
  EXPECT_EQ(control_frame(opcode::ping, std::string(200, 'x')).size(), 127u);  // cut to 125
}

}  // namespace engineio_websocket_test
