#include "engine/kernels/softmax.h"

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace minimind {
namespace {

std::vector<float> RandomLogits(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  std::vector<float> values(n);
  for (float& value : values) value = normal(rng);
  return values;
}

std::vector<double> ReferenceLogSoftmax(const std::vector<float>& logits) {
  double max = logits[0];
  for (float value : logits) max = std::max<double>(max, value);
  double sum = 0;
  for (float value : logits) sum += std::exp(value - max);
  std::vector<double> out;
  for (float value : logits) out.push_back(value - max - std::log(sum));
  return out;
}

TEST(SoftmaxTest, MatchesDoublePrecisionReference) {
  for (int64_t n : {1, 5, 8, 13, 384}) {
    std::vector<float> values = RandomLogits(n, n);
    const std::vector<double> expected = ReferenceLogSoftmax(values);
    SoftmaxInPlace(values.data(), n);
    double total = 0;
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_NEAR(values[i], std::exp(expected[i]), 1e-6) << n << " " << i;
      total += values[i];
    }
    EXPECT_NEAR(total, 1.0, 1e-5);
  }
}

TEST(SoftmaxTest, HugeLogitsDoNotOverflow) {
  std::vector<float> values = {1e30f, 1e30f, -1e30f};
  SoftmaxInPlace(values.data(), 3);
  EXPECT_EQ(values, (std::vector<float>{0.5f, 0.5f, 0.0f}));
}

TEST(LogSoftmaxTest, MatchesDoublePrecisionReference) {
  for (int64_t n : {1, 7, 384, 6400}) {
    const std::vector<float> logits = RandomLogits(n, 100 + n);
    const std::vector<double> expected = ReferenceLogSoftmax(logits);
    std::vector<float> out(n);
    LogSoftmax(logits.data(), n, out.data());
    for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(out[i], expected[i], 5e-6) << n << " " << i;
  }
}

TEST(LogSoftmaxTest, InPlaceEqualsOutOfPlace) {
  std::vector<float> logits = RandomLogits(100, 9);
  std::vector<float> out(100);
  LogSoftmax(logits.data(), 100, out.data());
  LogSoftmax(logits.data(), 100, logits.data());
  EXPECT_EQ(logits, out);
}

}  // namespace
}  // namespace minimind
