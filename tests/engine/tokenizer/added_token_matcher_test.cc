#include "engine/tokenizer/added_token_matcher.h"

#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace minimind {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

std::vector<std::pair<std::string, TokenId>> SplitWith(const AddedTokenMatcher& matcher,
                                                       absl::string_view text,
                                                       bool parse_special = true) {
  std::vector<AddedTokenMatcher::Segment> segments;
  matcher.Split(text, parse_special, segments);
  std::vector<std::pair<std::string, TokenId>> result;
  for (const auto& segment : segments) result.emplace_back(segment.text, segment.token);
  return result;
}

TEST(AddedTokenMatcherTest, PrefersTheLongestTokenAtTheLeftmostPosition) {
  const AddedTokenMatcher matcher({{.id = 1, .content = "<a>", .special = true},
                                   {.id = 2, .content = "<a><b>", .special = true},
                                   {.id = 3, .content = "b>", .special = false}});
  EXPECT_THAT(SplitWith(matcher, "x<a><b>y<a>b>"),
              ElementsAre(Pair("x", -1), Pair("<a><b>", 2), Pair("y", -1), Pair("<a>", 1),
                          Pair("b>", 3)));
}

TEST(AddedTokenMatcherTest, LeavesSpecialTokensAsTextWhenNotParsing) {
  const AddedTokenMatcher matcher({{.id = 1, .content = "<s>", .special = true},
                                   {.id = 2, .content = "<t>", .special = false}});
  EXPECT_THAT(SplitWith(matcher, "a<s>b<t>", /*parse_special=*/false),
              ElementsAre(Pair("a<s>b", -1), Pair("<t>", 2)));
}

TEST(AddedTokenMatcherTest, StripFlagsAbsorbNeighbouringWhitespace) {
  const AddedTokenMatcher matcher(
      {{.id = 7, .content = "<m>", .special = true, .lstrip = true, .rstrip = true}});
  EXPECT_THAT(SplitWith(matcher, "a  <m>\n b"),
              ElementsAre(Pair("a", -1), Pair("  <m>\n ", 7), Pair("b", -1)));
}

TEST(AddedTokenMatcherTest, TextWithoutTokensIsOneSegment) {
  const AddedTokenMatcher matcher({{.id = 1, .content = "<s>", .special = true}});
  EXPECT_THAT(SplitWith(matcher, "plain < text >"), ElementsAre(Pair("plain < text >", -1)));
  EXPECT_TRUE(SplitWith(matcher, "").empty());
}

}  // namespace
}  // namespace minimind
