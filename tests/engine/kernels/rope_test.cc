#include "engine/kernels/rope.h"

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace minimind {
namespace {

TEST(RopeTest, RotatesPairsIAndIPlusHalf) {
  constexpr int64_t kHeadDim = 6;
  std::vector<float> head = {1, 2, 3, 4, 5, 6};
  const std::vector<float> cos = {0.0f, 1.0f, 0.5f};
  const std::vector<float> sin = {1.0f, 0.0f, 0.25f};
  ApplyRope(cos.data(), sin.data(), kHeadDim, head.data());
  // Pair (0, 3): rotated by 90°: (1, 4) -> (-4, 1). Pair (1, 4): unrotated. Pair (2, 5):
  // (3·0.5 - 6·0.25, 6·0.5 + 3·0.25).
  EXPECT_EQ(head, (std::vector<float>{-4, 2, 0, 1, 5, 3.75f}));
}

TEST(RopeTest, MatchesDoublePrecisionRotation) {
  constexpr int64_t kHeadDim = 24;
  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  std::vector<float> head(kHeadDim);
  for (float& value : head) value = normal(rng);
  const std::vector<float> original = head;
  std::vector<float> cos(kHeadDim / 2), sin(kHeadDim / 2);
  for (int64_t i = 0; i < kHeadDim / 2; ++i) {
    const double angle = 17.0 * std::pow(10000.0, -2.0 * i / kHeadDim);
    cos[i] = static_cast<float>(std::cos(angle));
    sin[i] = static_cast<float>(std::sin(angle));
  }
  ApplyRope(cos.data(), sin.data(), kHeadDim, head.data());
  for (int64_t i = 0; i < kHeadDim / 2; ++i) {
    const double x0 = original[i], x1 = original[i + kHeadDim / 2];
    EXPECT_NEAR(head[i], x0 * cos[i] - x1 * sin[i], 1e-6);
    EXPECT_NEAR(head[i + kHeadDim / 2], x1 * cos[i] + x0 * sin[i], 1e-6);
  }
}

}  // namespace
}  // namespace minimind
