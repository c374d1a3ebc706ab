#include "engine/kernels/reduction.h"

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "tests/support/random_vectors.h"

namespace minimind {
namespace {

using ::minimind::testing::RandomVector;

// The documented order spelled out term by term.
float DocumentedOrderSum(const std::vector<float>& terms) {
  float lanes[8] = {};
  for (size_t i = 0; i < terms.size(); ++i) lanes[i % 8] = lanes[i % 8] + terms[i];
  return ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6])) +
         ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7]));
}

// The same order for a dot product, each product fused into its lane (one rounding).
float DocumentedOrderDot(const std::vector<float>& a, const std::vector<float>& b) {
  float lanes[8] = {};
  for (size_t i = 0; i < a.size(); ++i) lanes[i % 8] = std::fma(a[i], b[i], lanes[i % 8]);
  return ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6])) +
         ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7]));
}

TEST(ReductionTest, DotAndSumFollowTheDocumentedOrderBitwise) {
  for (int64_t n : {1, 7, 8, 9, 16, 63, 64, 100, 1000}) {
    const std::vector<float> a = RandomVector(n, 1 + n);
    const std::vector<float> b = RandomVector(n, 2 + n);
    EXPECT_EQ(Dot(a.data(), b.data(), n), DocumentedOrderDot(a, b)) << n;
    EXPECT_EQ(Sum(a.data(), n), DocumentedOrderSum(a)) << n;
  }
}

TEST(ReductionTest, OrderIsObservable) {
  // Sequential summation gives 1 here (1e8 + 1 rounds back to 1e8); the lanes keep the 1s apart
  // from the large terms, so the documented order gives 2.
  const std::vector<float> values = {1e8f, 1.0f, 0.0f, 0.0f, -1e8f, 1.0f, 0.0f, 0.0f};
  EXPECT_EQ(Sum(values.data(), 8), 2.0f);
}

TEST(ReductionTest, DotIsAccurate) {
  const int64_t n = 4096;
  const std::vector<float> a = RandomVector(n, 11);
  const std::vector<float> b = RandomVector(n, 12);
  double expected = 0;
  for (int64_t i = 0; i < n; ++i) expected += static_cast<double>(a[i]) * b[i];
  EXPECT_NEAR(Dot(a.data(), b.data(), n), expected, 1e-4);
}

TEST(ReductionTest, EmptyReductionIsZero) {
  EXPECT_EQ(Dot(nullptr, nullptr, 0), 0.0f);
  EXPECT_EQ(Sum(nullptr, 0), 0.0f);
}

}  // namespace
}  // namespace minimind
