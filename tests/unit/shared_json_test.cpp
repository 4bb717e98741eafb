// Reading the JSON Python writes into the shared dicts (stdlib json and orjson), and writing JSON
// both can read (docs/wire.md, "Rules for a mixed fleet").
#include "owcore/coord/shared/shared_dict.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace shared_json_test {

namespace shared = owcore::coord::shared;
namespace json = boost::json;

namespace {

json::value parsed(std::string_view text) {
  auto r = shared::parse_json(text);
  EXPECT_TRUE(r) << text;
  return r ? *r : json::value{};
}

}  // namespace

TEST(SharedJson, ReadsStdlibDefaultSeparatorsAndAsciiEscapes) {
  // json.dumps({"name": "Zoë", "ids": [1, 2], "info": {"k": None}, "ok": True})
  auto v = parsed(R"({"name": "Zo\u00eb", "ids": [1, 2], "info": {"k": null}, "ok": true})");
  ASSERT_TRUE(v.is_object());
  EXPECT_EQ(v.at("name").as_string(), "Zo\xc3\xab");
  EXPECT_EQ(v.at("ids"), (json::array{1, 2}));
  EXPECT_TRUE(v.at("info").at("k").is_null());
  EXPECT_TRUE(v.at("ok").as_bool());
}

TEST(SharedJson, ReadsOrjsonCompactUtf8) {
  auto v = parsed("{\"name\":\"Zo\xc3\xab \xf0\x9f\x98\x80\",\"updated_at\":1700000000,\"f\":1.5}");
  EXPECT_EQ(v.at("name").as_string(), "Zo\xc3\xab \xf0\x9f\x98\x80");
  EXPECT_TRUE(v.at("updated_at").is_int64());
  EXPECT_EQ(v.at("updated_at").as_int64(), 1700000000);
  EXPECT_DOUBLE_EQ(v.at("f").as_double(), 1.5);
}

TEST(SharedJson, SurrogatePairsAndLoneSurrogates) {
  // json.dumps("😀") == '"\\ud83d\\ude00"'; json.dumps("\ud800") keeps the lone surrogate.
  EXPECT_EQ(parsed(R"("\ud83d\ude00")").as_string(), "\xf0\x9f\x98\x80");
  EXPECT_EQ(parsed(R"({"a": "x\ud800y", "b": "\udc00"})").at("a").as_string(), "x\xef\xbf\xbdy");
  EXPECT_EQ(parsed(R"({"a": "x\ud800y", "b": "\udc00"})").at("b").as_string(), "\xef\xbf\xbd");
  EXPECT_EQ(parsed(R"(["\ud800\ud800\udc00"])").at(0).as_string(), "\xef\xbf\xbd\xf0\x90\x80\x80");
}

TEST(SharedJson, NanAndInfinityTokensBecomeNull) {
  // json.dumps({"a": float("nan"), "b": [float("inf"), -float("inf")]})
  auto v = parsed(R"({"a": NaN, "b": [Infinity, -Infinity], "c": 1})");
  EXPECT_TRUE(v.at("a").is_null());
  EXPECT_TRUE(v.at("b").at(0).is_null());
  EXPECT_TRUE(v.at("b").at(1).is_null());
  EXPECT_EQ(v.at("c").as_int64(), 1);
  // The tokens inside strings are text, and stay so.
  auto s = parsed(R"({"NaN": "NaN Infinity -Infinity", "x": NaN})");
  EXPECT_EQ(s.at("NaN").as_string(), "NaN Infinity -Infinity");
  EXPECT_TRUE(s.at("x").is_null());
  // Escaped quotes do not end a string early.
  auto q = parsed(R"({"a": "say \"NaN\"", "b": NaN})");
  EXPECT_EQ(q.at("a").as_string(), "say \"NaN\"");
}

TEST(SharedJson, BigIntegersDeepNestingAndGarbage) {
  auto big = parsed("123456789012345678901234567890");
  EXPECT_TRUE(big.is_double());
  EXPECT_TRUE(parsed("18446744073709551615").is_uint64());
  std::string deep(200, '[');
  deep += std::string(200, ']');
  EXPECT_TRUE(shared::parse_json(deep));
  for (std::string_view bad : {"", "{", "{\"a\": }", "nan", "NaNx", "[1,]", "\x80"}) {
    auto r = shared::parse_json(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error(), shared::error::bad_value);
  }
}

TEST(SharedJson, WritesCompactJsonAndNullForNonFinite) {
  json::object o;
  o["name"] = "Zo\xc3\xab";
  o["n"] = 1700000000;
  o["list"] = json::array{};
  EXPECT_EQ(shared::serialize_json(o), "{\"name\":\"Zo\xc3\xab\",\"n\":1700000000,\"list\":[]}");
  json::object f;
  f["nan"] = std::nan("");
  f["inf"] = json::array{std::numeric_limits<double>::infinity(), 2.5};
  auto text = shared::serialize_json(f);
  EXPECT_EQ(text, "{\"nan\":null,\"inf\":[null,2.5E0]}");
  // What we write, we read back.
  EXPECT_TRUE(shared::parse_json(text));
}

}  // namespace shared_json_test
