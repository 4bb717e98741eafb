// Socket.IO v5 codec: encoding (the protocol README's examples), decoding, binary reassembly and
// every type check that closes a client.
#include "owcore/realtime/socketio/error.hpp"
#include "owcore/realtime/socketio/packet.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace socketio_packet_test {

namespace sio = owcore::realtime::socketio;
namespace json = boost::json;
using sio::error;
using sio::packet;
using sio::packet_type;

namespace {

packet decode_one(std::string_view text) {
  sio::decoder d;
  auto r = d.feed_text(text);
  EXPECT_TRUE(r) << text << ": " << (r ? "" : r.error().message());
  EXPECT_TRUE(r && r->has_value()) << text;
  return r && *r ? std::move(**r) : packet{};
}

boost::system::error_code decode_error(std::string_view text, sio::decoder_limits limits = {}) {
  sio::decoder d(limits);
  auto r = d.feed_text(text);
  return r ? boost::system::error_code{} : r.error();
}

}  // namespace

TEST(SocketioPacket, EncodesTheReadmeExamples) {
  packet c;
  c.type = packet_type::connect;
  EXPECT_EQ(sio::encode_text(c), "0");
  c.nsp = "/admin";
  c.data = json::parse(R"({"sid":"oSO0OpakMV_3jnilAAAA"})");
  EXPECT_EQ(sio::encode_text(c), R"(0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"})");

  packet e;
  e.type = packet_type::connect_error;
  e.data = json::parse(R"({"message":"Not authorized"})");
  EXPECT_EQ(sio::encode_text(e), R"(4{"message":"Not authorized"})");

  sio::payload foo;
  EXPECT_EQ(sio::encode_text(sio::make_event("/", "foo", foo)), R"(2["foo"])");
  sio::payload bar;
  EXPECT_EQ(sio::encode_text(sio::make_event("/admin", "bar", bar)), R"(2/admin,["bar"])");
  EXPECT_EQ(sio::encode_text(sio::make_event("/", "foo", foo, 12)), R"(212["foo"])");
  sio::payload ack_args;
  ack_args.args.emplace_back("bar");
  EXPECT_EQ(sio::encode_text(sio::make_ack("/admin", 13, ack_args)), R"(3/admin,13["bar"])");

  packet d;
  d.type = packet_type::disconnect;
  EXPECT_EQ(sio::encode_text(d), "1");
  d.nsp = "/admin";
  EXPECT_EQ(sio::encode_text(d), "1/admin,");
}

TEST(SocketioPacket, EncodesBinaryWithPlaceholders) {
  sio::payload p;
  p.args.push_back(p.attach(std::string("\x01\x02", 2)));
  p.args.push_back(p.attach(std::string("\x03\x04", 2)));
  auto pk = sio::make_event("/admin", "baz", p);
  EXPECT_EQ(sio::encode_text(pk),
            R"(52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])");
  auto frames = sio::encode(pk);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].bytes->substr(0, 3), "452");
  EXPECT_TRUE(frames[1].binary);
  EXPECT_EQ(*frames[2].bytes, std::string("\x03\x04", 2));

  sio::payload a;
  a.args.emplace_back("bar");
  a.args.push_back(a.attach("\x01\x02\x03\x04"));
  EXPECT_EQ(sio::encode_text(sio::make_ack("/", 15, a)), R"(61-15["bar",{"_placeholder":true,"num":0}])");
}

TEST(SocketioPacket, DecodesHeaderParts) {
  auto p = decode_one(R"(2/admin,456["message-with-ack",1,"2",{"3":[false]}])");
  EXPECT_EQ(p.type, packet_type::event);
  EXPECT_EQ(p.nsp, "/admin");
  EXPECT_EQ(*p.id, 456u);
  EXPECT_EQ(json::serialize(*p.data), R"(["message-with-ack",1,"2",{"3":[false]}])");

  auto c = decode_one("0");
  EXPECT_EQ(c.type, packet_type::connect);
  EXPECT_EQ(c.nsp, "/");
  EXPECT_FALSE(c.data);

  auto r = decode_one("0/random");  // a namespace with no comma runs to the end
  EXPECT_EQ(r.nsp, "/random");
  auto t = decode_one(R"(0/custom,{"token":"abc"})");
  EXPECT_EQ(t.nsp, "/custom");
  EXPECT_EQ(t.data->as_object().at("token").as_string(), "abc");
  EXPECT_EQ(decode_one("1/custom,").type, packet_type::disconnect);
  EXPECT_EQ(decode_one("3/admin,13[]").type, packet_type::ack);
}

TEST(SocketioPacket, ReassemblesBinaryPackets) {
  sio::decoder d;
  auto r = d.feed_text(R"(52-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])");
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->has_value());
  EXPECT_TRUE(d.awaiting_attachments());
  r = d.feed_binary("\x01\x02\x03");
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->has_value());
  r = d.feed_binary("\x04\x05\x06");
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->has_value());
  auto p = std::move(**r);
  EXPECT_EQ(p.type, packet_type::binary_event);
  EXPECT_EQ(*p.id, 789u);
  ASSERT_EQ(p.attachments.size(), 2u);
  sio::payload args;
  args.args = p.data->as_array();
  args.attachments = p.attachments;
  EXPECT_EQ(*args.attachment(args.args[2]), "\x04\x05\x06");
  EXPECT_EQ(args.attachment(args.args[0]), nullptr);
  EXPECT_FALSE(d.awaiting_attachments());
}

TEST(SocketioPacket, TypeChecksCloseTheClient) {
  // Unknown or missing type.
  EXPECT_EQ(decode_error(""), error::bad_packet_type);
  EXPECT_EQ(decode_error("abc"), error::bad_packet_type);
  EXPECT_EQ(decode_error("7[]"), error::bad_packet_type);
  // Payload shape per type.
  EXPECT_EQ(decode_error("2{}"), error::bad_payload);
  EXPECT_EQ(decode_error("2[]"), error::bad_payload);
  EXPECT_EQ(decode_error("2"), error::bad_payload);
  EXPECT_EQ(decode_error("2[1,2]"), error::bad_event_name);
  EXPECT_EQ(decode_error(R"(2[{"a":1}])"), error::bad_event_name);
  EXPECT_EQ(decode_error(R"(2[null])"), error::bad_event_name);
  EXPECT_EQ(decode_error(R"(0"token")"), error::bad_payload);
  EXPECT_EQ(decode_error(R"(0[1])"), error::bad_payload);
  EXPECT_EQ(decode_error(R"(1{})"), error::bad_payload);
  EXPECT_EQ(decode_error(R"(3["no id"])"), error::bad_payload);
  EXPECT_EQ(decode_error(R"(31{})"), error::bad_payload);
  // Ack id and JSON.
  EXPECT_EQ(decode_error(R"(2abc["message-with-ack",1])"), error::bad_json);
  EXPECT_EQ(decode_error(R"(21234567890123456["x"])"), error::bad_ack_id);
  EXPECT_EQ(decode_error(R"(2["x"] trailing)"), error::bad_json);
  std::string deep(100, '[');
  EXPECT_EQ(decode_error("2[\"x\"," + deep + std::string(100, ']') + "]"), error::bad_json);
  // Attachment counts.
  EXPECT_EQ(decode_error(R"(5["x"])"), error::bad_attachment_count);
  EXPECT_EQ(decode_error(R"(5x-["x"])"), error::bad_attachment_count);
  EXPECT_EQ(decode_error(R"(51234567-["x"])"), error::bad_attachment_count);
  EXPECT_EQ(decode_error(R"(517-["x"])"), error::too_many_attachments);
  sio::decoder_limits small;
  small.max_attachments = 2;
  EXPECT_EQ(decode_error(R"(53-["x"])", small), error::too_many_attachments);
  // Namespace length.
  EXPECT_EQ(decode_error("0/" + std::string(300, 'n') + ","), error::bad_namespace);
}

TEST(SocketioPacket, PlaceholderIndicesMustBeValidIntegers) {
  auto check = [](std::string_view header, std::size_t n) {
    sio::decoder d;
    auto r = d.feed_text(header);
    if (!r) return r.error();
    for (std::size_t i = 0; i + 1 < n; ++i) {
      r = d.feed_binary("x");
      if (!r) return r.error();
    }
    r = d.feed_binary("y");
    return r ? boost::system::error_code{} : r.error();
  };
  EXPECT_FALSE(check(R"(51-["m",{"_placeholder":true,"num":0}])", 1));
  EXPECT_FALSE(check(R"(51-["m",{"_placeholder":true,"num":0.0}])", 1));
  EXPECT_EQ(check(R"(51-["m",{"_placeholder":true,"num":"0"}])", 1), error::bad_placeholder);
  EXPECT_EQ(check(R"(51-["m",{"_placeholder":true,"num":0.5}])", 1), error::bad_placeholder);
  EXPECT_EQ(check(R"(51-["m",{"_placeholder":true,"num":1}])", 1), error::bad_placeholder);
  EXPECT_EQ(check(R"(51-["m",{"_placeholder":true,"num":-1}])", 1), error::bad_placeholder);
  EXPECT_EQ(check(R"(51-["m",{"_placeholder":true}])", 1), error::bad_placeholder);
  EXPECT_EQ(check(R"(51-["m",{"deep":[{"_placeholder":true,"num":7}]}])", 1), error::bad_placeholder);
  // A plain object that merely has the key with a non-true value is data.
  EXPECT_FALSE(check(R"(51-["m",{"_placeholder":false,"num":"x"}])", 1));
}

TEST(SocketioPacket, ReassemblyErrors) {
  sio::decoder d;
  EXPECT_EQ(d.feed_binary("x").error(), error::unexpected_binary);

  sio::decoder e;
  ASSERT_TRUE(e.feed_text(R"(51-["m",{"_placeholder":true,"num":0}])"));
  EXPECT_EQ(e.feed_text(R"(2["m"])").error(), error::unexpected_text);

  sio::decoder_limits limits;
  limits.max_attachment_bytes = 10;
  sio::decoder f(limits);
  ASSERT_TRUE(f.feed_text(R"(52-["m",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])"));
  ASSERT_TRUE(f.feed_binary("123456"));
  EXPECT_EQ(f.feed_binary("123456").error(), error::attachments_too_large);
}

TEST(SocketioPacket, ReservedEventNames) {
  for (auto name : {"connect", "connect_error", "disconnect", "disconnecting", "error", "newListener",
                    "removeListener"})
    EXPECT_TRUE(sio::is_reserved_event(name)) << name;
  EXPECT_FALSE(sio::is_reserved_event("message"));
  EXPECT_FALSE(sio::is_reserved_event("usage"));
  EXPECT_FALSE(sio::is_reserved_event("Connect"));
}

TEST(SocketioPacket, RoundTripThroughTheDecoder) {
  sio::payload p;
  p.args.push_back(json::parse(R"({"a":[1,2,{"b":null}],"c":"é\u0000"})"));
  p.args.push_back(p.attach(std::string("\0\xff", 2)));
  auto frames = sio::encode(sio::make_event("/ns", "evt", p, 7));
  sio::decoder d;
  auto r = d.feed_text(frames[0].bytes->substr(1));  // strip the Engine.IO "4"
  ASSERT_TRUE(r);
  r = d.feed_binary(*frames[1].bytes);
  ASSERT_TRUE(r && r->has_value());
  const auto& back = **r;
  EXPECT_EQ(back.nsp, "/ns");
  EXPECT_EQ(*back.id, 7u);
  EXPECT_EQ(back.data->as_array().size(), 3u);
  EXPECT_EQ(back.attachments[0], std::string("\0\xff", 2));
}

// Found by tests/fuzz/socketio_fuzz.cpp: a client's 1e400 decodes to infinity, which was encoded
// as `Infinity`, text no browser's JSON.parse accepts, so relaying it would have broken the
// receivers' connections. Non-finite numbers are written as null, as JSON.stringify does.
TEST(SocketioPacket, NonFiniteNumbersAreEncodedAsNull) {
  sio::decoder d;
  auto r = d.feed_text(R"(2["typing",{"x":1e400,"y":-1e400,"z":2.5}])");
  ASSERT_TRUE(r && *r);
  const auto text = sio::encode_text(**r);
  EXPECT_EQ(text, R"(2["typing",{"x":null,"y":null,"z":2.5}])");
  sio::decoder again;
  EXPECT_TRUE(again.feed_text(text));
}

}  // namespace socketio_packet_test
