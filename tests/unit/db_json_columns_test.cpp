// Unit tests of db/json_columns: the JSON Open WebUI keeps in text columns, as owcore reads and
// rewrites it (docs/database.md).
#include "owcore/db/json_columns.hpp"

#include "owcore/base/pyjson.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <optional>
#include <string>

// This file's names live in a namespace of its own: unity builds compile several test files
// as one (cmake/owcore.cmake, OWCORE_UNITY).
namespace db_json_columns_test {

namespace {

namespace db = owcore::db;
namespace json = boost::json;
using c = std::optional<std::string>;

TEST(DbPermissions, PythonHasPermissionPathRule) {
  EXPECT_TRUE(db::permission_at(c(R"({"features":{"channels":true}})"), "features.channels"));
  EXPECT_FALSE(db::permission_at(c(R"({"features":{"channels":false}})"), "features.channels"));
  EXPECT_FALSE(db::permission_at(c(R"({"features":{}})"), "features.channels"));
  EXPECT_FALSE(db::permission_at(c(R"({"features":true})"), "features.channels"));
  EXPECT_FALSE(db::permission_at(c(R"({"features":["channels"]})"), "features.channels"));
  EXPECT_FALSE(db::permission_at(c("{}"), "features.channels"));
  EXPECT_FALSE(db::permission_at(c("null"), "features.channels"));
  EXPECT_FALSE(db::permission_at(std::nullopt, "features.channels"));
  EXPECT_FALSE(db::permission_at(c("not json"), "features.channels"));
  // Python's bool() of the leaf: non-empty strings, non-zero numbers, non-empty containers.
  EXPECT_TRUE(db::permission_at(c(R"({"features":{"channels":"yes"}})"), "features.channels"));
  EXPECT_FALSE(db::permission_at(c(R"({"features":{"channels":""}})"), "features.channels"));
  EXPECT_TRUE(db::permission_at(c(R"({"features":{"channels":1}})"), "features.channels"));
  EXPECT_FALSE(db::permission_at(c(R"({"features":{"channels":0}})"), "features.channels"));
  EXPECT_FALSE(db::permission_at(c(R"({"features":{"channels":0.0}})"), "features.channels"));
  EXPECT_TRUE(db::permission_at(c(R"({"features":{"channels":{"a":1}}})"), "features.channels"));
  EXPECT_FALSE(db::permission_at(c(R"({"features":{"channels":[]}})"), "features.channels"));
  EXPECT_FALSE(db::permission_at(c(R"({"features":{"channels":null}})"), "features.channels"));
}

TEST(DbTimers, CancelsOnlyAPendingTimerListingTheReason) {
  const c pending(R"({"x":1,"status":"pending","cancel_on":["user_message","read"]})");
  const auto out = db::cancel_timer_meta(pending, "read", 42);
  ASSERT_TRUE(out);
  EXPECT_EQ(json::parse(*out), json::parse(
      R"({"x":1,"status":"cancelled","cancel_on":["user_message","read"],"timer_cancelled_at":42,"timer_cancelled_by":"read"})"));
  EXPECT_EQ(db::cancel_timer_meta(pending, "other", 42), std::nullopt);
  EXPECT_EQ(db::cancel_timer_meta(c(R"({"status":"fired","cancel_on":["read"]})"), "read", 42), std::nullopt);
  EXPECT_EQ(db::cancel_timer_meta(c(R"({"status":"pending","cancel_on":"read"})"), "read", 42), std::nullopt);
  EXPECT_EQ(db::cancel_timer_meta(c(R"({"status":"pending"})"), "read", 42), std::nullopt);
  EXPECT_EQ(db::cancel_timer_meta(c("[1]"), "read", 42), std::nullopt);
  EXPECT_EQ(db::cancel_timer_meta(c("not json"), "read", 42), std::nullopt);
  EXPECT_EQ(db::cancel_timer_meta(std::nullopt, "read", 42), std::nullopt);
}

TEST(DbNotes, MergeReplacesTopLevelKeysAndReportsNoChange) {
  const json::object patch = json::parse(R"({"content":{"md":"b"},"new":1})").as_object();
  using o = db::note_merge::outcome;
  const auto out = db::merge_note_data(c(R"({"content":{"md":"a","html":"x"},"keep":[1]})"), patch);
  ASSERT_EQ(out.result, o::merged);
  // Shallow: the whole `content` is replaced, untouched keys stay.
  EXPECT_EQ(json::parse(out.text), json::parse(R"({"content":{"md":"b"},"keep":[1],"new":1})"));
  EXPECT_EQ(db::merge_note_data(c(out.text), patch).result, o::unchanged);
  // NULL, JSON null and non-object JSON count as {} and are always written.
  EXPECT_EQ(json::parse(db::merge_note_data(std::nullopt, patch).text), json::value(patch));
  EXPECT_EQ(json::parse(db::merge_note_data(c("null"), patch).text), json::value(patch));
  EXPECT_EQ(json::parse(db::merge_note_data(c("[]"), json::object{}).text), json::parse("{}"));
  // Text that is not JSON is never overwritten.
  EXPECT_EQ(db::merge_note_data(c("oops"), patch).result, o::unreadable);
}

// Found by tests/fuzz/json_columns_fuzz.cpp: Boost.JSON 1.81's parser is not correctly rounded,
// so a float read and written back changed in its last digit, and merging the same patch twice
// "changed" the note. Columns are read exactly now (base/pyjson).
TEST(DbNotes, NumbersSurviveARewriteExactly) {
  using o = db::note_merge::outcome;
  const json::object patch{{"x", 1}};
  EXPECT_EQ(db::merge_note_data(c(R"({"big":1.7777777777777778E61,"n":NaN,"x":1})"), patch).result, o::unchanged);
  const json::object patch2 = std::get<json::value>(owcore::base::pyjson::load(
      R"({"": 555555555555555555555555555555555555555555555555555555555545})", 8)).as_object();
  const auto once = db::merge_note_data(c(R"({"": 45})"), patch2);
  ASSERT_EQ(once.result, o::merged);
  EXPECT_EQ(db::merge_note_data(c(once.text), patch2).result, o::unchanged);
}

}  // namespace

}  // namespace db_json_columns_test
