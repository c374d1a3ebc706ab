#include "engine/sampling/prompt_logprobs.h"

#include <cmath>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace minimind {
namespace {

using ::testing::HasSubstr;

TEST(PromptLogprobsTest, ScoresEachNextTokenWithAlternatives) {
  // Vocabulary of 3; prompt 2, 0, 1. Row 0 predicts token 0, row 1 predicts token 1.
  const std::vector<float> logits = {
      std::log(0.5f), std::log(0.25f), std::log(0.25f),  // Row 0.
      std::log(0.1f), std::log(0.2f),  std::log(0.7f),   // Row 1.
  };
  const std::vector<TokenId> prompt = {2, 0, 1};
  absl::StatusOr<std::vector<PromptTokenLogprobs>> result =
      ComputePromptLogprobs(logits, 3, prompt, 2);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->size(), 2u);

  const PromptTokenLogprobs& first = (*result)[0];
  EXPECT_EQ(first.id, 0);
  EXPECT_NEAR(first.logprob, std::log(0.5), 1e-6);
  ASSERT_EQ(first.top.size(), 2u);
  EXPECT_EQ(first.top[0].id, 0);
  EXPECT_EQ(first.top[1].id, 1);  // Ties with token 2: the lower id.
  EXPECT_NEAR(first.top[1].logprob, std::log(0.25), 1e-6);

  const PromptTokenLogprobs& second = (*result)[1];
  EXPECT_EQ(second.id, 1);
  EXPECT_NEAR(second.logprob, std::log(0.2), 1e-6);
  ASSERT_EQ(second.top.size(), 2u);
  EXPECT_EQ(second.top[0].id, 2);
  EXPECT_NEAR(second.top[0].logprob, std::log(0.7), 1e-6);
  EXPECT_EQ(second.top[1].id, 1);
}

TEST(PromptLogprobsTest, ChunkedCallsMatchOneCall) {
  std::vector<float> logits;
  for (int i = 0; i < 4 * 5; ++i) logits.push_back(static_cast<float>((i * 7) % 5) * 0.3f);
  const std::vector<TokenId> prompt = {1, 4, 0, 3, 2};
  absl::StatusOr<std::vector<PromptTokenLogprobs>> whole =
      ComputePromptLogprobs(logits, 5, prompt, 1);
  ASSERT_TRUE(whole.ok()) << whole.status();
  // Rows 0-1, then rows 2-3 with the prompt slice starting one token before row 2's target.
  absl::StatusOr<std::vector<PromptTokenLogprobs>> head = ComputePromptLogprobs(
      absl::MakeConstSpan(logits).subspan(0, 10), 5, absl::MakeConstSpan(prompt).subspan(0, 3), 1);
  absl::StatusOr<std::vector<PromptTokenLogprobs>> tail = ComputePromptLogprobs(
      absl::MakeConstSpan(logits).subspan(10), 5, absl::MakeConstSpan(prompt).subspan(2), 1);
  ASSERT_TRUE(head.ok() && tail.ok());
  std::vector<PromptTokenLogprobs> joined = *head;
  joined.insert(joined.end(), tail->begin(), tail->end());
  EXPECT_EQ(joined, *whole);
}

TEST(PromptLogprobsTest, SingleTokenPromptHasNothingToScore) {
  const std::vector<TokenId> prompt = {3};
  absl::StatusOr<std::vector<PromptTokenLogprobs>> result =
      ComputePromptLogprobs({}, 10, prompt, 5);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->empty());
}

TEST(PromptLogprobsTest, RejectsBadArguments) {
  const std::vector<float> logits(6, 0.0f);
  const std::vector<TokenId> prompt = {0, 1, 2};
  EXPECT_EQ(ComputePromptLogprobs(logits, 3, {}, 0).status().message(),
            "prompt logprobs need a non-empty prompt");
  EXPECT_EQ(ComputePromptLogprobs(logits, 4, prompt, 0).status().message(),
            "prompt logprobs for 3 prompt tokens need 2 rows of 4 logits (8 floats), got 6 floats");
  EXPECT_EQ(ComputePromptLogprobs(logits, 3, prompt, 21).status().message(),
            "prompt_logprobs must be in [0, 20], got 21");
  const std::vector<TokenId> bad_prompt = {0, 1, 3};
  const absl::Status status = ComputePromptLogprobs(logits, 3, bad_prompt, 0).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(status.message(), "prompt token 2 has id 3, outside the vocabulary of 3");
  std::vector<float> nan_logits = logits;
  nan_logits[4] = std::nanf("");
  EXPECT_THAT(ComputePromptLogprobs(nan_logits, 3, prompt, 0).status().message(),
              HasSubstr("prompt position 1: logit of token 1 is nan"));
}

}  // namespace
}  // namespace minimind
