#include "engine/kernels/rms_norm.h"

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace minimind {
namespace {

std::vector<float> RandomVector(int64_t n, uint32_t seed, float mean = 0.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(mean, 1.0f);
  std::vector<float> values(n);
  for (float& value : values) value = normal(rng);
  return values;
}

TEST(RmsNormTest, MatchesDoublePrecisionReference) {
  for (int64_t n : {1, 16, 24, 64, 515}) {
    const std::vector<float> x = RandomVector(n, n);
    const std::vector<float> weight = RandomVector(n, n + 1, 1.0f);
    const float eps = 1e-5f;
    std::vector<float> out(n);
    RmsNorm(x.data(), weight.data(), n, eps, out.data());
    double sum_squares = 0;
    for (float value : x) sum_squares += static_cast<double>(value) * value;
    const double inverse_rms = 1.0 / std::sqrt(sum_squares / n + eps);
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_NEAR(out[i], weight[i] * x[i] * inverse_rms, 1e-5) << n << " " << i;
    }
  }
}

TEST(RmsNormTest, EpsilonKeepsZeroInputFinite) {
  const std::vector<float> x(8, 0.0f), weight(8, 1.0f);
  std::vector<float> out(8, 1.0f);
  RmsNorm(x.data(), weight.data(), 8, 1e-6f, out.data());
  for (float value : out) EXPECT_EQ(value, 0.0f);
}

TEST(RmsNormTest, InPlaceEqualsOutOfPlace) {
  std::vector<float> x = RandomVector(100, 3);
  const std::vector<float> weight = RandomVector(100, 4, 1.0f);
  std::vector<float> out(100);
  RmsNorm(x.data(), weight.data(), 100, 1e-6f, out.data());
  RmsNorm(x.data(), weight.data(), 100, 1e-6f, x.data());
  EXPECT_EQ(x, out);
}

}  // namespace
}  // namespace minimind
