// Unit tests for the Yjs v1 codec: lib0 primitives, decoder, encoder and merge (docs/yjs.md).
// Expected bytes were produced by npm yjs 13.6.33 (`Y.mergeUpdates`, `Y.diffUpdate`).
#include "owcore/yjs/lib0.hpp"
#include "owcore/yjs/merge.hpp"
#include "owcore/yjs/update.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace yjs_codec_test {

namespace yjs = owcore::yjs;
using yjs::byte_buffer;
using yjs::byte_view;

namespace {

byte_buffer hex(std::string_view h) {
  byte_buffer out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::string to_hex(byte_view b) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  for (std::uint8_t c : b) {
    s += digits[c >> 4];
    s += digits[c & 15];
  }
  return s;
}

std::string merge_hex(std::vector<std::string_view> inputs, yjs::merge_options opts = {}) {
  std::vector<byte_buffer> bufs;
  for (auto h : inputs) bufs.push_back(hex(h));
  std::vector<byte_view> views(bufs.begin(), bufs.end());
  auto r = yjs::merge_updates(views, opts);
  if (!r) return "error: " + r.error().message();
  return to_hex(*r);
}

// A yjs session of client 1 (text with an emoji, a map overwrite, an array, a delete): its updates
// in order, and Y.mergeUpdates of them.
const std::vector<std::string_view> session = {
    "01010100040101740661f09f98806200",
    "01010104840103016300",
    "010101052801016d016b01760201787d01017975047c3fc0000077017a7e7800",
    "01010106a80105017d020101010501",
    "0102010708010161027d017d0283010802010200",
    "000101010101",
};
constexpr std::string_view session_merged =
    "01060100040101740661f09f98806284010301632801016d016b01760201787d01017975047c3fc0000077017a7e"
    "78880105017d0208010161027d017d0283010802010201010201010501";

}  // namespace

TEST(yjs_lib0, var_uint_round_trip_and_canonical_form) {
  for (std::uint64_t v : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{127}, std::uint64_t{128},
                          std::uint64_t{300}, std::uint64_t{0xffffffff}, yjs::max_safe_integer}) {
    byte_buffer b;
    yjs::lib0::write_var_uint(b, v);
    yjs::lib0::reader r(b);
    EXPECT_EQ(r.read_var_uint(), v);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.remaining(), 0u);
  }
  byte_buffer b;
  yjs::lib0::write_var_uint(b, 300);
  EXPECT_EQ(to_hex(b), "ac02");
}

TEST(yjs_lib0, var_uint_accepts_non_canonical_and_rejects_overflow) {
  const byte_buffer zero = hex("8000");
  yjs::lib0::reader r(zero);
  EXPECT_EQ(r.read_var_uint(), 0u);
  EXPECT_TRUE(r.ok());

  const byte_buffer too_big = hex("8080808080808080808010");  // 2^53 * 16... overflow
  yjs::lib0::reader r2(too_big);
  r2.read_var_uint();
  EXPECT_FALSE(r2.ok());
  EXPECT_EQ(r2.failure().code, yjs::error::integer_overflow);

  const byte_buffer two_53 = hex("8080808080808010");  // exactly 2^53
  yjs::lib0::reader r3(two_53);
  r3.read_var_uint();
  EXPECT_EQ(r3.failure().code, yjs::error::integer_overflow);

  const byte_buffer truncated = hex("8080");
  yjs::lib0::reader r4(truncated);
  r4.read_var_uint();
  EXPECT_EQ(r4.failure().code, yjs::error::truncated);
}

TEST(yjs_lib0, var_int_sign_magnitude) {
  const byte_buffer neg_zero = hex("40");
  yjs::lib0::reader r(neg_zero);
  bool neg = false;
  EXPECT_EQ(r.read_var_int(neg), 0u);
  EXPECT_TRUE(neg);
  const byte_buffer minus_100 = hex("e401");  // 100 = 0b1100100: low 6 bits 36 | 0x40 | 0x80, then 1
  yjs::lib0::reader r2(minus_100);
  EXPECT_EQ(r2.read_var_int(neg), 100u);
  EXPECT_TRUE(neg);
}

TEST(yjs_lib0, utf16_length_and_validation) {
  std::size_t bad = 0;
  EXPECT_EQ(yjs::lib0::utf16_length(yjs::lib0::as_bytes("abc"), bad), 3);
  EXPECT_EQ(yjs::lib0::utf16_length(yjs::lib0::as_bytes("a\xf0\x9f\x98\x80" "b"), bad), 4);
  EXPECT_EQ(yjs::lib0::utf16_length(yjs::lib0::as_bytes("\xef\xbb\xbfx"), bad), 2);  // BOM kept
  EXPECT_EQ(yjs::lib0::utf16_length(yjs::lib0::as_bytes("ab\xc0\x80"), bad), -1);  // overlong
  EXPECT_EQ(bad, 2u);
  EXPECT_EQ(yjs::lib0::utf16_length(yjs::lib0::as_bytes("\xed\xa0\x80"), bad), -1);  // surrogate
  EXPECT_EQ(yjs::lib0::utf16_length(yjs::lib0::as_bytes("\xf4\x90\x80\x80"), bad), -1);  // > U+10FFFF
  EXPECT_EQ(yjs::lib0::utf16_length(yjs::lib0::as_bytes("\xe2\x82"), bad), -1);  // truncated
  EXPECT_EQ(yjs::lib0::utf16_length(yjs::lib0::as_bytes("0123456789abcdef\xff"), bad), -1);
  EXPECT_EQ(bad, 16u);
}

TEST(yjs_lib0, utf8_offset_of_unit_splits_surrogate_pairs) {
  const auto s = yjs::lib0::as_bytes("a\xf0\x9f\x98\x80" "b");
  bool split = false;
  EXPECT_EQ(yjs::lib0::utf8_offset_of_unit(s, 1, split), 1u);
  EXPECT_FALSE(split);
  EXPECT_EQ(yjs::lib0::utf8_offset_of_unit(s, 2, split), 5u);
  EXPECT_TRUE(split);
  EXPECT_EQ(yjs::lib0::utf8_offset_of_unit(s, 3, split), 5u);
  EXPECT_FALSE(split);
}

TEST(yjs_lib0, json_validation) {
  const auto ok = [](std::string_view s) { return yjs::lib0::is_valid_json(yjs::lib0::as_bytes(s), 64); };
  EXPECT_TRUE(ok("{}"));
  EXPECT_TRUE(ok(" {\"a\": [1, -2.5e+3, true, false, null, \"x\\u00e9\\n\"]} "));
  EXPECT_TRUE(ok("0"));
  EXPECT_TRUE(ok("\"\""));
  EXPECT_FALSE(ok(""));
  EXPECT_FALSE(ok("undefined"));
  EXPECT_FALSE(ok("01"));
  EXPECT_FALSE(ok("[1,]"));
  EXPECT_FALSE(ok("{'a':1}"));
  EXPECT_FALSE(ok("\"a\x01\""));
  EXPECT_FALSE(ok("1 2"));
  EXPECT_FALSE(ok("\"\\x\""));
  EXPECT_TRUE(yjs::lib0::is_valid_json(yjs::lib0::as_bytes("[[[]]]"), 3));
  EXPECT_FALSE(yjs::lib0::is_valid_json(yjs::lib0::as_bytes("[[[[]]]]"), 3));
}

TEST(yjs_decode, round_trips_yjs_updates) {
  for (auto h : session) {
    const byte_buffer in = hex(h);
    auto u = yjs::decode_update(in);
    ASSERT_TRUE(u) << h << ": " << u.error().message();
    // The map overwrite arrives with info a8 (origin + parentSub flag) and is written as 88: the
    // parentSub flag is only kept for items without origins (docs/yjs.md, "Merging").
    const std::string expected = h == session[3] ? "01010106880105017d020101010501" : std::string(h);
    EXPECT_EQ(to_hex(yjs::encode_update(*u)), expected);
  }
  const byte_buffer merged = hex(session_merged);
  auto u = yjs::decode_update(merged);
  ASSERT_TRUE(u);
  EXPECT_EQ(to_hex(yjs::encode_update(*u)), session_merged);
}

TEST(yjs_decode, exposes_structs_and_delete_set) {
  const byte_buffer in = hex(session[0]);
  auto u = yjs::decode_update(in);
  ASSERT_TRUE(u);
  ASSERT_EQ(u->blocks.size(), 1u);
  const yjs::block& b = u->blocks[0];
  EXPECT_EQ(b.kind, yjs::struct_kind::item);
  EXPECT_EQ(b.ref, yjs::content_ref::string);
  EXPECT_EQ(b.parent, yjs::parent_kind::root);
  EXPECT_EQ(std::string(b.parent_name.begin(), b.parent_name.end()), "t");
  EXPECT_EQ(b.length, 4u);  // "a😀b" is 4 UTF-16 units
  const byte_buffer del = hex(session[5]);
  auto d = yjs::decode_update(del);
  ASSERT_TRUE(d);
  ASSERT_EQ(d->deletes.size(), 1u);
  EXPECT_EQ(d->deletes[0].client, 1u);
  EXPECT_EQ(d->deletes[0].clock, 1u);
  EXPECT_EQ(d->deletes[0].length, 1u);
}

TEST(yjs_decode, normalises_non_canonical_varints_and_drops_trailing_bytes) {
  // "80 00" for the delete-set count, and trailing garbage.
  EXPECT_EQ(to_hex(yjs::encode_update(*yjs::decode_update(hex("01010100040101740161" "8000" "ffff")))),
            "0101010004010174016100");
}

TEST(yjs_merge, matches_y_merge_updates_on_a_session) {
  EXPECT_EQ(merge_hex(session), session_merged);
}

TEST(yjs_merge, trivial_cases) {
  EXPECT_EQ(merge_hex({}), "0000");
  // One update passes through unchanged (trailing byte included), but only after validation.
  EXPECT_EQ(merge_hex({"000001"}), "000001");
  EXPECT_NE(merge_hex({"01"}).find("error"), std::string::npos);
}

TEST(yjs_merge, slices_inside_a_surrogate_pair_like_yjs) {
  // P covers clocks 0..2 of client 1; S holds "a😀b" at clocks 0..4: S is sliced at unit 2.
  EXPECT_EQ(merge_hex({"010101000401017402616200", "01010100040101740661f09f98806200"}),
            "010201000401017402616284010104efbfbd6200");
}

TEST(yjs_merge, fills_gaps_with_skips) {
  EXPECT_EQ(merge_hex({"0101010304010174016200", "010101000401017401610000"}),
            "010301000401017401610a0204010174016200");
}

TEST(yjs_merge, merges_adjacent_gcs) {
  EXPECT_EQ(merge_hex({"0101010000030000", "0101010300020000"}), "01010100000500");
}

TEST(yjs_merge, merges_delete_sets_keeping_zero_length_ranges) {
  EXPECT_EQ(merge_hex({"000201010a02020101010305", "00010101020004"}), "000202010101010202000a02");
}

TEST(yjs_merge, is_idempotent_on_its_output) {
  EXPECT_EQ(merge_hex({session_merged, session_merged}), session_merged);
}

TEST(yjs_merge, regroups_out_of_order_client_blocks) {
  // One update lists client 1 then client 5 (hand-made); JS loses client 5's struct here
  // (docs/yjs.md, "Merging"), owcore keeps it.
  const std::string out = merge_hex({"02010100040101740161" "01050004010174016200", "0101030004010174016300"});
  auto u = yjs::decode_update(hex(out));
  ASSERT_TRUE(u);
  ASSERT_EQ(u->blocks.size(), 3u);
  EXPECT_EQ(u->blocks[0].client, 5u);
  EXPECT_EQ(u->blocks[1].client, 3u);
  EXPECT_EQ(u->blocks[2].client, 1u);
}

}  // namespace yjs_codec_test
