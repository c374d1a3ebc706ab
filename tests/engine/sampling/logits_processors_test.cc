#include "engine/sampling/logits_processors.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace minimind {
namespace {

using ::testing::ElementsAre;

TEST(ApplyPenaltiesTest, RepetitionDividesPositiveAndMultipliesNegativeLogits) {
  std::vector<float> logits = {2.0f, -2.0f, 0.0f, 3.0f};
  const std::vector<TokenId> prompt = {0, 1};
  TokenHistory history(prompt);
  history.AddOutput(2);
  ASSERT_TRUE(ApplyPenalties(absl::MakeSpan(logits), history, {.repetition_penalty = 2.0f}).ok());
  // Token 3 never appeared: untouched. Zero stays zero.
  EXPECT_THAT(logits, ElementsAre(1.0f, -4.0f, 0.0f, 3.0f));
}

TEST(ApplyPenaltiesTest, PresenceAndFrequencyCountOnlyOutputTokens) {
  std::vector<float> logits = {1.0f, 1.0f, 1.0f, 1.0f};
  const std::vector<TokenId> prompt = {0, 3};
  TokenHistory history(prompt);
  history.AddOutput(1);
  history.AddOutput(2);
  history.AddOutput(2);
  history.AddOutput(2);
  history.AddOutput(3);
  ASSERT_TRUE(ApplyPenalties(absl::MakeSpan(logits), history,
                             {.presence_penalty = 0.5f, .frequency_penalty = 0.25f})
                  .ok());
  // Token 0: prompt only. Token 1: once -> 1 - 0.25 - 0.5. Token 2: three times ->
  // 1 - 0.75 - 0.5. Token 3: once in the output (the prompt occurrence does not count).
  EXPECT_THAT(logits, ElementsAre(1.0f, 0.25f, -0.25f, 0.25f));
}

TEST(ApplyPenaltiesTest, NegativePresenceAndFrequencyEncourageRepeats) {
  std::vector<float> logits = {0.0f, 0.0f};
  TokenHistory history;
  history.AddOutput(1);
  history.AddOutput(1);
  ASSERT_TRUE(ApplyPenalties(absl::MakeSpan(logits), history,
                             {.presence_penalty = -1.0f, .frequency_penalty = -0.5f})
                  .ok());
  EXPECT_THAT(logits, ElementsAre(0.0f, 2.0f));
}

TEST(ApplyPenaltiesTest, AllThreeInVllmOrder) {
  std::vector<float> logits = {4.0f};
  TokenHistory history;
  history.AddOutput(0);
  history.AddOutput(0);
  ASSERT_TRUE(ApplyPenalties(
                  absl::MakeSpan(logits), history,
                  {.repetition_penalty = 2.0f, .presence_penalty = 1.0f, .frequency_penalty = 0.5f})
                  .ok());
  // Repetition first (4 / 2 = 2), then frequency (2 - 0.5 * 2 = 1), then presence (1 - 1 = 0).
  EXPECT_THAT(logits, ElementsAre(0.0f));
}

TEST(ApplyPenaltiesTest, NeutralPenaltiesIgnoreEvenBadIds) {
  std::vector<float> logits = {1.0f, 2.0f};
  const std::vector<TokenId> prompt = {99};
  EXPECT_TRUE(ApplyPenalties(absl::MakeSpan(logits), TokenHistory(prompt), {}).ok());
  EXPECT_THAT(logits, ElementsAre(1.0f, 2.0f));
}

TEST(ApplyPenaltiesTest, RejectsHistoryIdOutsideVocabularyWithoutTouchingLogits) {
  std::vector<float> logits = {1.0f, 2.0f};
  const std::vector<TokenId> prompt = {0, 7};
  const absl::Status status =
      ApplyPenalties(absl::MakeSpan(logits), TokenHistory(prompt), {.repetition_penalty = 2.0f});
  EXPECT_EQ(status.code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(status.message(), "token id 7 in the history is outside the vocabulary of 2 logits");
  EXPECT_THAT(logits, ElementsAre(1.0f, 2.0f));
}

TEST(ApplyTemperatureTest, DividesEveryLogit) {
  std::vector<float> logits = {1.0f, -3.0f, 0.5f};
  ApplyTemperature(absl::MakeSpan(logits), 0.5f);
  EXPECT_THAT(logits, ElementsAre(2.0f, -6.0f, 1.0f));
  ApplyTemperature(absl::MakeSpan(logits), 1.0f);
  EXPECT_THAT(logits, ElementsAre(2.0f, -6.0f, 1.0f));
  ApplyTemperature(absl::MakeSpan(logits), 4.0f);
  EXPECT_THAT(logits, ElementsAre(0.5f, -1.5f, 0.25f));
}

}  // namespace
}  // namespace minimind
