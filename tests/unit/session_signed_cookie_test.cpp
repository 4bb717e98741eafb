// The Starlette/itsdangerous signed session cookie, sans-io. Known-answer vectors come from
// tests/integration/python/session_interop.py (`vectors` mode), a standard-library
// re-implementation checked against itsdangerous' own documented output ("my string" below).
#include "owcore/coord/sessions/error.hpp"
#include "owcore/coord/sessions/signed_cookie.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace session_signed_cookie_test {

namespace sessions = owcore::coord::sessions;
namespace json = boost::json;
using sessions::timestamp_signer;

namespace {

constexpr std::int64_t t0 = 1700000000;
constexpr std::int64_t fourteen_days = 14 * 24 * 3600;

json::object obj(std::string_view text) { return json::parse(text).as_object(); }

}  // namespace

TEST(SessionBase64, RoundTripsBothAlphabets) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (std::size_t n = 0; n <= all.size(); n += 1) {
    auto in = all.substr(0, n);
    for (bool url : {false, true}) {
      auto enc = sessions::base64_encode(in, url);
      auto dec = sessions::base64_decode(enc, url);
      ASSERT_TRUE(dec) << n << " " << url << " " << enc;
      EXPECT_EQ(*dec, in);
    }
  }
}

TEST(SessionBase64, MatchesPythonSpelling) {
  EXPECT_EQ(sessions::base64_encode("", false), "");
  EXPECT_EQ(sessions::base64_encode("f", false), "Zg==");
  EXPECT_EQ(sessions::base64_encode("fo", false), "Zm8=");
  EXPECT_EQ(sessions::base64_encode("foo", false), "Zm9v");
  EXPECT_EQ(sessions::base64_encode("\xfb\xff", false), "+/8=");
  EXPECT_EQ(sessions::base64_encode("\xfb\xff", true), "-_8");
  EXPECT_EQ(sessions::base64_encode("f", true), "Zg");
}

TEST(SessionBase64, RejectsNonCanonicalAndForeignInput) {
  EXPECT_FALSE(sessions::base64_decode("Zg", false));     // missing padding
  EXPECT_FALSE(sessions::base64_decode("Zg==", true));    // padding in URL-safe
  EXPECT_FALSE(sessions::base64_decode("Zh==", false));   // non-zero trailing bits
  EXPECT_FALSE(sessions::base64_decode("-_8=", false));   // URL-safe chars in standard
  EXPECT_FALSE(sessions::base64_decode("+/8", true));     // standard chars in URL-safe
  EXPECT_FALSE(sessions::base64_decode("Z", true));       // impossible length
  EXPECT_FALSE(sessions::base64_decode("Z===", false));
  EXPECT_FALSE(sessions::base64_decode("Zg=a", false));
  EXPECT_FALSE(sessions::base64_decode("Zm 9v", false));
}

TEST(SessionSigner, ItsdangerousDocumentedSignature) {
  // docs/signer.rst of itsdangerous 2.2: Signer("secret-key").sign("my string").
  timestamp_signer s("secret-key");
  EXPECT_EQ(s.signature("my string"), "wh6tMHxLgJqB6oY1uT73iMlyrOA");
}

TEST(SessionSigner, KnownAnswerVectors) {
  timestamp_signer s("secret-key");
  EXPECT_EQ(s.sign("hello", t0), "hello.ZVPxAA.UQx3EIPGLNk6IyY28rz4wwlRRWI");
  EXPECT_EQ(s.sign("", 0), "..xriT6H6fO4xbeOB_Fra1EcBpzlc");
  EXPECT_EQ(s.sign("v", 255), "v._w.u0GYwMSLW0hJhBJF9vicXI0nzfA");
  timestamp_signer u("ключ-🔑");
  EXPECT_EQ(u.sign("hello", t0), "hello.ZVPxAA.y56w5v4Ur0Dn9KRNtlHdkKHz8dI");
}

TEST(SessionSigner, UnsignRoundTripAndAge) {
  timestamp_signer s("k");
  auto signed_value = s.sign("payload.with.dots", t0);
  auto v = s.unsign(signed_value, t0, fourteen_days);
  ASSERT_TRUE(v) << v.error().message();
  EXPECT_EQ(*v, "payload.with.dots");
  EXPECT_TRUE(s.unsign(signed_value, t0 + fourteen_days, fourteen_days));        // age == max
  EXPECT_EQ(s.unsign(signed_value, t0 + fourteen_days + 1, fourteen_days).error(),
            sessions::error::expired);
  EXPECT_EQ(s.unsign(signed_value, t0 - 1, fourteen_days).error(), sessions::error::expired);
  EXPECT_TRUE(s.unsign(signed_value, t0 + 10 * fourteen_days, std::nullopt));     // no age check
}

TEST(SessionSigner, RejectsTamperingAndGarbage) {
  timestamp_signer s("k");
  const std::string good = s.sign("eyJhIjoxfQ==", t0);
  auto bad = [&](std::string v, sessions::error e) {
    auto r = s.unsign(v, t0, fourteen_days);
    ASSERT_FALSE(r) << v;
    EXPECT_EQ(r.error(), e) << v;
  };
  // Every single-character change anywhere is caught.
  for (std::size_t i = 0; i < good.size(); ++i) {
    auto t = good;
    t[i] = t[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(s.unsign(t, t0, fourteen_days)) << t;
  }
  bad("", sessions::error::malformed_cookie);
  bad("nodots", sessions::error::malformed_cookie);
  bad(good + "x", sessions::error::bad_signature);
  bad(good.substr(0, good.size() - 1), sessions::error::bad_signature);
  bad(good + "=", sessions::error::bad_signature);
  bad("null", sessions::error::malformed_cookie);
  bad("''", sessions::error::malformed_cookie);
  bad(timestamp_signer("other key").sign("eyJhIjoxfQ==", t0), sessions::error::bad_signature);
  bad(timestamp_signer("k", "itsdangerous").sign("eyJhIjoxfQ==", t0), sessions::error::bad_signature);
  // A plain Signer value (no timestamp) with a valid signature: the timestamp is missing.
  auto no_ts = std::string("abc.") + s.signature("abc");
  bad(no_ts, sessions::error::malformed_cookie);
  // A validly signed timestamp of more than 8 bytes.
  auto long_ts = std::string("v.") + sessions::base64_encode("123456789", true);
  bad(long_ts + "." + s.signature(long_ts), sessions::error::malformed_cookie);
  // Huge binary junk.
  bad(std::string(100000, '\xff'), sessions::error::malformed_cookie);
}

TEST(SessionCookie, ReadsStarlettesCookies) {
  timestamp_signer s("s3cr3t");
  // Python's json.dumps spelling, as Starlette writes it.
  auto r = sessions::decode_session_cookie(
      s, "eyJhIjogMSwgImIiOiAieCJ9.ZVPxAA.OoxBbrXDwuhZPcax-j75JB8yX7Q", t0 + 5, fourteen_days);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, obj(R"({"a":1,"b":"x"})"));

  auto nested = sessions::decode_session_cookie(
      s,
      "eyJfc3RhdGVfZ29vZ2xlX2FiYyI6IHsiZGF0YSI6IHsicmVkaXJlY3RfdXJpIjogImh0dHBzOi8veC9jYiIsICJub25j"
      "ZSI6ICJuIn0sICJleHAiOiAxNzAwMDAzNjAwLjV9LCAiXHUwMGZjblx1MDBlZiI6ICJcdTAwZTdhIHZhIn0=.ZVPxAA."
      "XF3k7jIem7rMfK94JyeVzqw7EMg",
      t0, fourteen_days);
  ASSERT_TRUE(nested) << nested.error().message();
  EXPECT_EQ(*nested, obj(R"({"_state_google_abc":{"data":{"redirect_uri":"https://x/cb","nonce":"n"},
                              "exp":1700003600.5},"ünï":"ça va"})"));
}

TEST(SessionCookie, WritesWhatPythonVerifies) {
  timestamp_signer s("s3cr3t");
  EXPECT_EQ(sessions::encode_session_cookie(s, obj(R"({"a":1,"b":"x"})"), t0),
            "eyJhIjoxLCJiIjoieCJ9.ZVPxAA.gr6bNHSg-YyKo1e8UYu9_NKtLmY");
}

TEST(SessionCookie, RoundTripsAndRejectsBadPayloads) {
  timestamp_signer s("key");
  auto data = obj(R"({"k":[1,2,{"x":null}],"s":"\u00e9\"\\","n":-1.5e300})");
  auto c = sessions::encode_session_cookie(s, data, t0);
  auto back = sessions::decode_session_cookie(s, c, t0, fourteen_days);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, data);
  EXPECT_EQ(sessions::decode_session_cookie(s, c, t0 + fourteen_days + 1, fourteen_days).error(),
            sessions::error::expired);

  // Validly signed payloads that are not base64 of a JSON object.
  for (std::string payload : {sessions::base64_encode("[1,2]", false),
                              sessions::base64_encode("{\"a\":", false),
                              sessions::base64_encode("null", false), std::string("not base64!"),
                              std::string("")}) {
    auto r = sessions::decode_session_cookie(s, s.sign(payload, t0), t0, fourteen_days);
    ASSERT_FALSE(r) << payload;
    EXPECT_EQ(r.error(), sessions::error::bad_payload) << payload;
  }
}

}  // namespace session_signed_cookie_test
