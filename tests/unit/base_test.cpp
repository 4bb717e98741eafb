// The base layer (docs/architecture.md): ASCII case, base64, hex, CSPRNG, UUID4, UTF-8 and
// Python-compatible JSON, with known-answer vectors from RFC 4648 and Python's own json.dumps.

#include "owcore/base/ascii.hpp"
#include "owcore/base/base64.hpp"
#include "owcore/base/hex.hpp"
#include "owcore/base/pyjson.hpp"
#include "owcore/base/random.hpp"
#include "owcore/base/utf8.hpp"
#include "owcore/base/uuid.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <cmath>
#include <limits>
#include <regex>
#include <set>
#include <utility>
#include <variant>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace base_test {

namespace base = owcore::base;
namespace json = boost::json;
using base::base64_alphabet;
using base::base64_decode_options;
using base::base64_error;
using base::base64_padding;

namespace {

std::string must_decode(std::string_view text, const base64_decode_options& o = {}) {
  auto r = base::base64_decode(text, o);
  EXPECT_TRUE(r.has_value()) << text;
  return r ? *r : std::string{};
}

// A JSON string of every byte of a literal, embedded NULs included.
template <std::size_t N>
json::value str(const char (&s)[N]) {
  return json::value(json::string_view(s, N - 1));
}

base64_error decode_error_of(std::string_view text, const base64_decode_options& o = {}) {
  auto r = base::base64_decode(text, o);
  EXPECT_FALSE(r.has_value()) << text;
  return r ? base64_error{} : static_cast<base64_error>(r.error().value());
}

}  // namespace

// RFC 4648 §10 test vectors.
TEST(BaseBase64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base::base64_encode(plain), encoded);
    EXPECT_EQ(must_decode(encoded), plain);
    // Unpadded, URL-safe: the same characters without '='.
    std::string bare(encoded);
    while (!bare.empty() && bare.back() == '=') bare.pop_back();
    EXPECT_EQ(base::base64_encode(plain, base64_alphabet::url_safe, false), bare);
    EXPECT_EQ(
        must_decode(bare, {base64_alphabet::url_safe, false, base64_padding::forbidden, true}),
        plain);
  }
}

TEST(BaseBase64, AlphabetsDifferOnlyInTwoCharacters) {
  const std::string bytes("\xfb\xff\xbf", 3);
  EXPECT_EQ(base::base64_encode(bytes), "+/+/");
  EXPECT_EQ(base::base64_encode(bytes, base64_alphabet::url_safe), "-_-_");
  EXPECT_EQ(decode_error_of("-_-_"), base64_error::invalid_character);
  EXPECT_EQ(decode_error_of("+/+/", {base64_alphabet::url_safe}), base64_error::invalid_character);
  EXPECT_EQ(must_decode("+_-/", {base64_alphabet::url_safe, true}), bytes);
}

TEST(BaseBase64, RoundTripsEveryLengthAndByte) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t n = 0; n <= all.size(); n += 7) {
    const auto in = all.substr(0, n);
    for (auto a : {base64_alphabet::standard, base64_alphabet::url_safe}) {
      EXPECT_EQ(must_decode(base::base64_encode(in, a), {a}), in);
      EXPECT_EQ(
          must_decode(base::base64_encode(in, a, false), {a, false, base64_padding::optional}), in);
    }
  }
}

TEST(BaseBase64, StrictErrors) {
  EXPECT_EQ(decode_error_of("Zg"), base64_error::invalid_length);  // padding required
  EXPECT_EQ(decode_error_of("Zg="), base64_error::invalid_length);
  EXPECT_EQ(decode_error_of("Zh=="), base64_error::nonzero_trailing_bits);
  EXPECT_EQ(decode_error_of("Zm9=v"), base64_error::invalid_length);
  EXPECT_EQ(decode_error_of("Z==="), base64_error::invalid_character);  // '=' inside the data
  EXPECT_EQ(decode_error_of("Zg=a"), base64_error::invalid_character);
  EXPECT_EQ(decode_error_of("Zm 9v"), base64_error::invalid_length);
  EXPECT_EQ(decode_error_of("Zm\n9"),
            base64_error::invalid_character);  // whitespace is not skipped
  const base64_decode_options optional{base64_alphabet::standard, false, base64_padding::optional,
                                       true};
  EXPECT_EQ(must_decode("Zg", optional), "f");
  EXPECT_EQ(must_decode("Zg==", optional), "f");
  EXPECT_EQ(decode_error_of("Zg=", optional), base64_error::invalid_padding);
  EXPECT_EQ(decode_error_of("Z", optional), base64_error::invalid_length);
  const base64_decode_options forbidden{base64_alphabet::url_safe, false, base64_padding::forbidden,
                                        true};
  EXPECT_EQ(decode_error_of("Zg==", forbidden), base64_error::invalid_character);
  const base64_decode_options ignored{base64_alphabet::url_safe, false, base64_padding::ignored,
                                      false};
  EXPECT_EQ(must_decode("Zg=====", ignored), "f");
  EXPECT_EQ(must_decode("Zh", ignored), "f");  // trailing bits unchecked
  EXPECT_EQ(base::make_error_code(base64_error::invalid_padding).message(),
            "invalid base64 padding");
}

TEST(BaseHex, LowercaseTwoDigitsPerByte) {
  EXPECT_EQ(base::hex_encode(std::string("\x00\x0f\xa0\xff", 4)), "000fa0ff");
  EXPECT_EQ(base::hex_encode(""), "");
  EXPECT_TRUE(base::is_lower_hex("0123456789abcdef", 16));
  EXPECT_FALSE(base::is_lower_hex("0123456789abcdeF", 16));
  EXPECT_FALSE(base::is_lower_hex("0123456789abcdef", 15));
}

TEST(BaseRandom, FillsAndDiffers) {
  EXPECT_EQ(base::random_bytes(0), "");
  const auto a = base::random_bytes(64), b = base::random_bytes(64);
  EXPECT_EQ(a.size(), 64u);
  EXPECT_NE(a, b);
  EXPECT_NE(base::random_u64(), base::random_u64());
}

TEST(BaseUuid, Version4Shapes) {
  const std::regex text("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  const std::regex hex("^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}$");
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const auto u = base::uuid4();
    ASSERT_TRUE(std::regex_match(u, text)) << u;
    const auto h = base::uuid4_hex();
    ASSERT_TRUE(std::regex_match(h, hex)) << h;
    ASSERT_TRUE(seen.insert(u).second);
  }
}

TEST(BaseUtf8, ScanValidatesAndCountsUtf16Units) {
  auto s = base::scan_utf8("plain ascii, longer than eight bytes");
  EXPECT_TRUE(s.valid);
  EXPECT_EQ(s.utf16_units, 36u);
  s = base::scan_utf8("\xC3\xA9t\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");  // été € 😀
  EXPECT_TRUE(s.valid);
  EXPECT_EQ(s.utf16_units, 3u + 1 + 1 + 1 + 2);
  const std::pair<const char*, std::size_t> bad[] = {
      {"ab\x80", 2},                    // lone continuation
      {"\xC0\xAF", 0},                  // overlong '/'
      {"x\xE0\x80\xAF", 1},             // overlong, 3 bytes
      {"\xED\xA0\x80", 0},              // surrogate U+D800
      {"12345678\xF4\x90\x80\x80", 8},  // past U+10FFFF, after the ASCII fast path
      {"\xC3", 0},                      // truncated
  };
  for (const auto& [text, at] : bad) {
    s = base::scan_utf8(text);
    EXPECT_FALSE(s.valid) << text;
    EXPECT_EQ(s.bad_offset, at) << text;
    EXPECT_FALSE(base::valid_utf8(text));
  }
  EXPECT_TRUE(base::valid_utf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF
}

TEST(BaseUtf8, DecodeAndAppendRoundTrip) {
  for (char32_t cp :
       {U'\0', U'A', U'\u00e9', U'\u07ff', U'\u0800', U'\uffff', U'\U00010000', U'\U0010FFFF'}) {
    std::string s;
    base::append_utf8(s, cp);
    std::size_t i = 0;
    char32_t back = 0;
    ASSERT_TRUE(base::decode_utf8(s, i, back));
    EXPECT_EQ(back, cp);
    EXPECT_EQ(i, s.size());
  }
  std::size_t i = 0;
  char32_t cp = 0;
  EXPECT_FALSE(base::decode_utf8("\xE2\x82", i, cp));
  EXPECT_EQ(i, 1u);  // an ill-formed sequence consumes one byte
}

// Expected texts are what CPython 3.11's json.dumps prints for the same values.
TEST(BasePyjson, StdlibMatchesJsonDumps) {
  using base::pyjson::style;
  const std::pair<json::value, const char*> cases[] = {
      {str("a\x00"
           "b\x01\x1f\x7f\t\n\r\b\f\"\\/"),
       R"("a\u0000b\u0001\u001f\u007f\t\n\r\b\f\"\\/")"},
      {json::value("x\xF0\x9F\x98\x80y\xF0\x90\x80\x80\xF4\x8F\xBF\xBF"),
       R"("x\ud83d\ude00y\ud800\udc00\udbff\udfff")"},
      {json::value("\xC3\xA9\xE2\x82\xAC\xE2\x80\xA8\xEF\xBF\xBF"),
       R"("\u00e9\u20ac\u2028\uffff")"},
      {json::array{std::numeric_limits<double>::quiet_NaN(),
                   std::numeric_limits<double>::infinity(),
                   -std::numeric_limits<double>::infinity()},
       "[NaN, Infinity, -Infinity]"},
      {json::array{1.0 / 3, 1e16, 1e-5, 0.0001, 1e22, -0.0, 123456789012345678.0, 2.5},
       "[0.3333333333333333, 1e+16, 1e-05, 0.0001, 1e+22, -0.0, 1.2345678901234568e+17, 2.5]"},
      {json::array{std::uint64_t{9223372036854775808u}, std::int64_t{-9223372036854775807 - 1}},
       "[9223372036854775808, -9223372036854775808]"},
      {json::object{{"a", json::array{1, 2.5, nullptr, true, false, "\xC3\xA9"}},
                    {"b", json::object{}}},
       R"({"a": [1, 2.5, null, true, false, "\u00e9"], "b": {}})"},
  };
  for (const auto& [v, text] : cases) EXPECT_EQ(base::pyjson::dump(v, style::stdlib), text);
}

TEST(BasePyjson, CompactKeepsUtf8AndWritesNullForNonFinite) {
  using base::pyjson::style;
  EXPECT_EQ(base::pyjson::dump(str("a\x00\x7f\xC3\xA9\xF0\x9F\x98\x80/"), style::compact),
            "\"a\\u0000\x7f\xC3\xA9\xF0\x9F\x98\x80/\"");
  EXPECT_EQ(
      base::pyjson::dump(json::array{std::nan(""), 1.5, json::object{{"k", 1}}}, style::compact),
      R"([null,1.5,{"k":1}])");
  // Invalid UTF-8 never leaks into the output.
  EXPECT_EQ(base::pyjson::dump(json::value("a\xFF"), style::compact), "\"a\xEF\xBF\xBD\"");
  EXPECT_EQ(base::pyjson::dump(json::value("a\xFF"), style::stdlib), R"("a\ufffd")");
  std::string out = "x";
  base::pyjson::dump_string("\"", style::stdlib, out);
  EXPECT_EQ(out, R"(x"\"")");
  EXPECT_EQ(base::pyjson::item_separator(style::stdlib), ", ");
  EXPECT_EQ(base::pyjson::key_separator(style::compact), ":");
}

TEST(BasePyjson, LoadReadsWhatJsonDumpsWrites) {
  using base::pyjson::style;
  const char* texts[] = {
      R"({"a": [1, 2.5, null, true, false, "\u00e9"], "b": {}})",
      R"("x\ud83d\ude00y\ud800\udc00")",
      "[NaN, Infinity, -Infinity]",
  };
  for (const char* t : texts) {
    auto r = base::pyjson::load(t, 32);
    ASSERT_TRUE(std::holds_alternative<json::value>(r)) << t;
    EXPECT_EQ(base::pyjson::dump(std::get<json::value>(r), style::stdlib), t);
  }
  // A lone surrogate escape becomes U+FFFD; a BOM is skipped.
  auto r = base::pyjson::load("\xEF\xBB\xBF\"\\ud800x\"", 32);
  ASSERT_TRUE(std::holds_alternative<json::value>(r));
  EXPECT_EQ(std::get<json::value>(r).as_string(), "\xEF\xBF\xBDx");
}

TEST(BasePyjson, LoadFailuresCarryKindAndOffset) {
  using base::pyjson::load_error;
  using base::pyjson::load_failure;
  const auto fail_of = [](std::string_view text, std::size_t depth) {
    auto r = base::pyjson::load(text, depth);
    EXPECT_TRUE(std::holds_alternative<load_failure>(r)) << text;
    return std::holds_alternative<load_failure>(r) ? std::get<load_failure>(r) : load_failure{};
  };
  auto f = fail_of("[1, 2,]", 8);
  EXPECT_EQ(f.code, load_error::invalid_json);
  EXPECT_EQ(f.offset, 6u);
  EXPECT_EQ(fail_of("[[1]]", 1).code, load_error::too_deep);
  EXPECT_EQ(fail_of(std::string(101, '1'), 8).code, load_error::integer_too_long);
  EXPECT_EQ(fail_of("\"a\x01\"", 8).code,
            load_error::invalid_json);  // strict: no raw control characters
}

TEST(BaseAscii, LowersOnlyAsciiLetters) {
  EXPECT_EQ(base::ascii_lower("Redis_PASSWORD-9"), "redis_password-9");
  EXPECT_EQ(base::ascii_lower("\xC3\x89T\xC3\x89"), "\xC3\x89t\xC3\x89");  // ÉTÉ: only the T
  EXPECT_EQ(base::ascii_lower(""), "");
}

}  // namespace base_test
