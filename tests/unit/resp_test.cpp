#include "owcore/redis/error.hpp"
#include "owcore/redis/protocol/resp.hpp"

#include <gtest/gtest.h>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace resp_test {

using namespace owcore::redis;

TEST(Resp, EncodesCommandsAsBulkArrays) {
  std::string out;
  encode_command(out, {"SET", "k", std::string_view("a\0b", 3)});
  static constexpr char expected[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\na\0b\r\n";
  EXPECT_EQ(out, std::string(expected, sizeof expected - 1));
}

TEST(Resp, ParsesEveryReplyTypeIncrementally) {
  reply_parser p;
  const std::string bytes = "+OK\r\n-ERR bad\r\n:42\r\n$5\r\nhello\r\n$-1\r\n*2\r\n:1\r\n*1\r\n$1\r\nx\r\n";
  std::vector<reply> got;
  // Feed one byte at a time: replies must come out only when complete.
  for (char c : bytes) {
    ASSERT_FALSE(p.feed(std::string_view(&c, 1)));
    boost::system::error_code ec;
    while (auto r = p.next(ec)) got.push_back(std::move(*r));
    ASSERT_FALSE(ec);
  }
  ASSERT_EQ(got.size(), 6u);
  EXPECT_TRUE(got[0].is_status("OK"));
  EXPECT_TRUE(got[1].is_error());
  EXPECT_EQ(got[1].str, "ERR bad");
  EXPECT_EQ(got[2].type, reply::kind::integer);
  EXPECT_EQ(got[2].integer, 42);
  EXPECT_EQ(got[3].type, reply::kind::string);
  EXPECT_EQ(got[3].str, "hello");
  EXPECT_TRUE(got[4].is_nil());
  ASSERT_EQ(got[5].type, reply::kind::array);
  ASSERT_EQ(got[5].elements.size(), 2u);
  EXPECT_EQ(got[5].elements[1].elements[0].str, "x");
}

TEST(Resp, ProtocolErrorIsReportedNotThrown) {
  reply_parser p;
  ASSERT_FALSE(p.feed("?garbage\r\n"));
  boost::system::error_code ec;
  EXPECT_FALSE(p.next(ec));
  EXPECT_EQ(ec, make_error_code(error::protocol_error));
  // The parser stays failed.
  EXPECT_EQ(p.feed("+OK\r\n"), make_error_code(error::protocol_error));
}

TEST(Resp, BufferedBytesAreBounded) {
  reply_parser p(64);
  ASSERT_FALSE(p.feed("$100\r\n"));
  boost::system::error_code ec;
  EXPECT_FALSE(p.next(ec));
  EXPECT_FALSE(ec);
  EXPECT_EQ(p.feed(std::string(80, 'x')), make_error_code(error::reply_too_large));
}

namespace {

// Every reply of `bytes`, fed in chunks of `chunk` bytes; stops at the first error.
std::vector<reply> parse_all(std::string_view bytes, std::size_t chunk, bool& failed) {
  reply_parser p;
  std::vector<reply> got;
  failed = false;
  for (std::size_t pos = 0; pos < bytes.size(); pos += chunk) {
    if (p.feed(bytes.substr(pos, chunk))) {
      failed = true;
      return got;
    }
    boost::system::error_code ec;
    while (auto r = p.next(ec)) got.push_back(std::move(*r));
    if (ec) {
      failed = true;
      return got;
    }
  }
  return got;
}

bool same(const reply& a, const reply& b) {
  if (a.type != b.type || a.str != b.str || a.integer != b.integer ||
      a.elements.size() != b.elements.size())
    return false;
  for (std::size_t i = 0; i < a.elements.size(); ++i)
    if (!same(a.elements[i], b.elements[i])) return false;
  return true;
}

}  // namespace

// Whole buffers take the in-place path for simple replies; one byte at a time goes through
// hiredis. Both must decode every input the same way, odd ones included.
TEST(Resp, InPlaceDecodingAgreesWithHiredis) {
  const std::string cases[] = {
      "+OK\r\n-ERR x\r\n:0\r\n:-12\r\n:+7\r\n:007\r\n$0\r\n\r\n$-1\r\n$-7\r\n$-0\r\n\r\n",
      "$3\r\nabcXY:1\r\n",  // the two bytes after a payload are not checked
      ":123456789012345678\r\n:1234567890123456789\r\n",  // 18 digits in place, 19 to hiredis
      "+\r\n-\r\n+a\rb\r\n$2\r\n\r\n\r\n",
      "*2\r\n+a\r\n:1\r\n+after\r\n*-1\r\n*0\r\n",
      std::string("$3\r\na\0b\r\n+", 10) + "OK\r\n",
      ":12x\r\n",  // hiredis 0.14 reads this as -1
  };
  for (const auto& c : cases) {
    bool failed_whole = false, failed_bytes = false;
    const auto whole = parse_all(c, c.size(), failed_whole);
    const auto bytes = parse_all(c, 1, failed_bytes);
    EXPECT_EQ(failed_whole, failed_bytes) << c;
    ASSERT_EQ(whole.size(), bytes.size()) << c;
    for (std::size_t i = 0; i < whole.size(); ++i)
      EXPECT_TRUE(same(whole[i], bytes[i])) << c << " #" << i;
  }
}

TEST(Resp, ParsesManyBuffersOfSmallRepliesInPlace) {
  reply_parser p(1 << 12);
  std::string chunk;
  for (int i = 0; i < 100; ++i) chunk += "+OK\r\n";
  for (int round = 0; round < 100; ++round) {
    ASSERT_FALSE(p.feed(chunk)) << "round " << round;
    boost::system::error_code ec;
    int n = 0;
    while (auto r = p.next(ec)) {
      EXPECT_TRUE(r->is_status("OK"));
      ++n;
    }
    ASSERT_FALSE(ec);
    ASSERT_EQ(n, 100);
  }
}

// An array header is a promise of elements, not bytes: hiredis allocates the element table as soon
// as it reads the header. A count no reply within the buffer limit can have is refused at once
// (found by tests/fuzz/redis_fuzz: "*1111111111\r\n" asked for 8.9 GB).
TEST(Resp, ArrayCountsBeyondTheLimitAreRefusedBeforeAllocating) {
  reply_parser p(1 << 16);  // at most 16384 elements
  ASSERT_FALSE(p.feed("*1111111111\r\n"));
  boost::system::error_code ec;
  EXPECT_FALSE(p.next(ec));
  EXPECT_EQ(ec, make_error_code(error::protocol_error));

  reply_parser nested(1 << 16);
  ASSERT_FALSE(nested.feed("*2\r\n:1\r\n*16385\r\n"));
  EXPECT_FALSE(nested.next(ec));
  EXPECT_EQ(ec, make_error_code(error::protocol_error));

  // Within the limit, and after a move, arrays still parse.
  reply_parser small(40);  // at most 10 elements
  reply_parser moved(std::move(small));
  ASSERT_FALSE(moved.feed("*4\r\n:1\r\n:2\r\n*0\r\n*-1\r\n"));
  auto r = moved.next(ec);
  ASSERT_FALSE(ec);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->elements.size(), 4u);
  EXPECT_EQ(r->elements[1].integer, 2);
  ASSERT_FALSE(moved.feed("*10\r\n"));
  EXPECT_FALSE(moved.next(ec));
  EXPECT_FALSE(ec);  // ten elements may follow
  reply_parser over(40);
  ASSERT_FALSE(over.feed("*11\r\n"));
  EXPECT_FALSE(over.next(ec));
  EXPECT_EQ(ec, make_error_code(error::protocol_error));
}

}  // namespace resp_test
