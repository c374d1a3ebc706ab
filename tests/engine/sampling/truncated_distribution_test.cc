#include "engine/sampling/truncated_distribution.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "gtest/gtest.h"

namespace minimind {
namespace {

constexpr float kInfinity = std::numeric_limits<float>::infinity();

// Probabilities 0.4 (id 2), 0.3 (id 0), 0.2 (id 3), 0.1 (id 1): canonical order 2, 0, 3, 1.
std::vector<float> FourTokenLogits() {
  return {std::log(0.3f), std::log(0.1f), std::log(0.4f), std::log(0.2f)};
}

std::vector<TokenId> Survivors(TruncatedDistribution& distribution) {
  std::vector<TokenId> ids;
  for (size_t i = 0; i < distribution.size(); ++i) ids.push_back(distribution.At(i).id);
  return ids;
}

TEST(TruncatedDistributionTest, NoFilterKeepsEverythingWithSoftmaxProbabilities) {
  const std::vector<float> logits = FourTokenLogits();
  TruncatedDistribution distribution;
  distribution.Reset(logits, 0, 1.0f, 0.0f);
  EXPECT_EQ(Survivors(distribution), (std::vector<TokenId>{2, 0, 3, 1}));
  EXPECT_NEAR(distribution.total_weight(), 2.5, 1e-6);  // Weights 1, .75, .5, .25.
  EXPECT_NEAR(distribution.Probability(0), 0.4, 1e-6);
  EXPECT_NEAR(distribution.Probability(1), 0.3, 1e-6);
  EXPECT_NEAR(distribution.Probability(2), 0.2, 1e-6);
  EXPECT_NEAR(distribution.Probability(3), 0.1, 1e-6);
}

TEST(TruncatedDistributionTest, TopKKeepsTheKBestAndRenormalizes) {
  const std::vector<float> logits = FourTokenLogits();
  TruncatedDistribution distribution;
  distribution.Reset(logits, 2, 1.0f, 0.0f);
  EXPECT_EQ(Survivors(distribution), (std::vector<TokenId>{2, 0}));
  EXPECT_NEAR(distribution.Probability(0), 4.0 / 7.0, 1e-6);
  EXPECT_NEAR(distribution.Probability(1), 3.0 / 7.0, 1e-6);
  distribution.Reset(logits, 4, 1.0f, 0.0f);
  EXPECT_EQ(distribution.size(), 4u);
  distribution.Reset(logits, 100, 1.0f, 0.0f);
  EXPECT_EQ(distribution.size(), 4u);
}

TEST(TruncatedDistributionTest, TopPKeepsTheShortestPrefixReachingP) {
  const std::vector<float> logits = FourTokenLogits();
  TruncatedDistribution distribution;
  // Cumulative: 0.4, 0.7, 0.9, 1.0.
  distribution.Reset(logits, 0, 0.35f, 0.0f);
  EXPECT_EQ(Survivors(distribution), (std::vector<TokenId>{2}));
  distribution.Reset(logits, 0, 0.65f, 0.0f);
  EXPECT_EQ(Survivors(distribution), (std::vector<TokenId>{2, 0}));
  EXPECT_NEAR(distribution.Probability(0), 4.0 / 7.0, 1e-6);
  distribution.Reset(logits, 0, 0.75f, 0.0f);
  EXPECT_EQ(Survivors(distribution), (std::vector<TokenId>{2, 0, 3}));
  distribution.Reset(logits, 0, 0.95f, 0.0f);
  EXPECT_EQ(distribution.size(), 4u);
}

TEST(TruncatedDistributionTest, TinyTopPKeepsExactlyTheArgmax) {
  const std::vector<float> logits = FourTokenLogits();
  TruncatedDistribution distribution;
  distribution.Reset(logits, 0, 1e-9f, 0.0f);
  EXPECT_EQ(Survivors(distribution), (std::vector<TokenId>{2}));
  EXPECT_EQ(distribution.Probability(0), 1.0);
  EXPECT_EQ(distribution.Draw(0.999f), 2);
}

TEST(TruncatedDistributionTest, TopPRunsOnTheTopKRenormalizedDistribution) {
  const std::vector<float> logits = FourTokenLogits();
  TruncatedDistribution distribution;
  // Alone, top-p 0.5 needs 0.4 + 0.3. After top-k 2 the mass is 4/7 + 3/7, and 4/7 >= 0.5.
  distribution.Reset(logits, 0, 0.5f, 0.0f);
  EXPECT_EQ(distribution.size(), 2u);
  distribution.Reset(logits, 2, 0.5f, 0.0f);
  EXPECT_EQ(distribution.size(), 1u);
}

TEST(TruncatedDistributionTest, MinPIsRelativeToTheBestToken) {
  const std::vector<float> logits = FourTokenLogits();
  TruncatedDistribution distribution;
  // Ratios to the best: 1, 0.75, 0.5, 0.25.
  distribution.Reset(logits, 0, 1.0f, 0.6f);
  EXPECT_EQ(Survivors(distribution), (std::vector<TokenId>{2, 0}));
  EXPECT_NEAR(distribution.Probability(1), 3.0 / 7.0, 1e-6);
  distribution.Reset(logits, 0, 1.0f, 0.2f);
  EXPECT_EQ(distribution.size(), 4u);
  distribution.Reset(logits, 0, 1.0f, 1.0f);
  EXPECT_EQ(Survivors(distribution), (std::vector<TokenId>{2}));
  // Combined with top-p, the stricter wins.
  distribution.Reset(logits, 0, 0.95f, 0.4f);
  EXPECT_EQ(distribution.size(), 3u);
  distribution.Reset(logits, 0, 0.65f, 0.1f);
  EXPECT_EQ(distribution.size(), 2u);
}

TEST(TruncatedDistributionTest, AllEqualLogitsKeepTheLowestIds) {
  const std::vector<float> logits(8, 1.5f);
  TruncatedDistribution distribution;
  distribution.Reset(logits, 3, 1.0f, 0.0f);
  EXPECT_EQ(Survivors(distribution), (std::vector<TokenId>{0, 1, 2}));
  // Every weight is exactly 1: top-p 0.375 of 8 needs a cumulative weight of exactly 3.
  distribution.Reset(logits, 0, 0.375f, 0.0f);
  EXPECT_EQ(Survivors(distribution), (std::vector<TokenId>{0, 1, 2}));
  distribution.Reset(logits, 0, 1e-6f, 0.0f);
  EXPECT_EQ(Survivors(distribution), (std::vector<TokenId>{0}));
  distribution.Reset(logits, 0, 1.0f, 1.0f);
  EXPECT_EQ(distribution.size(), 8u);
}

TEST(TruncatedDistributionTest, DrawIsTheInverseCdfInCanonicalOrder) {
  const std::vector<float> logits(4, 0.0f);
  TruncatedDistribution distribution;
  distribution.Reset(logits, 0, 1.0f, 0.0f);
  // W = 4; token k owns [k/4, (k+1)/4).
  EXPECT_EQ(distribution.Draw(0.0f), 0);
  EXPECT_EQ(distribution.Draw(std::nextafter(0.25f, 0.0f)), 0);
  EXPECT_EQ(distribution.Draw(0.25f), 1);
  EXPECT_EQ(distribution.Draw(0.5f), 2);
  EXPECT_EQ(distribution.Draw(0.75f), 3);
  EXPECT_EQ(distribution.Draw(std::nextafter(1.0f, 0.0f)), 3);

  const std::vector<float> skewed = FourTokenLogits();
  distribution.Reset(skewed, 0, 1.0f, 0.0f);
  EXPECT_EQ(distribution.Draw(0.39f), 2);
  EXPECT_EQ(distribution.Draw(0.41f), 0);
  EXPECT_EQ(distribution.Draw(0.69f), 0);
  EXPECT_EQ(distribution.Draw(0.71f), 3);
  EXPECT_EQ(distribution.Draw(0.91f), 1);
}

TEST(TruncatedDistributionTest, NeverDrawsAnImpossibleToken) {
  const std::vector<float> logits = {0.0f, -kInfinity, 0.0f, -kInfinity};
  TruncatedDistribution distribution;
  distribution.Reset(logits, 0, 1.0f, 0.0f);
  EXPECT_EQ(distribution.total_weight(), 2.0);
  EXPECT_EQ(distribution.Draw(0.0f), 0);
  EXPECT_EQ(distribution.Draw(0.5f), 2);
  EXPECT_EQ(distribution.Draw(std::nextafter(1.0f, 0.0f)), 2);
}

// The lazy ranking must find the same cut as the definition applied to a fully sorted row.
TEST(TruncatedDistributionTest, LargeRowMatchesTheDefinition) {
  constexpr size_t kVocab = 50000;
  std::vector<float> logits(kVocab);
  uint32_t state = 12345;
  for (float& logit : logits) {
    state = state * 1664525u + 1013904223u;
    logit = static_cast<float>((state >> 12) % 4000) * 0.005f;  // Many ties, spread of 20.
  }
  std::vector<Candidate> sorted;
  for (size_t i = 0; i < kVocab; ++i) sorted.push_back({logits[i], static_cast<TokenId>(i)});
  std::sort(sorted.begin(), sorted.end(), CanonicallyBefore);
  const float max_logit = sorted[0].logit;
  const double total = SumPortableExpShifted(logits, max_logit);
  for (const float top_p : {0.1f, 0.5f, 0.9f, 0.99f}) {
    size_t expected = 0;
    double cumulative = 0.0;
    while (cumulative < static_cast<double>(top_p) * total) {
      cumulative += PortableExp(sorted[expected++].logit - max_logit);
    }
    TruncatedDistribution distribution;
    distribution.Reset(logits, 0, top_p, 0.0f);
    ASSERT_EQ(distribution.size(), expected) << "top_p " << top_p;
    EXPECT_EQ(distribution.At(expected - 1).id, sorted[expected - 1].id);
    EXPECT_EQ(distribution.total_weight(), cumulative);
  }
}

}  // namespace
}  // namespace minimind
