// Malformed-input tests: every rejection class (docs/yjs.md) is rejected with its own error and
// offset, never crashes, and never allocates by a claimed size. Also levels B/C and the CLI
// function.
#include "owcore/yjs/cli_merge.hpp"
#include "owcore/yjs/merge.hpp"
#include "owcore/yjs/update.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace yjs_malformed_test {

namespace yjs = owcore::yjs;
using yjs::byte_buffer;
using yjs::error;

namespace {

// Builds v1 bytes by hand.
struct builder {
  byte_buffer b;
  builder& u(std::uint64_t v) {
    yjs::lib0::write_var_uint(b, v);
    return *this;
  }
  builder& byte(std::uint8_t v) {
    b.push_back(v);
    return *this;
  }
  builder& s(std::string_view text) {
    yjs::lib0::write_var_bytes(b, yjs::lib0::as_bytes(text));
    return *this;
  }
  builder& raw(std::initializer_list<std::uint8_t> bytes) {
    b.insert(b.end(), bytes);
    return *this;
  }
};

// One client block of one item under root "t" with the given info byte; the caller appends the
// content and the delete set.
builder item_header(std::uint8_t info, std::uint64_t client = 1, std::uint64_t clock = 0) {
  builder w;
  w.u(1).u(1).u(client).u(clock).byte(info).u(1).s("t");
  return w;
}

yjs::result<yjs::update> decode(const byte_buffer& b) { return yjs::decode_update(b); }

error code_of(const byte_buffer& b) {
  auto r = decode(b);
  EXPECT_FALSE(r) << "accepted";
  return r ? error{} : r.error().code;
}

const byte_buffer valid_text = item_header(4).s("hello").u(0).b;

}  // namespace

TEST(yjs_malformed, accepts_the_baseline) { ASSERT_TRUE(decode(valid_text)); }

TEST(yjs_malformed, rejects_every_truncation) {
  const std::vector<byte_buffer> samples = {
      valid_text,
      item_header(8).u(2).raw({0x77}).s("x").raw({0x76, 0x01}).s("k").raw({0x7b, 0, 0, 0, 0, 0, 0, 0, 0}).u(0).b,
      builder{}.u(0).u(1).u(7).u(2).u(3).u(4).u(5).u(6).b,
  };
  for (const auto& full : samples) {
    ASSERT_TRUE(decode(full));
    for (std::size_t n = 0; n < full.size(); ++n) {
      byte_buffer prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
      auto r = decode(prefix);
      ASSERT_FALSE(r) << "prefix of " << n << " bytes accepted";
      EXPECT_TRUE(r.error().code == error::truncated || r.error().code == error::count_too_large);
    }
  }
}

TEST(yjs_malformed, rejects_integers_above_2_53) {
  // Client id 2^53 in the block header.
  EXPECT_EQ(code_of(builder{}.u(1).u(1).raw({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10}).u(0).b),
            error::integer_overflow);
  // A varint longer than 10 bytes, even if it only carries zeros.
  EXPECT_EQ(code_of(builder{}.raw({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}).u(0).b),
            error::integer_overflow);
  // varInt in an Any above 2^53-1.
  EXPECT_EQ(code_of(item_header(8).u(1).raw({0x7d, 0xbf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}).u(0).b),
            error::integer_overflow);
}

TEST(yjs_malformed, rejects_clocks_above_u32) {
  EXPECT_EQ(code_of(item_header(4, 1, 0x100000000).s("a").u(0).b), error::clock_overflow);
  // Start clock fits, but the string pushes the end past 2^32-1.
  EXPECT_EQ(code_of(item_header(4, 1, 0xffffffff).s("ab").u(0).b), error::clock_overflow);
  // A GC range ending past the bound.
  EXPECT_EQ(code_of(builder{}.u(1).u(1).u(1).u(10).byte(0).u(0xfffffff6).u(0).b), error::clock_overflow);
  // Origin clock above the bound.
  EXPECT_EQ(code_of(builder{}.u(1).u(1).u(1).u(0).byte(0x84).u(2).u(0x100000000).s("a").u(0).b),
            error::clock_overflow);
  // Delete range ending past the bound.
  EXPECT_EQ(code_of(builder{}.u(0).u(1).u(1).u(1).u(0xfffffff0).u(0x10).b), error::clock_overflow);
  // Exactly at the bound is fine.
  EXPECT_TRUE(decode(builder{}.u(0).u(1).u(1).u(1).u(0xfffffff0).u(0xf).b));
  // The bound is configurable.
  yjs::decode_limits wide;
  wide.max_clock = yjs::max_safe_integer;
  EXPECT_TRUE(yjs::decode_update(item_header(4, 1, 0x100000000).s("a").u(0).b, wide));
}

TEST(yjs_malformed, rejects_invalid_utf8_everywhere) {
  const std::string bad = "a\xc3(";  // truncated two-byte sequence
  EXPECT_EQ(code_of(item_header(4).s(bad).u(0).b), error::invalid_utf8);           // ContentString
  EXPECT_EQ(code_of(builder{}.u(1).u(1).u(1).u(0).byte(4).u(1).s(bad).s("x").u(0).b),
            error::invalid_utf8);                                                    // root name
  EXPECT_EQ(code_of(item_header(0x28).s(bad).u(1).raw({0x78}).u(0).b), error::invalid_utf8);  // parentSub
  EXPECT_EQ(code_of(item_header(8).u(1).raw({0x76, 0x01}).s(bad).raw({0x7e}).u(0).b),
            error::invalid_utf8);                                                    // Any object key
  EXPECT_EQ(code_of(item_header(4).s("\xed\xa0\x80").u(0).b), error::invalid_utf8);  // a surrogate
  auto r = decode(item_header(4).s(bad).u(0).b);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().offset, 10u);  // the offending lead byte
}

TEST(yjs_malformed, rejects_unknown_any_tags_and_deep_nesting) {
  EXPECT_EQ(code_of(item_header(8).u(1).raw({0x73}).u(0).b), error::invalid_any_tag);
  EXPECT_EQ(code_of(item_header(8).u(1).raw({0x80}).u(0).b), error::invalid_any_tag);
  builder deep = item_header(8).u(1);
  for (int i = 0; i < 65; ++i) deep.raw({0x75, 0x01});
  deep.raw({0x7e}).u(0);
  EXPECT_EQ(code_of(deep.b), error::nesting_too_deep);
  builder ok = item_header(8).u(1);
  for (int i = 0; i < 64; ++i) ok.raw({0x75, 0x01});
  ok.raw({0x7e}).u(0);
  EXPECT_TRUE(decode(ok.b));
}

TEST(yjs_malformed, rejects_invalid_struct_refs) {
  for (std::uint8_t ref = 11; ref < 32; ++ref) {
    EXPECT_EQ(code_of(item_header(ref).s("x").u(0).b), error::invalid_struct_ref) << int(ref);
  }
  EXPECT_EQ(code_of(builder{}.u(1).u(1).u(1).u(0).byte(0x4a).u(1).u(0).b), error::invalid_struct_ref);
  // A plain Skip is fine, and GC flag bits are ignored as JS does.
  EXPECT_TRUE(decode(builder{}.u(1).u(2).u(1).u(0).byte(10).u(3).byte(0x80).u(1).u(0).b));
}

TEST(yjs_malformed, rejects_type_refs_above_6) {
  EXPECT_EQ(code_of(item_header(7).u(7).u(0).b), error::invalid_type_ref);
  EXPECT_TRUE(decode(item_header(7).u(3).s("paragraph").u(0).b));
  EXPECT_TRUE(decode(item_header(7).u(6).u(0).b));
}

TEST(yjs_malformed, rejects_json_that_json_parse_rejects) {
  EXPECT_EQ(code_of(item_header(2).u(1).s("{bad").u(0).b), error::invalid_json);
  EXPECT_EQ(code_of(item_header(5).s("").u(0).b), error::invalid_json);
  EXPECT_EQ(code_of(item_header(6).s("bold").s("tru").u(0).b), error::invalid_json);
  EXPECT_TRUE(decode(item_header(2).u(2).s("undefined").s(" {\"a\":[1,2]} ").u(0).b));
  EXPECT_TRUE(decode(item_header(6).s("bold").s("true").u(0).b));
}

TEST(yjs_malformed, rejects_subdocument_options_that_are_not_objects) {
  EXPECT_EQ(code_of(item_header(9).s("guid").raw({0x7e}).u(0).b), error::invalid_doc_options);
  EXPECT_TRUE(decode(item_header(9).s("guid").raw({0x76, 0x00}).u(0).b));
}

TEST(yjs_malformed, bounds_claimed_counts_by_the_input) {
  // 2^50 client blocks, 2^50 structs, 2^50 Any elements, 2^50 delete ranges: rejected up front.
  const std::uint64_t huge = std::uint64_t{1} << 50;
  EXPECT_EQ(code_of(builder{}.u(huge).u(0).b), error::count_too_large);
  EXPECT_EQ(code_of(builder{}.u(1).u(huge).u(1).u(0).u(0).b), error::count_too_large);
  EXPECT_EQ(code_of(item_header(8).u(huge).raw({0x7e}).u(0).b), error::count_too_large);
  EXPECT_EQ(code_of(builder{}.u(0).u(1).u(1).u(huge).b), error::count_too_large);
  EXPECT_EQ(code_of(item_header(3).u(huge).b), error::truncated);  // binary length
}

TEST(yjs_malformed, enforces_struct_and_size_limits) {
  yjs::decode_limits small;
  small.max_structs = 1;
  EXPECT_EQ(yjs::decode_update(builder{}.u(1).u(2).u(1).u(0).byte(0).u(1).byte(0).u(1).u(0).b, small)
                .error()
                .code,
            error::limit_exceeded);
  small = {};
  small.max_update_size = 4;
  EXPECT_EQ(yjs::decode_update(valid_text, small).error().code, error::limit_exceeded);
}

TEST(yjs_malformed, ignores_trailing_bytes_and_drops_zero_length_structs) {
  byte_buffer b = valid_text;
  b.insert(b.end(), {0xff, 0xff, 0x00});
  EXPECT_TRUE(decode(b));
  auto r = decode(item_header(4).s("").u(0).b);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->blocks.empty());
}

TEST(yjs_malformed, merge_names_the_bad_input) {
  const byte_buffer bad = item_header(4).s("a\xff").u(0).b;
  std::vector<yjs::byte_view> in = {valid_text, bad};
  auto r = yjs::merge_updates(in);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().input, 1u);
  EXPECT_EQ(r.error().message(), "update 1, byte 10: invalid UTF-8 (ContentString)");
}

// Level B and C on keystrokes: "abc" typed as three items, "b" deleted.
TEST(yjs_compact, squashes_keystrokes_and_strips_deleted_content) {
  const byte_buffer a = item_header(4, 7, 0).s("a").u(0).b;
  const byte_buffer b = builder{}.u(1).u(1).u(7).u(1).byte(0x84).u(7).u(0).s("b").u(0).b;
  const byte_buffer c = builder{}.u(1).u(1).u(7).u(2).byte(0x84).u(7).u(1).s("c").u(0).b;
  const byte_buffer del = builder{}.u(0).u(1).u(7).u(1).u(1).u(1).b;
  std::vector<yjs::byte_view> in = {a, b, c, del};
  yjs::merge_options squash_only;
  squash_only.squash = true;
  auto squashed = yjs::decode_update(*yjs::merge_updates(in, squash_only));
  ASSERT_TRUE(squashed);
  ASSERT_EQ(squashed->blocks.size(), 1u);
  EXPECT_EQ(squashed->blocks[0].length, 3u);

  yjs::merge_options both;
  both.squash = true;
  both.strip_deleted = true;
  const byte_buffer out = *yjs::merge_updates(in, both);
  auto compact = yjs::decode_update(out);
  ASSERT_TRUE(compact);
  // "a", Deleted(1), "c": content kinds differ, so nothing squashes across the deletion.
  ASSERT_EQ(compact->blocks.size(), 3u);
  EXPECT_EQ(compact->blocks[1].ref, yjs::content_ref::deleted);
  EXPECT_EQ(compact->blocks[1].length, 1u);
  EXPECT_TRUE(compact->blocks[1].has_origin);
  ASSERT_EQ(compact->deletes.size(), 1u);
}

TEST(yjs_compact, keeps_deleted_types) {
  const byte_buffer t = item_header(7).u(1).u(0).b;  // a YMap under root "t"
  const byte_buffer del = builder{}.u(0).u(1).u(1).u(1).u(0).u(1).b;
  std::vector<yjs::byte_view> in = {t, del};
  yjs::merge_options both;
  both.squash = both.strip_deleted = true;
  auto u = yjs::decode_update(*yjs::merge_updates(in, both));
  ASSERT_TRUE(u);
  ASSERT_EQ(u->blocks.size(), 1u);
  EXPECT_EQ(u->blocks[0].ref, yjs::content_ref::type);
}

TEST(yjs_cli_merge, merges_lines_and_reports_bad_ones) {
  std::istringstream in("[1, 1, 1, 0, 4, 1, 1, 116, 1, 97, 0]\n\n[0,1,1,1,0,1]\n");
  std::ostringstream out, err;
  EXPECT_EQ(yjs::run_ydoc_merge(in, out, err, false), 0);
  EXPECT_EQ(out.str(), "[1, 1, 1, 0, 4, 1, 1, 116, 1, 97, 1, 1, 1, 0, 1]\n");
  EXPECT_EQ(err.str(), "");

  std::istringstream none("");
  std::ostringstream out2, err2;
  EXPECT_EQ(yjs::run_ydoc_merge(none, out2, err2, true), 0);
  EXPECT_EQ(out2.str(), "[0, 0]\n");

  std::istringstream bad_syntax("[0, 0]\n[1, 2,]\n");
  std::ostringstream out3, err3;
  EXPECT_EQ(yjs::run_ydoc_merge(bad_syntax, out3, err3, false), 1);
  EXPECT_EQ(out3.str(), "");
  EXPECT_EQ(err3.str(), "line 2: expected a byte value (an integer 0..255)\n");

  std::istringstream bad_update("[0, 0]\n[0, 0]\n[1, 300]\n");
  std::ostringstream out4, err4;
  EXPECT_EQ(yjs::run_ydoc_merge(bad_update, out4, err4, false), 1);
  EXPECT_EQ(err4.str(), "line 3: byte value out of range 0..255 (or with a leading zero)\n");

  std::istringstream truncated("[0, 0]\n[1, 1]\n");
  std::ostringstream out5, err5;
  EXPECT_EQ(yjs::run_ydoc_merge(truncated, out5, err5, false), 1);
  EXPECT_EQ(err5.str(), "line 2: invalid update: byte 0: count larger than the remaining bytes can hold (client block count)\n");
}

}  // namespace yjs_malformed_test
