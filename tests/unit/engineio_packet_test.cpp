// Engine.IO v4 codecs: packets, polling payloads, base64, query parameters, the handshake.
#include "owcore/realtime/engineio/error.hpp"
#include "owcore/realtime/engineio/handshake.hpp"
#include "owcore/realtime/engineio/packet.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <string>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace engineio_packet_test {

namespace eio = owcore::realtime::engineio;
using eio::packet_type;

TEST(EngineioPacket, DecodesEveryTypeDigit) {
  for (char c = '0'; c <= '6'; ++c) {
    auto p = eio::decode_text(std::string(1, c) + "data");
    ASSERT_TRUE(p) << c;
    EXPECT_EQ(static_cast<char>(p->type), c);
    EXPECT_EQ(p->data, "data");
    EXPECT_FALSE(p->binary);
  }
}

TEST(EngineioPacket, RejectsEmptyAndUnknownTypes) {
  EXPECT_EQ(eio::decode_text("").error(), eio::error::bad_packet);
  EXPECT_EQ(eio::decode_text("7").error(), eio::error::bad_packet);
  EXPECT_EQ(eio::decode_text("abc").error(), eio::error::bad_packet);
  EXPECT_EQ(eio::decode_text("b").error(), eio::error::bad_packet);
}

TEST(EngineioPacket, FramesCarryTheWireBytes) {
  auto f = eio::message_frame("hello");
  EXPECT_EQ(*f.bytes, "4hello");
  EXPECT_FALSE(f.binary);
  auto b = eio::binary_frame(std::string("\x01\x02\x03\x04", 4));
  EXPECT_TRUE(b.binary);
  EXPECT_EQ(b.bytes->size(), 4u);
  EXPECT_EQ(*eio::control_frame(packet_type::ping, "probe").bytes, "2probe");
  EXPECT_EQ(*eio::make_frame(eio::packet{packet_type::noop, "", false}).bytes, "6");
}

TEST(EngineioPayload, EncodesWithSeparatorsAndBase64) {
  std::string out;
  eio::append_to_payload(out, eio::message_frame("hello"));
  eio::append_to_payload(out, eio::binary_frame(std::string("\x01\x02\x03\x04", 4)));
  eio::append_to_payload(out, eio::control_frame(packet_type::ping));
  EXPECT_EQ(out, "4hello\x1e" "bAQIDBA==\x1e" "2");
  EXPECT_EQ(eio::payload_size(eio::binary_frame(std::string("\x01\x02\x03\x04", 4))), 9u);
}

TEST(EngineioPayload, DecodesTheSpecExamples) {
  auto p = eio::decode_payload("4hello\x1e" "2\x1e" "4world");
  ASSERT_TRUE(p);
  ASSERT_EQ(p->size(), 3u);
  EXPECT_EQ((*p)[0].data, "hello");
  EXPECT_EQ((*p)[1].type, packet_type::ping);
  EXPECT_EQ((*p)[2].data, "world");

  auto b = eio::decode_payload("4hello\x1e" "bAQIDBA==");
  ASSERT_TRUE(b);
  ASSERT_EQ(b->size(), 2u);
  EXPECT_TRUE((*b)[1].binary);
  EXPECT_EQ((*b)[1].data, std::string("\x01\x02\x03\x04", 4));
}

TEST(EngineioPayload, RejectsMalformedPayloads) {
  EXPECT_EQ(eio::decode_payload("").error(), eio::error::bad_packet);
  EXPECT_EQ(eio::decode_payload("abc").error(), eio::error::bad_packet);
  EXPECT_EQ(eio::decode_payload("4ok\x1e").error(), eio::error::bad_packet);  // empty last packet
  EXPECT_EQ(eio::decode_payload("b!!!!").error(), eio::error::bad_base64);
}

TEST(EngineioPayload, RefusesAFloodBeforeDecodingIt) {
  std::string flood;
  for (int i = 0; i < 10000; ++i) flood += i ? "\x1e" "4x" : "4x";
  eio::payload_limits limits;
  limits.max_packets = 256;
  EXPECT_EQ(eio::decode_payload(flood, limits).error(), eio::error::too_many_packets);
  std::string ok;
  for (int i = 0; i < 256; ++i) ok += i ? "\x1e" "4x" : "4x";
  EXPECT_TRUE(eio::decode_payload(ok, limits));
}

TEST(EngineioBase64, RoundTripsEveryLength) {
  std::string bytes;
  for (int n = 0; n < 300; ++n) {
    auto enc = eio::base64_encode(bytes);
    EXPECT_EQ(enc.size() % 4, 0u);
    auto dec = eio::base64_decode(enc);
    ASSERT_TRUE(dec) << n;
    EXPECT_EQ(*dec, bytes);
    bytes += static_cast<char>(n * 37);
  }
}

TEST(EngineioBase64, AcceptsMissingPaddingRejectsGarbage) {
  EXPECT_EQ(*eio::base64_decode("AQIDBA"), std::string("\x01\x02\x03\x04", 4));
  EXPECT_FALSE(eio::base64_decode("AQIDB"));        // 5 sextets cannot be whole bytes
  EXPECT_FALSE(eio::base64_decode("AQ=DBA=="));     // padding in the middle
  EXPECT_FALSE(eio::base64_decode("AQIDBA="));      // padded but misaligned
  EXPECT_FALSE(eio::base64_decode("AQ ID"));
  EXPECT_FALSE(eio::base64_decode("AQ-_"));         // URL-safe alphabet is not base64 here
}

TEST(EngineioHandshake, QueryParameters) {
  const std::string t = "/socket.io/?EIO=4&transport=polling&t=N8hyd6w&sid=ab%2Dc+d";
  EXPECT_EQ(*eio::query_param(t, "EIO"), "4");
  EXPECT_EQ(*eio::query_param(t, "transport"), "polling");
  EXPECT_EQ(*eio::query_param(t, "sid"), "ab-c d");
  EXPECT_FALSE(eio::query_param(t, "missing"));
  EXPECT_FALSE(eio::query_param("/socket.io/", "EIO"));
  EXPECT_FALSE(eio::query_param("/x?a=%zz", "a"));
  EXPECT_EQ(*eio::query_param("/x?flag", "flag"), "");
}

TEST(EngineioHandshake, ValidatesVersionAndTransport) {
  auto ok = eio::parse_request("/engine.io/?EIO=4&transport=websocket&sid=abc");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->transport, eio::transport_kind::websocket);
  EXPECT_EQ(*ok->sid, "abc");
  EXPECT_EQ(eio::parse_request("/engine.io/?transport=polling").error(), eio::error::unsupported_version);
  EXPECT_EQ(eio::parse_request("/engine.io/?EIO=abc&transport=polling").error(), eio::error::unsupported_version);
  EXPECT_EQ(eio::parse_request("/engine.io/?EIO=3&transport=polling").error(), eio::error::unsupported_version);
  EXPECT_EQ(eio::parse_request("/engine.io/?EIO=4").error(), eio::error::unknown_transport);
  EXPECT_EQ(eio::parse_request("/engine.io/?EIO=4&transport=abc").error(), eio::error::unknown_transport);
  EXPECT_EQ(eio::parse_request("/engine.io/?EIO=4&transport=polling&sid=").error(), eio::error::unknown_sid);
}

TEST(EngineioHandshake, OriginCheck) {
  const std::vector<std::string> any{"*"};
  const std::vector<std::string> list{"https://chat.example.com", "http://localhost:5173/"};
  EXPECT_TRUE(eio::origin_allowed("https://evil.example", any));
  EXPECT_TRUE(eio::origin_allowed("https://chat.example.com", list));
  EXPECT_TRUE(eio::origin_allowed("HTTPS://Chat.Example.com", list));
  EXPECT_TRUE(eio::origin_allowed("http://localhost:5173", list));
  EXPECT_FALSE(eio::origin_allowed("https://chat.example.com.evil.io", list));
  EXPECT_FALSE(eio::origin_allowed("null", list));
  EXPECT_FALSE(eio::origin_allowed("https://chat.example.com", {}));
}

TEST(EngineioHandshake, OpenPayloadHasTheReferenceKeys) {
  eio::handshake_info h;
  h.sid = "lv_VI97HAXpY6yYWAAAC";
  h.upgrades = {"websocket"};
  h.ping_interval = std::chrono::milliseconds(300);
  h.ping_timeout = std::chrono::milliseconds(200);
  auto v = boost::json::parse(eio::open_payload(h)).as_object();
  EXPECT_EQ(v.size(), 5u);
  EXPECT_EQ(v.at("sid").as_string(), "lv_VI97HAXpY6yYWAAAC");
  EXPECT_EQ(v.at("upgrades").as_array().size(), 1u);
  EXPECT_EQ(v.at("pingInterval").to_number<int>(), 300);
  EXPECT_EQ(v.at("pingTimeout").to_number<int>(), 200);
  EXPECT_EQ(v.at("maxPayload").to_number<int>(), 1000000);
}

}  // namespace engineio_packet_test
