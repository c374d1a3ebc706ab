#include "engine/sampling/logprobs.h"

#include <cmath>
#include <limits>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace minimind {
namespace {

using ::testing::ElementsAre;

constexpr float kInfinity = std::numeric_limits<float>::infinity();

TEST(CheckLogitsTest, AcceptsFiniteAndNegativeInfinity) {
  EXPECT_TRUE(CheckLogits(std::vector<float>{1.0f, -kInfinity, -3.0f}).ok());
}

TEST(CheckLogitsTest, NamesTheFirstBadToken) {
  std::vector<float> logits(100, 0.0f);
  logits[42] = std::numeric_limits<float>::quiet_NaN();
  logits[70] = kInfinity;
  absl::Status status = CheckLogits(logits);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "logit of token 42 is nan; logits must be finite or -inf");
  logits[42] = 0.0f;
  status = CheckLogits(logits);
  EXPECT_EQ(status.message(), "logit of token 70 is inf; logits must be finite or -inf");
}

TEST(CheckLogitsTest, RejectsAllNegativeInfinity) {
  const absl::Status status = CheckLogits(std::vector<float>(3, -kInfinity));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "all 3 logits are -inf; at least one token must be possible");
}

TEST(LogSoftmaxNormalizerTest, MatchesHandComputedLogSoftmax) {
  const std::vector<float> logits = {1.0f, 2.0f, 3.0f, -kInfinity};
  const LogSoftmaxNormalizer normalizer = ComputeLogSoftmaxNormalizer(logits);
  EXPECT_EQ(normalizer.max_logit, 3.0f);
  // log(1 + e^-1 + e^-2) = 0.40760596...
  EXPECT_NEAR(normalizer.log_sum_exp, 0.4076059644, 1e-7);
  EXPECT_NEAR(normalizer.Logprob(3.0f), -0.4076059644, 1e-7);
  EXPECT_NEAR(normalizer.Logprob(2.0f), -1.4076059644, 1e-7);
  EXPECT_NEAR(normalizer.Logprob(1.0f), -2.4076059644, 1e-6);
  EXPECT_EQ(normalizer.Logprob(-kInfinity), -kInfinity);
}

TEST(LogSoftmaxNormalizerTest, SingleCertainTokenHasLogprobZero) {
  const std::vector<float> logits = {-kInfinity, 5.0f, -kInfinity};
  const LogSoftmaxNormalizer normalizer = ComputeLogSoftmaxNormalizer(logits);
  EXPECT_EQ(normalizer.Logprob(5.0f), 0.0f);
}

TEST(LogSoftmaxNormalizerTest, StaysAccurateForVeryUnlikelyTokens) {
  const std::vector<float> logits = {0.0f, -200.0f};
  const LogSoftmaxNormalizer normalizer = ComputeLogSoftmaxNormalizer(logits);
  EXPECT_EQ(normalizer.Logprob(-200.0f), -200.0f);
}

TEST(TopLogprobsTest, SortedByLogprobThenId) {
  const std::vector<float> logits = {0.0f, 2.0f, 1.0f, 2.0f, -1.0f};
  const LogSoftmaxNormalizer normalizer = ComputeLogSoftmaxNormalizer(logits);
  std::vector<Candidate> scratch;
  const std::vector<TokenLogprob> top = TopLogprobs(logits, normalizer, 3, scratch);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].id, 1);
  EXPECT_EQ(top[1].id, 3);
  EXPECT_EQ(top[2].id, 2);
  EXPECT_EQ(top[0].logprob, top[1].logprob);
  EXPECT_EQ(top[0].logprob, normalizer.Logprob(2.0f));
  EXPECT_EQ(top[2].logprob, normalizer.Logprob(1.0f));
  EXPECT_TRUE(TopLogprobs(logits, normalizer, 0, scratch).empty());
  EXPECT_EQ(TopLogprobs(logits, normalizer, 20, scratch).size(), 5u);
}

}  // namespace
}  // namespace minimind
