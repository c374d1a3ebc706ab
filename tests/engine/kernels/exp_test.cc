#include "engine/kernels/exp.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>

#include "gtest/gtest.h"

namespace minimind {
namespace {

// Distance in units in the last place between two finite, non-negative floats.
int64_t UlpDistance(float a, float b) {
  int32_t ia, ib;
  std::memcpy(&ia, &a, sizeof(ia));
  std::memcpy(&ib, &b, sizeof(ib));
  return std::abs(static_cast<int64_t>(ia) - static_cast<int64_t>(ib));
}

float ExpOne(float x) {
  float result;
  Exp(&x, 1, &result);
  return result;
}

TEST(ExpTest, WithinTwoUlpOfTheCorrectlyRoundedValueAcrossTheRange) {
  int64_t worst = 0;
  float worst_x = 0;
  // Every 509th float magnitude up to 104, with both signs: ~4.4M inputs from -104 to 88.7
  // (near 0 as densely as near the ends, since floats are).
  for (uint32_t magnitude = 0; magnitude <= 0x42d00000u; magnitude += 509) {
    float positive;
    std::memcpy(&positive, &magnitude, sizeof(positive));
    for (float x : {positive, -positive}) {
      if (x >= 88.72f) continue;
      const float expected = static_cast<float>(std::exp(static_cast<double>(x)));
      if (expected < std::numeric_limits<float>::min()) {  // Subnormal: absolute error.
        ASSERT_NEAR(ExpOne(x), expected, 2 * std::numeric_limits<float>::denorm_min()) << x;
        continue;
      }
      const int64_t ulps = UlpDistance(ExpOne(x), expected);
      if (ulps > worst) {
        worst = ulps;
        worst_x = x;
      }
    }
  }
  EXPECT_LE(worst, 2) << "at x = " << worst_x;
  std::printf("worst error: %lld ulp at x = %.9g\n", static_cast<long long>(worst), worst_x);
}

TEST(ExpTest, ExactWhereExpIsExact) {
  EXPECT_EQ(ExpOne(0.0f), 1.0f);
  EXPECT_EQ(ExpOne(-0.0f), 1.0f);
}

TEST(ExpTest, SpecialValues) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(ExpOne(89.0f), inf);
  EXPECT_EQ(ExpOne(inf), inf);
  EXPECT_EQ(ExpOne(-inf), 0.0f);
  EXPECT_EQ(ExpOne(-200.0f), 0.0f);
  EXPECT_TRUE(std::isnan(ExpOne(std::nanf(""))));
  EXPECT_GT(ExpOne(88.7f), 1e38f);
  EXPECT_LT(ExpOne(88.7f), inf);
}

// Each lane is computed alone: a value's exponential does not depend on its lane or on the
// values beside it.
TEST(ExpTest, LanesAreIndependent) {
  constexpr int kCount = 11;  // A full 8-lane block and a partial one.
  const float inputs[kCount] = {-3.5f,  0.25f, -80.0f, 12.0f, -0.001f, 7.75f,
                                -50.5f, 1.0f,  3.0f,   -7.0f, 0.5f};
  float together[kCount];
  Exp(inputs, kCount, together);
  for (int lane = 0; lane < kCount; ++lane) {
    const float alone = ExpOne(inputs[lane]);
    EXPECT_EQ(std::memcmp(&alone, &together[lane], sizeof(float)), 0) << lane;
  }
}

}  // namespace
}  // namespace minimind
