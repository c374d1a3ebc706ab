#include "engine/sampling/token_ranking.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "gtest/gtest.h"

namespace minimind {
namespace {

constexpr float kInfinity = std::numeric_limits<float>::infinity();

// The definition, spelled out: every token sorted by the comparator.
std::vector<Candidate> BruteForceRanking(const std::vector<float>& logits) {
  std::vector<Candidate> all;
  for (size_t i = 0; i < logits.size(); ++i) all.push_back({logits[i], static_cast<TokenId>(i)});
  std::sort(all.begin(), all.end(), CanonicallyBefore);
  return all;
}

// Rows with many ties (values from a small set), signed zeros and -inf, from a fixed LCG.
std::vector<float> TieHeavyRow(size_t size, uint32_t seed) {
  std::vector<float> logits(size);
  uint32_t state = seed;
  for (float& logit : logits) {
    state = state * 1664525u + 1013904223u;
    const uint32_t pick = (state >> 16) % 23;
    logit = pick == 0   ? -kInfinity
            : pick == 1 ? -0.0f
                        : static_cast<float>(pick % 11) * 0.5f - 2.0f;
  }
  return logits;
}

std::vector<TokenId> Ids(const std::vector<Candidate>& candidates) {
  std::vector<TokenId> ids;
  for (const Candidate& candidate : candidates) ids.push_back(candidate.id);
  return ids;
}

TEST(CanonicalOrderTest, HigherLogitFirstThenLowerId) {
  EXPECT_TRUE(CanonicallyBefore({2.0f, 9}, {1.0f, 0}));
  EXPECT_FALSE(CanonicallyBefore({1.0f, 0}, {2.0f, 9}));
  EXPECT_TRUE(CanonicallyBefore({1.0f, 3}, {1.0f, 4}));
  EXPECT_FALSE(CanonicallyBefore({1.0f, 4}, {1.0f, 3}));
  EXPECT_FALSE(CanonicallyBefore({1.0f, 4}, {1.0f, 4}));
  // Signed zeros compare equal, so the id decides.
  EXPECT_TRUE(CanonicallyBefore({-0.0f, 1}, {0.0f, 2}));
}

TEST(ArgmaxTest, LowestIdAmongTies) {
  EXPECT_EQ(Argmax(std::vector<float>{1.0f, 3.0f, 2.0f, 3.0f}), 1);
  EXPECT_EQ(Argmax(std::vector<float>{5.0f}), 0);
  EXPECT_EQ(Argmax(std::vector<float>{-kInfinity, -kInfinity, -1.0f}), 2);
  std::vector<float> long_row(1000, 0.5f);
  long_row[700] = 2.0f;
  long_row[999] = 2.0f;
  EXPECT_EQ(Argmax(long_row), 700);
  long_row[999] = 3.0f;  // In the tail after the last full chunk.
  EXPECT_EQ(Argmax(long_row), 999);
  EXPECT_EQ(Argmax(std::vector<float>(37, 1.0f)), 0);
}

TEST(SelectTopCandidatesTest, SmallExampleByHand) {
  const std::vector<float> logits = {0.5f, 2.0f, -1.0f, 2.0f, 1.0f};
  std::vector<Candidate> top;
  SelectTopCandidates(logits, 3, top);
  EXPECT_EQ(Ids(top), (std::vector<TokenId>{1, 3, 4}));
  SelectTopCandidates(logits, 10, top);
  EXPECT_EQ(Ids(top), (std::vector<TokenId>{1, 3, 4, 0, 2}));
  SelectTopCandidates(logits, 0, top);
  EXPECT_TRUE(top.empty());
}

TEST(SelectTopCandidatesTest, MatchesFullSortOnTieHeavyRows) {
  for (const size_t size : {size_t{1}, size_t{17}, size_t{100}, size_t{6400}}) {
    const std::vector<float> logits = TieHeavyRow(size, static_cast<uint32_t>(size));
    const std::vector<Candidate> expected = BruteForceRanking(logits);
    for (const size_t count : {size_t{1}, size_t{2}, size_t{5}, size_t{20}, size_t{64},
                               size_t{1000}, size_t{5000}, size_t{7000}}) {
      std::vector<Candidate> top;
      SelectTopCandidates(logits, count, top);
      const size_t kept = std::min(count, size);
      ASSERT_EQ(top.size(), kept);
      for (size_t i = 0; i < kept; ++i) {
        ASSERT_EQ(top[i].id, expected[i].id) << "size " << size << " count " << count << " #" << i;
      }
    }
  }
}

TEST(RankedTokensTest, EveryPositionMatchesFullSortIncludingDeepWalks) {
  for (const size_t size : {size_t{3}, size_t{1000}, size_t{20000}}) {
    const std::vector<float> logits = TieHeavyRow(size, 77);
    const std::vector<Candidate> expected = BruteForceRanking(logits);
    RankedTokens ranked;
    ranked.Reset(logits);
    ASSERT_EQ(ranked.size(), size);
    for (size_t i = 0; i < size; ++i) {
      ASSERT_EQ(ranked.At(i).id, expected[i].id) << "size " << size << " rank " << i;
      ASSERT_EQ(ranked.At(i).logit, expected[i].logit);
    }
  }
}

TEST(RankedTokensTest, RadixPathOrdersNegativeZeroAndInfinitiesLikeTheComparator) {
  std::vector<float> logits(4000, -3.0f);
  logits[10] = 0.0f;
  logits[5] = -0.0f;
  logits[3000] = -kInfinity;
  logits[20] = std::numeric_limits<float>::max();
  logits[21] = -std::numeric_limits<float>::max();
  logits[22] = std::numeric_limits<float>::denorm_min();
  const std::vector<Candidate> expected = BruteForceRanking(logits);
  RankedTokens ranked;
  ranked.Reset(logits);
  ASSERT_EQ(ranked.At(3999).id, expected[3999].id);  // Forces the full radix sort.
  for (size_t i = 0; i < logits.size(); ++i) ASSERT_EQ(ranked.At(i).id, expected[i].id) << i;
  EXPECT_EQ(ranked.At(0).id, 20);
  EXPECT_EQ(ranked.At(1).id, 22);
  EXPECT_EQ(ranked.At(2).id, 5);  // -0 ties +0: the lower id first.
  EXPECT_EQ(ranked.At(3).id, 10);
  EXPECT_EQ(ranked.At(3999).id, 3000);
}

TEST(RankedTokensTest, ResetForgetsThePreviousRow) {
  RankedTokens ranked;
  const std::vector<float> first = {1.0f, 2.0f, 3.0f};
  const std::vector<float> second = {3.0f, 2.0f};
  ranked.Reset(first);
  EXPECT_EQ(ranked.At(0).id, 2);
  ranked.Reset(second);
  EXPECT_EQ(ranked.size(), 2u);
  EXPECT_EQ(ranked.At(0).id, 0);
  EXPECT_EQ(ranked.At(1).id, 1);
}

}  // namespace
}  // namespace minimind
