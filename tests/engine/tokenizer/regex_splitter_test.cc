#include "engine/tokenizer/regex_splitter.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace minimind {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> SplitWith(const SplitPattern& pattern, absl::string_view text) {
  auto splitter = RegexSplitter::Create(pattern);
  EXPECT_TRUE(splitter.ok()) << splitter.status();
  std::vector<absl::string_view> pieces;
  splitter->Split(text, pieces);
  return std::vector<std::string>(pieces.begin(), pieces.end());
}

const SplitPattern kGpt2{std::string(kGpt2SplitPattern), false};

TEST(RegexSplitterTest, Gpt2PatternSplitsWordsNumbersPunctuationAndSpaces) {
  EXPECT_THAT(SplitWith(kGpt2, "Hello, world! It's 2024."),
              ElementsAre("Hello", ",", " world", "!", " It", "'s", " 2024", "."));
  // Runs of spaces give all but the last space to the whitespace piece.
  EXPECT_THAT(SplitWith(kGpt2, "a   b"), ElementsAre("a", "  ", " b"));
  EXPECT_THAT(SplitWith(kGpt2, "中文，测试"), ElementsAre("中文", "，", "测试"));
  EXPECT_THAT(SplitWith(kGpt2, "x\n\n"), ElementsAre("x", "\n\n"));
}

TEST(RegexSplitterTest, UnicodeClassesCoverNonAscii) {
  // U+3000 ideographic space is whitespace; fullwidth digits are numbers.
  EXPECT_THAT(SplitWith(kGpt2, "ab\xE3\x80\x80" "cd"), ElementsAre("ab", "\xE3\x80\x80", "cd"));
  EXPECT_THAT(SplitWith(kGpt2, "x１２"), ElementsAre("x", "１２"));
}

TEST(RegexSplitterTest, KeepsGapsBetweenMatches) {
  EXPECT_THAT(SplitWith({"\\d+", false}, "ab12cd3"), ElementsAre("ab", "12", "cd", "3"));
  EXPECT_THAT(SplitWith({"a.b", true}, "xa.bya_b"), ElementsAre("x", "a.b", "ya_b"));
}

TEST(RegexSplitterTest, EmptyMatchesDoNotLoop) {
  EXPECT_THAT(SplitWith({"x*", false}, "abxxc"), ElementsAre("ab", "xx", "c"));
  EXPECT_THAT(SplitWith({"$", false}, "abc"), ElementsAre("abc"));
}

TEST(RegexSplitterTest, BadPatternIsAnError) {
  auto splitter = RegexSplitter::Create({"(unclosed", false});
  EXPECT_EQ(splitter.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(splitter.status().message()), ::testing::HasSubstr("(unclosed"));
}

}  // namespace
}  // namespace minimind
