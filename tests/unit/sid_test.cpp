#include "owcore/realtime/engineio/sid.hpp"

#include <gtest/gtest.h>

#include <set>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace sid_test {

using owcore::realtime::engineio::sid_generator;

TEST(Sid, TwentyUrlSafeCharactersAndUnique) {
  sid_generator g;
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    auto s = g.next();
    ASSERT_EQ(s.size(), 20u);
    ASSERT_TRUE(sid_generator::well_formed(s)) << s;
    ASSERT_TRUE(seen.insert(s).second) << "duplicate " << s;
  }
}

TEST(Sid, WellFormedRejectsOtherShapes) {
  EXPECT_FALSE(sid_generator::well_formed(""));
  EXPECT_FALSE(sid_generator::well_formed("abc"));
  EXPECT_FALSE(sid_generator::well_formed("aaaaaaaaaaaaaaaaaaa+"));
  EXPECT_FALSE(sid_generator::well_formed("aaaaaaaaaaaaaaaaaaaaa"));
  EXPECT_TRUE(sid_generator::well_formed("aaaaaaaaaaaaaaaaaa-_"));
}

}  // namespace sid_test
