// Session ids, the key schema, the starsessions JSON codec and RFC 7386 merge patch.
#include "owcore/coord/sessions/error.hpp"
#include "owcore/coord/sessions/keys.hpp"
#include "owcore/coord/sessions/session_data.hpp"
#include "owcore/coord/sessions/session_id.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace session_data_test {

namespace sessions = owcore::coord::sessions;
namespace json = boost::json;
using sessions::session_id;

TEST(SessionId, GeneratesThirtyTwoLowercaseHexUniqueIds) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    auto id = session_id::generate();
    ASSERT_EQ(id.str().size(), 32u);
    ASSERT_TRUE(session_id::well_formed(id.str())) << id.str();
    ASSERT_TRUE(seen.insert(id.str()).second);
  }
}

TEST(SessionId, ParseAcceptsOnlyTheServerFormat) {
  EXPECT_TRUE(session_id::parse("0123456789abcdef0123456789abcdef"));
  EXPECT_EQ(session_id::parse("0123456789abcdef0123456789abcdef")->str(),
            "0123456789abcdef0123456789abcdef");
  for (std::string bad : {std::string(""), std::string("0123456789ABCDEF0123456789abcdef"),
                          std::string("0123456789abcdef0123456789abcde"),
                          std::string("0123456789abcdef0123456789abcdef0"),
                          std::string("0123456789abcdef0123456789abcdeg"),
                          std::string("0123456789abcdef0123456789abcde "),
                          std::string("../../../../../../../../../../xx"),
                          std::string("*"), std::string("x}:{a"), std::string("''"),
                          std::string("null"), std::string("0123456789abcdef\0" "123456789abcde", 31) + "f",
                          std::string(1000, 'a')}) {
    EXPECT_FALSE(session_id::parse(bad)) << bad;
    EXPECT_FALSE(session_id::well_formed(bad)) << bad;
  }
}

TEST(SessionKeys, MatchStarsessionsPrefixes) {
  auto id = *session_id::parse("00112233445566778899aabbccddeeff");
  EXPECT_EQ(sessions::keys::session("open-webui", id),
            "open-webui:session:00112233445566778899aabbccddeeff");
  EXPECT_EQ(sessions::keys::session("", id), "session:00112233445566778899aabbccddeeff");
  EXPECT_EQ(sessions::keys::session("{t}x", id), "{t}x:session:00112233445566778899aabbccddeeff");
}

TEST(SessionData, DecodesPythonsJsonAndSplitsMetadata) {
  // json.dumps of what starsessions stores (default separators, ASCII escapes).
  auto r = sessions::decode_stored_session(
      R"({"_state_google_xyz": {"data": {"nonce": "n\u00e9"}, "exp": 1700003600}, )"
      R"("__metadata__": {"lifetime": 0, "created": 1700000000.25, "last_access": 1700000100.5}})",
      5.0);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->data, json::parse(R"({"_state_google_xyz":{"data":{"nonce":"né"},"exp":1700003600}})"));
  EXPECT_EQ(r->metadata.lifetime, 0);
  EXPECT_DOUBLE_EQ(r->metadata.created, 1700000000.25);
  EXPECT_DOUBLE_EQ(r->metadata.last_access, 1700000100.5);
}

TEST(SessionData, MissingMetadataTakesDefaultsAndGarbageIsRejected) {
  auto r = sessions::decode_stored_session(R"({"a":1,"__metadata__":{"created":"x"}})", 42.5);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->data, json::parse(R"({"a":1})"));
  EXPECT_DOUBLE_EQ(r->metadata.created, 42.5);
  EXPECT_DOUBLE_EQ(r->metadata.last_access, 42.5);

  auto empty = sessions::decode_stored_session("", 1.0);
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->data.empty());

  // Python's json.dumps writes NaN and Infinity tokens and json.loads reads them back.
  auto nan = sessions::decode_stored_session(R"({"a":NaN,"b":-Infinity})", 1.0);
  ASSERT_TRUE(nan);
  EXPECT_TRUE(std::isnan(nan->data.at("a").as_double()));
  EXPECT_EQ(nan->data.at("b").as_double(), -std::numeric_limits<double>::infinity());

  for (std::string bad : {"[]", "null", "1", "{", "{\"a\":nan}", "\x80\x81", "\"str\""}) {
    auto b = sessions::decode_stored_session(bad, 1.0);
    ASSERT_FALSE(b) << bad;
    EXPECT_EQ(b.error(), sessions::error::bad_session_data);
  }
}

TEST(SessionData, EncodesDataThenMetadata) {
  auto data = json::parse(R"({"b":1,"a":{"x":[true,null]},"__metadata__":"ignored"})").as_object();
  auto text = sessions::encode_stored_session(data, {0, 1700000000.5, 1700000001.25});
  auto back = json::parse(text).as_object();
  ASSERT_EQ(back.size(), 3u);
  auto it = back.begin();
  EXPECT_EQ(it->key(), "b");
  EXPECT_EQ((++it)->key(), "a");
  EXPECT_EQ((++it)->key(), "__metadata__");
  const auto& m = back.at("__metadata__").as_object();
  EXPECT_TRUE(m.at("lifetime").is_int64());
  EXPECT_EQ(m.at("lifetime").as_int64(), 0);
  EXPECT_TRUE(m.at("created").is_double());
  EXPECT_DOUBLE_EQ(m.at("created").as_double(), 1700000000.5);
  EXPECT_DOUBLE_EQ(m.at("last_access").as_double(), 1700000001.25);
  // Full double precision survives the round trip (Python's time.time() has microseconds).
  auto precise = sessions::decode_stored_session(
      sessions::encode_stored_session({}, {0, 1732579200.123456, 1732579201.654321}), 0);
  ASSERT_TRUE(precise);
  EXPECT_EQ(precise->metadata.created, 1732579200.123456);
  EXPECT_EQ(precise->metadata.last_access, 1732579201.654321);
}

// RFC 7386 Appendix A, every example.
TEST(SessionMergePatch, Rfc7386AppendixA) {
  struct example {
    const char* target;
    const char* patch;
    const char* result;
  };
  const example examples[] = {
      {R"({"a":"b"})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"b"})", R"({"b":"c"})", R"({"a":"b","b":"c"})"},
      {R"({"a":"b"})", R"({"a":null})", R"({})"},
      {R"({"a":"b","b":"c"})", R"({"a":null})", R"({"b":"c"})"},
      {R"({"a":["b"]})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"c"})", R"({"a":["b"]})", R"({"a":["b"]})"},
      {R"({"a":{"b":"c"}})", R"({"a":{"b":"d","c":null}})", R"({"a":{"b":"d"}})"},
      {R"({"a":[{"b":"c"}]})", R"({"a":[1]})", R"({"a":[1]})"},
      {R"(["a","b"])", R"(["c","d"])", R"(["c","d"])"},
      {R"({"a":"b"})", R"(["c"])", R"(["c"])"},
      {R"({"a":"foo"})", R"(null)", R"(null)"},
      {R"({"a":"foo"})", R"("bar")", R"("bar")"},
      {R"({"e":null})", R"({"a":1})", R"({"e":null,"a":1})"},
      {R"([1,2])", R"({"a":"b","c":null})", R"({"a":"b"})"},
      {R"({})", R"({"a":{"bb":{"ccc":null}}})", R"({"a":{"bb":{}}})"},
  };
  for (const auto& e : examples) {
    json::value target = json::parse(e.target);
    sessions::merge_patch(target, json::parse(e.patch));
    EXPECT_EQ(target, json::parse(e.result)) << e.target << " + " << e.patch << " = "
                                             << json::serialize(target);
  }
}

// Found by tests/fuzz/auth_fuzz.cpp: a lifetime of Infinity (or 1e400) was cast to an integer,
// which is undefined behaviour. Such a lifetime keeps the default.
TEST(SessionData, NonFiniteOrHugeLifetimeKeepsTheDefault) {
  for (std::string text : {R"({"__metadata__":{"lifetime":Infinity}})", R"({"__metadata__":{"lifetime":1e400}})",
                           R"({"__metadata__":{"lifetime":NaN}})", R"({"__metadata__":{"lifetime":1e300}})"}) {
    auto r = sessions::decode_stored_session(text, 5.0);
    ASSERT_TRUE(r) << text;
    EXPECT_EQ(r->metadata.lifetime, 0) << text;
  }
}

}  // namespace session_data_test
