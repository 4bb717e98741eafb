#include "owcore/redis/protocol/address.hpp"

#include <gtest/gtest.h>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace address_test {

using owcore::redis::address;

TEST(Address, ParsesHostAndPortAtTheLastColon) {
  EXPECT_EQ(address::parse("127.0.0.1:6379"), (address{"127.0.0.1", 6379}));
  EXPECT_EQ(address::parse("redis-0.redis.svc:1"), (address{"redis-0.redis.svc", 1}));
  EXPECT_EQ(address::parse("::1:6380"), (address{"::1", 6380}));
  EXPECT_EQ(address::parse("[::1]:6380"), (address{"::1", 6380}));
  EXPECT_EQ(address::parse("[fe80::1%eth0]:26379"), (address{"fe80::1%eth0", 26379}));
  EXPECT_EQ(address::parse(":6381"), (address{"", 6381}));
  EXPECT_EQ(address::parse("h:65535"), (address{"h", 65535}));
}

TEST(Address, RejectsMalformedText) {
  for (std::string_view bad : std::initializer_list<std::string_view>{"", ":", "h", "h:", "h:0", "h:65536", "h:123456", "h:-1", "h:+1",
                               "h: 1", "h:1 ", "h:1x", "[::1:6380", "::1]:6380", "[:1", "a b:1",
                               "a\tb:1", "[a]b:1", "h:0x10", std::string_view("a\0b:1", 5)}) {
    EXPECT_EQ(address::parse(bad), std::nullopt) << '"' << bad << '"';
  }
}

TEST(Address, BracketsIpv6HostsWhenRendered) {
  EXPECT_EQ((address{"127.0.0.1", 6379}).to_string(), "127.0.0.1:6379");
  EXPECT_EQ((address{"::1", 6380}).to_string(), "[::1]:6380");
  EXPECT_EQ((address{"fe80::1%eth0", 1}).to_string(), "[fe80::1%eth0]:1");
  EXPECT_EQ((address{"", 6381}).to_string(), ":6381");
}

TEST(Address, RoundTripsThroughText) {
  for (const address& a : {address{"10.0.0.5", 7000}, address{"::1", 6380},
                           address{"redis.example", 6379}, address{"2001:db8::2", 65535}}) {
    EXPECT_EQ(address::parse(a.to_string()), a) << a.to_string();
  }
}

TEST(Address, OrdersByHostThenPort) {
  EXPECT_LT((address{"a", 2}), (address{"b", 1}));
  EXPECT_LT((address{"a", 1}), (address{"a", 2}));
  EXPECT_EQ((address{"a", 1}), (address{"a", 1}));
}

}  // namespace address_test
