// python-socketio's Redis pub/sub codec (docs/wire.md): byte-exact stdlib encoding against strings
// produced by Debian's /usr/bin/python3 (json.dumps of the dicts python-socketio 5.16.2 builds),
// round trips in both styles, Python's json.loads edge cases, every malformed class, binary
// attachments and the self-filter.
#include "owcore/realtime/adapter/socketio_pubsub.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace socketio_pubsub_test {

namespace rp = owcore::realtime::adapter::socketio_pubsub;
namespace json = boost::json;
using rp::error;

namespace {

const std::string H = "0123456789abcdef0123456789abcdef";
const std::string H2 = "fedcba9876543210fedcba9876543210";

rp::message must_decode(std::string_view text) {
  auto r = rp::decode(text);
  if (auto* e = std::get_if<rp::decode_error>(&r)) {
    ADD_FAILURE() << "decode failed: " << e->code.message() << " at " << e->where << "\n" << text;
    return rp::disconnect_message{};
  }
  return std::get<rp::message>(std::move(r));
}

rp::decode_error must_fail(std::string_view text, const rp::limits& lim = {}) {
  auto r = rp::decode(text, lim);
  if (std::holds_alternative<rp::message>(r)) {
    ADD_FAILURE() << "decode accepted: " << text;
    return {};
  }
  return std::get<rp::decode_error>(r);
}

json::value must_load(std::string_view text) {
  auto r = rp::load_json(text);
  if (auto* e = std::get_if<rp::decode_error>(&r)) {
    ADD_FAILURE() << "load failed: " << e->code.message() << " at " << e->where << "\n" << text;
    return nullptr;
  }
  return std::get<json::value>(std::move(r));
}

error load_error(std::string_view text, const rp::limits& lim = {}) {
  auto r = rp::load_json(text, lim);
  if (auto* e = std::get_if<rp::decode_error>(&r)) return static_cast<error>(e->code.value());
  ADD_FAILURE() << "load accepted: " << text;
  return error::stopped;
}

// python3 -c 'import json; print(json.dumps({...}))' for the dicts python-socketio 5.16.2 builds.
const std::string py_emit_status =
    R"({"method": "emit", "event": "events", "data": [{"chat_id": "c1", "message_id": "m1", "data": {"type": "status", "data": {"description": "h\u00e9llo \ud83d\ude00 \"q\" \\ /\n\t\u0001\u007f", "done": false, "n": 1.5, "big": 1000000000000000000, "neg": -3, "none": null}}}], "binary": false, "namespace": "/", "room": "user:u1", "skip_sid": null, "callback": null, "host_id": "0123456789abcdef0123456789abcdef"})";
const std::string py_emit_skip =
    R"({"method": "emit", "event": "events", "data": [{"a": 1}], "binary": false, "namespace": "/", "room": "user:u1", "skip_sid": "sidA", "callback": null, "host_id": "0123456789abcdef0123456789abcdef"})";
const std::string py_emit_lists =
    R"({"method": "emit", "event": "events", "data": [{"a": 1}, "two", 3], "binary": false, "namespace": "/", "room": ["r1", "r2"], "skip_sid": ["sidA", "sidB"], "callback": null, "host_id": "0123456789abcdef0123456789abcdef"})";
const std::string py_emit_ack =
    R"({"method": "emit", "event": "events", "data": [{"a": 1}], "binary": false, "namespace": "/", "room": "abcdefghijklmnopqrst", "skip_sid": null, "callback": ["abcdefghijklmnopqrst", "/", 7], "host_id": "0123456789abcdef0123456789abcdef"})";
const std::string py_emit_binary =
    R"({"method": "emit", "event": "ydoc:document:update", "data": [[{"update": {"_placeholder": true, "num": 0}, "id": "note:1"}], "AAH+/w=="], "binary": true, "namespace": "/", "room": "doc_note_1", "skip_sid": null, "callback": null, "host_id": "0123456789abcdef0123456789abcdef"})";
const std::string py_callback =
    R"({"method": "callback", "host_id": "0123456789abcdef0123456789abcdef", "sid": "abcdefghijklmnopqrst", "namespace": "/", "id": 7, "args": [true, {"x": "y"}]})";
const std::string py_disconnect =
    R"({"method": "disconnect", "sid": "abcdefghijklmnopqrst", "namespace": "/", "host_id": "0123456789abcdef0123456789abcdef"})";
const std::string py_enter =
    R"({"method": "enter_room", "sid": "abcdefghijklmnopqrst", "room": "channel:42", "namespace": "/", "host_id": "0123456789abcdef0123456789abcdef"})";
const std::string py_leave =
    R"({"method": "leave_room", "sid": "abcdefghijklmnopqrst", "room": "channel:42", "namespace": "/", "host_id": "0123456789abcdef0123456789abcdef"})";
const std::string py_close =
    R"({"method": "close_room", "room": "note:9", "namespace": "/chat", "host_id": "0123456789abcdef0123456789abcdef"})";

rp::emit_message status_emit() {
  rp::emit_message m;
  m.event = "events";
  json::object inner;
  inner["description"] = "h\xC3\xA9llo \xF0\x9F\x98\x80 \"q\" \\ /\n\t\x01\x7F";
  inner["done"] = false;
  inner["n"] = 1.5;
  inner["big"] = 1000000000000000000LL;
  inner["neg"] = -3;
  inner["none"] = nullptr;
  json::object d;
  d["type"] = "status";
  d["data"] = std::move(inner);
  json::object arg;
  arg["chat_id"] = "c1";
  arg["message_id"] = "m1";
  arg["data"] = std::move(d);
  m.data.emplace_back(std::move(arg));
  m.room = std::string("user:u1");
  m.host_id = H;
  return m;
}

std::vector<rp::message> sample_messages() {
  std::vector<rp::message> out;
  out.emplace_back(status_emit());
  rp::emit_message skip;
  skip.event = "events";
  skip.data = json::array{json::object{{"a", 1}}};
  skip.room = std::string("user:u1");
  skip.skip_sid = std::string("sidA");
  skip.host_id = H;
  out.emplace_back(skip);
  rp::emit_message lists = skip;
  lists.data = json::array{json::object{{"a", 1}}, "two", 3};
  lists.room = std::vector<std::string>{"r1", "r2"};
  lists.skip_sid = std::vector<std::string>{"sidA", "sidB"};
  out.emplace_back(lists);
  rp::emit_message ack;
  ack.event = "events";
  ack.data = json::array{json::object{{"a", 1}}};
  ack.room = std::string("abcdefghijklmnopqrst");
  ack.callback = rp::ack_ref{"abcdefghijklmnopqrst", "/", 7};
  ack.host_id = H;
  out.emplace_back(ack);
  rp::emit_message bin;
  bin.event = "ydoc:document:update";
  bin.room = std::string("doc_note_1");
  bin.host_id = H;
  rp::event_args ea;
  json::object upd;
  upd["update"] = rp::add_attachment(ea, std::string("\x00\x01\xFE\xFF", 4));
  upd["id"] = "note:1";
  ea.args.emplace_back(std::move(upd));
  rp::set_args(bin, ea);
  out.emplace_back(bin);
  out.emplace_back(rp::callback_message{H, "abcdefghijklmnopqrst", "/", 7, json::array{true, json::object{{"x", "y"}}}});
  out.emplace_back(rp::disconnect_message{"abcdefghijklmnopqrst", "/", H});
  out.emplace_back(rp::enter_room_message{"abcdefghijklmnopqrst", "channel:42", "/", H});
  out.emplace_back(rp::leave_room_message{"abcdefghijklmnopqrst", "channel:42", "/", H});
  out.emplace_back(rp::close_room_message{"note:9", "/chat", H});
  return out;
}

const std::vector<std::string> python_texts = {py_emit_status, py_emit_skip, py_emit_lists, py_emit_ack, py_emit_binary,
                                               py_callback,    py_disconnect, py_enter,     py_leave,    py_close};

// A valid emit with one field replaced by raw JSON `value` (or removed when value is empty).
std::string emit_with(const std::string& field, const std::string& value) {
  json::object o = must_load(py_emit_ack).as_object();
  if (value.empty()) o.erase(field);
  else o[field] = must_load(value);
  return rp::dump_json(o, rp::json_style::stdlib);
}

// py_emit_ack with its data replaced by raw text (which need not parse on its own).
std::string emit_raw_data(const std::string& data) {
  std::string t = py_emit_ack;
  const std::string from = R"("data": [{"a": 1}])";
  t.replace(t.find(from), from.size(), "\"data\": " + data);
  return t;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Encoding

TEST(SocketioPubsub, StdlibEncodingIsByteExactWithPythonJsonDumps) {
  const auto msgs = sample_messages();
  ASSERT_EQ(msgs.size(), python_texts.size());
  for (std::size_t i = 0; i < msgs.size(); ++i)
    EXPECT_EQ(rp::encode(msgs[i], rp::json_style::stdlib), python_texts[i]) << "message " << i;
}

TEST(SocketioPubsub, CompactEncodingIsOrjsonLike) {
  rp::emit_message m = status_emit();
  EXPECT_EQ(rp::encode(m, rp::json_style::compact),
            "{\"method\":\"emit\",\"event\":\"events\",\"data\":[{\"chat_id\":\"c1\",\"message_id\":\"m1\",\"data\":"
            "{\"type\":\"status\",\"data\":{\"description\":\"h\xC3\xA9llo \xF0\x9F\x98\x80 \\\"q\\\" \\\\ /\\n\\t\\u0001\x7F\","
            "\"done\":false,\"n\":1.5,\"big\":1000000000000000000,\"neg\":-3,\"none\":null}}}],\"binary\":false,"
            "\"namespace\":\"/\",\"room\":\"user:u1\",\"skip_sid\":null,\"callback\":null,"
            "\"host_id\":\"0123456789abcdef0123456789abcdef\"}");
  EXPECT_EQ(rp::encode(rp::callback_message{H, "s", "/", 3, json::array{1, "a"}}, rp::json_style::compact),
            "{\"method\":\"callback\",\"host_id\":\"" + H + "\",\"sid\":\"s\",\"namespace\":\"/\",\"id\":3,\"args\":[1,\"a\"]}");
}

TEST(SocketioPubsub, FloatsAndSpecialValuesMatchPythonRepr) {
  // python3 -c 'import json; print(json.dumps([float("nan"), float("inf"), ...]))'
  constexpr double inf = std::numeric_limits<double>::infinity();
  json::array a{std::nan(""), inf, -inf, 1e16, 1e15, 0.0001, 1e-05, -0.0, 0.0, 1.5e300, 123.0, 0.1,
                2.5e-300, 5e-324, 1.7976931348623157e308, 9007199254740993.0, 123456789.123456789};
  a.emplace_back(std::uint64_t{9223372036854775808ULL});
  a.emplace_back(std::numeric_limits<std::int64_t>::min());
  a.emplace_back(std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(rp::dump_json(a, rp::json_style::stdlib),
            "[NaN, Infinity, -Infinity, 1e+16, 1000000000000000.0, 0.0001, 1e-05, -0.0, 0.0, 1.5e+300, 123.0, 0.1, "
            "2.5e-300, 5e-324, 1.7976931348623157e+308, 9007199254740992.0, 123456789.12345679, "
            "9223372036854775808, -9223372036854775808, 18446744073709551615]");
  // orjson writes null for NaN and the infinities.
  EXPECT_EQ(rp::dump_json(json::array{std::nan(""), inf, -inf, 2.5}, rp::json_style::compact),
            "[null,null,null,2.5]");
}

TEST(SocketioPubsub, StringEscapingMatchesEnsureAscii) {
  // python3 -c 'import json; print(json.dumps("\x00\x1f\x08\x0c\r ~\x7f\x80\u07ff\u0800\uffff\U00010000\U0010ffff"))'
  const std::string s = std::string("\x00\x1F\x08\x0C\r ~\x7F", 8) + "\xC2\x80\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF\xF0\x90\x80\x80\xF4\x8F\xBF\xBF";
  EXPECT_EQ(rp::dump_json(json::value(s), rp::json_style::stdlib),
            R"("\u0000\u001f\b\f\r ~\u007f\u0080\u07ff\u0800\uffff\ud800\udc00\udbff\udfff")");
  // Invalid UTF-8 never leaks into the output: each bad byte becomes U+FFFD.
  EXPECT_EQ(rp::dump_json(json::value("a\xFF" "b\xC3"), rp::json_style::stdlib), R"("a\ufffdb\ufffd")");
  EXPECT_EQ(rp::dump_json(json::value("a\xFF" "b\xED\xA0\x80"), rp::json_style::compact),
            "\"a\xEF\xBF\xBD" "b\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
  EXPECT_EQ(rp::dump_json(json::object{}, rp::json_style::stdlib), "{}");
  EXPECT_EQ(rp::dump_json(json::array{}, rp::json_style::stdlib), "[]");
  EXPECT_EQ(rp::dump_json(json::object{{"k", json::array{1, 2}}, {"z", nullptr}}, rp::json_style::stdlib),
            R"({"k": [1, 2], "z": null})");
}

// ---------------------------------------------------------------------------------------------
// Decoding and round trips

TEST(SocketioPubsub, DecodesWhatPythonPublishes) {
  const auto msgs = sample_messages();
  for (std::size_t i = 0; i < python_texts.size(); ++i) EXPECT_EQ(must_decode(python_texts[i]), msgs[i]) << "message " << i;

  auto emit = std::get<rp::emit_message>(must_decode(py_emit_status));
  EXPECT_EQ(std::get<std::string>(emit.room), "user:u1");
  EXPECT_TRUE(std::holds_alternative<std::monostate>(emit.skip_sid));
  EXPECT_EQ(emit.data.at(0).at("data").at("data").at("description").as_string(),
            "h\xC3\xA9llo \xF0\x9F\x98\x80 \"q\" \\ /\n\t\x01\x7F");
  auto ack = std::get<rp::emit_message>(must_decode(py_emit_ack));
  ASSERT_TRUE(ack.callback);
  EXPECT_EQ(ack.callback->id, 7u);
}

TEST(SocketioPubsub, RoundTripsInBothStyles) {
  for (auto style : {rp::json_style::stdlib, rp::json_style::compact}) {
    for (const auto& m : sample_messages()) {
      const auto text = rp::encode(m, style);
      EXPECT_EQ(must_decode(text), m) << text;
      EXPECT_EQ(rp::encode(must_decode(text), style), text);
    }
  }
  // A decoded Python message re-encodes to the same bytes.
  for (const auto& t : python_texts) EXPECT_EQ(rp::encode(must_decode(t), rp::json_style::stdlib), t);
}

TEST(SocketioPubsub, AcceptsPythonJsonExtensionsAndEdgeCases) {
  // NaN/Infinity tokens (stdlib json.dumps writes them).
  auto v = must_load("[NaN, Infinity, -Infinity, -0.0, 1e400, -1e400, 1e-400, 5e-324]");
  const auto& a = v.as_array();
  EXPECT_TRUE(std::isnan(a[0].as_double()));
  constexpr double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(a[1].as_double(), inf);
  EXPECT_EQ(a[2].as_double(), -inf);
  EXPECT_TRUE(std::signbit(a[3].as_double()));
  EXPECT_EQ(a[4].as_double(), inf);   // float('1e400')
  EXPECT_EQ(a[5].as_double(), -inf);
  EXPECT_EQ(a[6].as_double(), 0.0);        // float('1e-400')
  EXPECT_EQ(a[7].as_double(), 5e-324);     // a subnormal survives
  // Integers: int64, uint64, then (up to 100 characters) the nearest double.
  EXPECT_TRUE(must_load("-9223372036854775808").is_int64());
  EXPECT_TRUE(must_load("18446744073709551615").is_uint64());
  EXPECT_EQ(must_load("18446744073709551616").as_double(), 18446744073709551616.0);
  EXPECT_TRUE(must_load(std::string(100, '9')).is_double());
  EXPECT_EQ(load_error(std::string(101, '9')), error::integer_too_long);
  EXPECT_EQ(load_error("-" + std::string(100, '9')), error::integer_too_long);  // engineio counts the sign
  EXPECT_TRUE(must_load("-" + std::string(99, '9')).is_double());
  EXPECT_TRUE(must_load("1." + std::string(200, '5')).is_double());  // only integers are guarded
  // Duplicate keys: last value, first position.
  EXPECT_EQ(rp::dump_json(must_load(R"({"a": 1, "b": 2, "a": 3})"), rp::json_style::stdlib), R"({"a": 3, "b": 2})");
  // Surrogates: a pair combines; a lone one becomes U+FFFD; escapes are case-insensitive.
  EXPECT_EQ(must_load(R"("\ud83D\uDE00")").as_string(), "\xF0\x9F\x98\x80");
  EXPECT_EQ(must_load(R"("\ud800x")").as_string(), "\xEF\xBF\xBDx");
  EXPECT_EQ(must_load(R"("\udc00\ud800\u0041")").as_string(), "\xEF\xBF\xBD\xEF\xBF\xBD" "A");
  EXPECT_EQ(must_load(R"("\/\b\f\n\r\t")").as_string(), "/\b\f\n\r\t");
  // Whitespace Python allows, a UTF-8 BOM (json.loads of bytes), raw UTF-8 and DEL.
  EXPECT_EQ(must_load(" \t\r\n[1 , 2 ]\n").as_array().size(), 2u);
  EXPECT_EQ(must_load("\xEF\xBB\xBF{}").as_object().size(), 0u);
  EXPECT_EQ(must_load("\"\xE2\x82\xAC\x7F\"").as_string(), "\xE2\x82\xAC\x7F");
}

TEST(SocketioPubsub, RejectsWhatPythonJsonRejects) {
  for (const std::string& bad : std::vector<std::string>{"", " ", "[1,]", "{\"a\":1,}", "[1 2]", "{'a': 1}", "// c\n{}", "/* c */{}", "01", "1.", ".5",
                          "1e", "+1", "-", "--1", "0x10", "nan", "inf", "-NaN", "Infinit", "tru", "nul", "[", "{", "\"abc",
                          "\"\\x41\"", "\"\\u12\"", "\"\\u12g4\"", "\"a\tb\"", "\"a\nb\"", "{\"a\" 1}", "{1: 2}", "[1]x",
                          "{} {}", "\"\xFF\"", "\"\xC0\x80\"", "\"\xED\xA0\x80\"", "\"\xF4\x90\x80\x80\"", "\"\xE2\x82\"",
                          "\"\xE2\x82\"x", std::string("\"a\0b\"", 5), "\xEF\xBB\xBF\xEF\xBB\xBF{}"})
    EXPECT_EQ(load_error(bad), error::invalid_json) << bad;
  rp::limits lim;
  lim.max_depth = 3;
  EXPECT_TRUE(std::holds_alternative<json::value>(rp::load_json("[[[1]]]", lim)));
  EXPECT_EQ(load_error("[[[[1]]]]", lim), error::too_deep);
  EXPECT_EQ(load_error(std::string(100000, '[')), error::too_deep);  // no stack overflow
  lim.max_message_bytes = 5;
  EXPECT_EQ(load_error("[1,2,3]", lim), error::too_large);
}

TEST(SocketioPubsub, OlderSendersBareDataIsOneArgument) {
  // python-socketio before 5.15.1 published the bare value; 5.16.2's receiver treats it as one arg.
  auto m = std::get<rp::emit_message>(must_decode(emit_with("data", R"({"x": 1})")));
  EXPECT_EQ(m.data, (json::array{json::object{{"x", 1}}}));
  // Optional emit fields absent: python-socketio reads them with .get().
  json::object o = must_load(py_emit_skip).as_object();
  o.erase("binary");
  o.erase("room");
  o.erase("skip_sid");
  o.erase("callback");
  auto e = std::get<rp::emit_message>(must_decode(rp::dump_json(o, rp::json_style::stdlib)));
  EXPECT_FALSE(e.binary);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(e.room));
  EXPECT_FALSE(e.callback);
  // Unknown keys are ignored.
  o["future_field"] = json::array{1, 2};
  EXPECT_TRUE(std::holds_alternative<rp::message>(rp::decode(rp::dump_json(o, rp::json_style::compact))));
}

// ---------------------------------------------------------------------------------------------
// Malformed messages

TEST(SocketioPubsub, RejectsEveryMalformedClass) {
  struct bad_case {
    std::string text;
    error expected;
  };
  const std::string long_name(1025, 'r');
  std::string many_sids = "[";
  for (int i = 0; i < 1025; ++i) many_sids += (i ? ",\"s" : "\"s") + std::to_string(i) + "\"";
  many_sids += "]";
  std::string many_args = "[";
  for (int i = 0; i < 65; ++i) many_args += i ? ",1" : "1";
  many_args += "]";
  std::string deep_data = "[" + std::string(127, '[') + std::string(127, ']') + "]";
  const std::vector<bad_case> cases = {
      {"not json", error::invalid_json},
      {"[1, 2]", error::not_an_object},
      {"\"emit\"", error::not_an_object},
      {"{}", error::missing_field},
      {R"({"method": 1})", error::wrong_type},
      {R"({"method": "pickle", "host_id": ")" + H + "\"}", error::unknown_method},
      {R"({"method": "Emit"})", error::unknown_method},
      {emit_with("host_id", ""), error::missing_field},
      {emit_with("host_id", "\"" + std::string(31, 'a') + "\""), error::invalid_host_id},
      {emit_with("host_id", "\"" + std::string(33, 'a') + "\""), error::invalid_host_id},
      {emit_with("host_id", "\"0123456789ABCDEF0123456789ABCDEF\""), error::invalid_host_id},
      {emit_with("host_id", "\"0123456789abcdef0123456789abcdeg\""), error::invalid_host_id},
      {emit_with("host_id", "null"), error::wrong_type},
      {emit_with("event", ""), error::missing_field},
      {emit_with("event", "5"), error::wrong_type},
      {emit_with("event", "\"" + long_name + "\""), error::string_too_long},
      {emit_with("data", ""), error::missing_field},
      {emit_with("data", many_args), error::too_many_elements},
      {emit_with("data", deep_data), error::too_deep},
      {emit_with("namespace", ""), error::missing_field},
      {emit_with("namespace", "null"), error::wrong_type},
      {emit_with("namespace", "\"chat\""), error::invalid_namespace},
      {emit_with("namespace", "\"\""), error::invalid_namespace},
      {emit_with("namespace", "\"/" + long_name + "\""), error::string_too_long},
      {emit_with("binary", "1"), error::wrong_type},
      {emit_with("binary", "\"true\""), error::wrong_type},
      {emit_with("room", "5"), error::wrong_type},
      {emit_with("room", "{}"), error::wrong_type},
      {emit_with("room", "[]"), error::wrong_type},
      {emit_with("room", "[\"a\", 1]"), error::wrong_type},
      {emit_with("room", "\"" + long_name + "\""), error::string_too_long},
      {emit_with("room", "[\"" + long_name + "\"]"), error::string_too_long},
      {emit_with("room", many_sids), error::too_many_elements},
      {emit_with("skip_sid", "true"), error::wrong_type},
      {emit_with("skip_sid", "[null]"), error::wrong_type},
      {emit_with("skip_sid", many_sids), error::too_many_elements},
      {emit_with("skip_sid", "\"" + long_name + "\""), error::string_too_long},
      {emit_with("callback", "\"x\""), error::wrong_type},
      {emit_with("callback", "[\"r\", \"/\"]"), error::wrong_type},
      {emit_with("callback", "[\"r\", \"/\", 1, 2]"), error::wrong_type},
      {emit_with("callback", "[1, \"/\", 1]"), error::wrong_type},
      {emit_with("callback", "[\"r\", null, 1]"), error::wrong_type},
      {emit_with("callback", "[\"r\", \"/\", -1]"), error::invalid_ack_id},
      {emit_with("callback", "[\"r\", \"/\", 1.0]"), error::invalid_ack_id},
      {emit_with("callback", "[\"r\", \"/\", 18446744073709551616]"), error::invalid_ack_id},
      {emit_with("callback", "[\"r\", \"/\", \"1\"]"), error::wrong_type},
      {emit_with("callback", "[\"r\", \"x\", 1]"), error::invalid_namespace},
      {emit_with("callback", "[\"\", \"/\", 1]"), error::empty_sid},
      {emit_raw_data("[" + std::string(101, '1') + "]"), error::integer_too_long},
      {emit_raw_data("[NaN, -Infinity, 1e999]"), error::stopped},  // accepted: see below
      {R"({"method": "callback", "host_id": ")" + H + R"(", "sid": "s", "namespace": "/", "id": -3, "args": []})",
       error::invalid_ack_id},
      {R"({"method": "callback", "host_id": ")" + H + R"(", "sid": "s", "namespace": "/", "id": 1, "args": {}})",
       error::wrong_type},
      {R"({"method": "callback", "host_id": ")" + H + R"(", "sid": "s", "namespace": "/", "id": 1})",
       error::missing_field},
      {R"({"method": "callback", "host_id": ")" + H + R"(", "sid": "", "namespace": "/", "id": 1, "args": []})",
       error::empty_sid},
      {R"({"method": "callback", "host_id": ")" + H + R"(", "sid": "s", "namespace": "/", "id": 1, "args": )" +
           many_args + "}",
       error::too_many_elements},
      {R"({"method": "disconnect", "namespace": "/", "host_id": ")" + H + "\"}", error::missing_field},
      {R"({"method": "disconnect", "sid": ["a"], "namespace": "/", "host_id": ")" + H + "\"}", error::wrong_type},
      {R"({"method": "disconnect", "sid": "a", "namespace": "/", "host_id": 5})", error::wrong_type},
      {R"({"method": "enter_room", "sid": "a", "namespace": "/", "host_id": ")" + H + "\"}", error::missing_field},
      {R"({"method": "enter_room", "sid": "a", "room": null, "namespace": "/", "host_id": ")" + H + "\"}",
       error::wrong_type},
      {R"({"method": "leave_room", "sid": "", "room": "r", "namespace": "/", "host_id": ")" + H + "\"}",
       error::empty_sid},
      {R"({"method": "leave_room", "sid": "a", "room": ")" + long_name + R"(", "namespace": "/", "host_id": ")" + H + "\"}",
       error::string_too_long},
      {R"({"method": "close_room", "room": "r", "namespace": "x", "host_id": ")" + H + "\"}", error::invalid_namespace},
      {R"({"method": "close_room", "room": "r", "host_id": ")" + H + "\"}", error::missing_field},
  };
  for (const auto& c : cases) {
    if (c.expected == error::stopped) {
      EXPECT_TRUE(std::holds_alternative<rp::message>(rp::decode(c.text))) << c.text;
      continue;
    }
    const auto e = must_fail(c.text);
    EXPECT_EQ(e.code, make_error_code(c.expected)) << c.text << "\n -> " << e.code.message() << " at " << e.where;
    EXPECT_EQ(e.where.find(long_name), std::string::npos);
  }
  rp::limits small;
  small.max_message_bytes = 64;
  EXPECT_EQ(must_fail(py_emit_ack, small).code, make_error_code(error::too_large));
}

TEST(SocketioPubsub, ErrorsNameTheField) {
  EXPECT_EQ(must_fail(emit_with("skip_sid", "[\"a\", \"b\", 3]")).where, "skip_sid[2]");
  EXPECT_EQ(must_fail(emit_with("callback", "[\"r\", \"/\", -1]")).where, "callback[2]");
  rp::limits lim;
  lim.max_depth = 4;
  EXPECT_EQ(must_fail(emit_with("data", "[{\"k\": [[1]]}]"), lim).where.substr(0, 7), "offset ");
  auto built = std::get<rp::emit_message>(must_decode(emit_with("data", "[{\"k\": [[1]]}]")));
  ASSERT_TRUE(rp::validate(built, lim));
  EXPECT_EQ(rp::validate(built, lim)->code, make_error_code(error::too_deep));
  EXPECT_EQ(rp::validate(built, lim)->where, "data[0]{0}[0]");
  EXPECT_EQ(rp::make_error_code(error::unknown_method).category().name(), std::string("owcore.realtime.socketio_pubsub"));
}

// ---------------------------------------------------------------------------------------------
// Binary attachments

TEST(SocketioPubsub, BinaryPlaceholdersConvertBothWays) {
  rp::event_args ea;
  json::object arg;
  arg["document_id"] = "note:1";
  arg["update"] = rp::add_attachment(ea, std::string("\x00\x01\x02", 3));
  arg["more"] = json::array{rp::add_attachment(ea, "hello"), rp::add_attachment(ea, "")};
  ea.args.emplace_back(std::move(arg));
  ea.args.emplace_back("second");
  EXPECT_EQ(rp::dump_json(ea.args, rp::json_style::stdlib),
            R"([{"document_id": "note:1", "update": {"_placeholder": true, "num": 0}, "more": [{"_placeholder": true, "num": 1}, {"_placeholder": true, "num": 2}]}, "second"])");
  auto [data, binary] = rp::to_wire(ea);
  EXPECT_TRUE(binary);
  // base64.b64encode(b'\x00\x01\x02'), b'hello', b''
  EXPECT_EQ(rp::dump_json(data, rp::json_style::stdlib),
            R"([[{"document_id": "note:1", "update": {"_placeholder": true, "num": 0}, "more": [{"_placeholder": true, "num": 1}, {"_placeholder": true, "num": 2}]}, "second"], "AAEC", "aGVsbG8=", ""])");
  auto back = rp::from_wire(data, true);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, ea);

  // Without attachments the args are the data, binary false.
  rp::event_args plain{json::array{1, "x"}, {}};
  auto [pdata, pbin] = rp::to_wire(plain);
  EXPECT_FALSE(pbin);
  EXPECT_EQ(pdata, plain.args);

  // Python's own binary emit decodes to the raw bytes.
  auto m = std::get<rp::emit_message>(must_decode(py_emit_binary));
  auto args = rp::get_args(m);
  ASSERT_TRUE(args);
  ASSERT_EQ(args->attachments.size(), 1u);
  EXPECT_EQ(args->attachments[0], std::string("\x00\x01\xFE\xFF", 4));
  EXPECT_TRUE(rp::is_placeholder(args->args.at(0).at("update")));

  // Every base64 tail length and all byte values.
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t n = 0; n <= 5; ++n) {
    rp::event_args x;
    x.args.emplace_back(rp::add_attachment(x, all.substr(0, 256 - n)));
    auto [d, b] = rp::to_wire(x);
    auto r = rp::from_wire(d, b);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, x);
  }
}

TEST(SocketioPubsub, PlaceholderDetectionFollowsPythonTruthiness) {
  EXPECT_TRUE(rp::is_placeholder(json::object{{"_placeholder", true}, {"num", 0}}));
  EXPECT_TRUE(rp::is_placeholder(json::object{{"_placeholder", 1}, {"num", 0}}));
  EXPECT_TRUE(rp::is_placeholder(json::object{{"_placeholder", "yes"}, {"num", 0}}));
  EXPECT_FALSE(rp::is_placeholder(json::object{{"_placeholder", false}, {"num", 0}}));
  EXPECT_FALSE(rp::is_placeholder(json::object{{"_placeholder", 0}, {"num", 0}}));
  EXPECT_FALSE(rp::is_placeholder(json::object{{"_placeholder", ""}, {"num", 0}}));
  EXPECT_FALSE(rp::is_placeholder(json::object{{"_placeholder", true}}));
  EXPECT_FALSE(rp::is_placeholder(json::array{true, 0}));
  // Not binary: placeholders are left alone, as Python does.
  auto m = std::get<rp::emit_message>(must_decode(emit_with("data", R"([{"_placeholder": true, "num": 9}])")));
  auto args = rp::get_args(m);
  ASSERT_TRUE(args);
  EXPECT_TRUE(args->attachments.empty());
}

TEST(SocketioPubsub, RejectsMalformedBinary) {
  auto bin = [](const std::string& data) {
    json::object o = must_load(py_emit_binary).as_object();
    o["data"] = must_load(data);
    return rp::dump_json(o, rp::json_style::stdlib);
  };
  for (const std::string& data : std::vector<std::string>{
           R"([])",                                                      // no payload
           R"([[{"_placeholder": true, "num": 1}], "AAAA"])",            // num out of range
           R"([[{"_placeholder": true, "num": -1}], "AAAA"])",           // Python would index from the end
           R"([[{"_placeholder": true, "num": 0.0}], "AAAA"])",
           R"([[{"_placeholder": true, "num": "0"}], "AAAA"])",
           R"([[{"_placeholder": true, "num": 0}]])",                    // no attachments at all
           R"([[1], 5])",                                                // attachment not a string
           R"([[1], "AAA"])",                                            // length not a multiple of 4
           R"([[1], "AA=A"])",                                           // padding in the middle
           R"([[1], "A==="])",
           R"([[1], "AA AA"])",
           R"([[1], "AA-_"])",                                           // URL-safe alphabet
           R"([[[{"_placeholder": true, "num": 2}]], "AAAA"])",          // nested deep
       })
    EXPECT_EQ(must_fail(bin(data)).code, make_error_code(error::invalid_binary)) << data;
  EXPECT_EQ(must_fail(bin(R"("AAAA")")).code, make_error_code(error::invalid_binary));
  std::string many = "[[1]";
  for (int i = 0; i < 65; ++i) many += ", \"AAAA\"";
  many += "]";
  EXPECT_EQ(must_fail(bin(many)).code, make_error_code(error::too_many_elements));
  // A pre-5.15.1 sender's bare binary payload is one argument.
  auto old = std::get<rp::emit_message>(must_decode(bin(R"([{"u": {"_placeholder": true, "num": 0}}, "AAH+/w=="])")));
  auto args = rp::get_args(old);
  ASSERT_TRUE(args);
  ASSERT_EQ(args->args.size(), 1u);
  EXPECT_TRUE(args->args[0].is_object());
  // from_wire checks the same things for messages built in C++.
  EXPECT_EQ(rp::from_wire(json::array{json::array{rp::make_placeholder(1)}, "AAAA"}, true).error(),
            make_error_code(error::invalid_binary));
  rp::emit_message built = std::get<rp::emit_message>(sample_messages()[4]);
  built.data.emplace_back("not base64!");
  ASSERT_TRUE(rp::validate(built));
  EXPECT_EQ(rp::validate(built)->code, make_error_code(error::invalid_binary));
}

// ---------------------------------------------------------------------------------------------
// Host ids and the self-filter

TEST(SocketioPubsub, HostIdsAreUuid4Hex) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto h = rp::make_host_id();
    ASSERT_TRUE(rp::valid_host_id(h)) << h;
    EXPECT_EQ(h[12], '4');                                   // version
    EXPECT_NE(std::string("89ab").find(h[16]), std::string::npos);  // variant
    EXPECT_TRUE(seen.insert(h).second);
  }
  EXPECT_FALSE(rp::valid_host_id(""));
  EXPECT_FALSE(rp::valid_host_id("0123456789abcdef-123456789abcdef"));
  EXPECT_FALSE(rp::valid_host_id("0123456789abcdef0123456789abcdeF"));
}

TEST(SocketioPubsub, SelfFilterIgnoresOwnExceptCallbacks) {
  for (const auto& m : sample_messages()) {
    const bool is_callback = std::holds_alternative<rp::callback_message>(m);
    EXPECT_EQ(rp::should_process(m, H), is_callback) << rp::method_name(m);
    EXPECT_EQ(rp::should_process(m, H2), !is_callback) << rp::method_name(m);
  }
  rp::message m = rp::close_room_message{"r", "/", ""};
  rp::host_id_of(m) = H2;
  EXPECT_EQ(rp::host_id_of(m), H2);
  EXPECT_FALSE(rp::should_process(m, H2));
  EXPECT_EQ(rp::method_name(m), "close_room");
}

TEST(SocketioPubsub, ValidateChecksBuiltMessages) {
  for (const auto& m : sample_messages()) EXPECT_FALSE(rp::validate(m)) << rp::method_name(m);
  rp::emit_message e = std::get<rp::emit_message>(sample_messages()[0]);
  e.host_id.clear();
  EXPECT_EQ(rp::validate(e)->code, make_error_code(error::invalid_host_id));
  e.host_id = H;
  e.nsp = "";
  EXPECT_EQ(rp::validate(e)->code, make_error_code(error::invalid_namespace));
  rp::disconnect_message d{"", "/", H};
  EXPECT_EQ(rp::validate(d)->code, make_error_code(error::empty_sid));
}

}  // namespace socketio_pubsub_test
