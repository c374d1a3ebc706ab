#include "engine/sampling/token_history.h"

#include <vector>

#include "gtest/gtest.h"

namespace minimind {
namespace {

TEST(TokenHistoryTest, TracksPromptPresenceAndOutputCounts) {
  const std::vector<TokenId> prompt = {5, 7, 5};
  TokenHistory history(prompt);
  history.AddOutput(7);
  history.AddOutput(9);
  history.AddOutput(9);

  const auto& counts = history.counts();
  ASSERT_EQ(counts.size(), 3u);
  EXPECT_TRUE(counts.at(5).in_prompt);
  EXPECT_EQ(counts.at(5).output_count, 0);
  EXPECT_TRUE(counts.at(7).in_prompt);
  EXPECT_EQ(counts.at(7).output_count, 1);
  EXPECT_FALSE(counts.at(9).in_prompt);
  EXPECT_EQ(counts.at(9).output_count, 2);
}

TEST(TokenHistoryTest, EmptyHistoryHasNoTokens) {
  TokenHistory history;
  EXPECT_TRUE(history.counts().empty());
}

}  // namespace
}  // namespace minimind
