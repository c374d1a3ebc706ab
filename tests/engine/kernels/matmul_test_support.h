// Checks shared by the matmul tests of each weight format.
#ifndef MINIMIND_TESTS_ENGINE_KERNELS_MATMUL_TEST_SUPPORT_H_
#define MINIMIND_TESTS_ENGINE_KERNELS_MATMUL_TEST_SUPPORT_H_

#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "engine/kernels/matmul.h"
#include "gtest/gtest.h"

namespace minimind::testing {

// The determinism contract of matmul.h for `weight` (37 outputs) and x [num_rows, weight.cols]:
// each row alone gives bitwise what the batch gives it, and output slices give the whole.
inline void ExpectRowsAloneEqualBatchAndSlicesEqualWhole(const WeightMatrix& weight,
                                                         const std::vector<float>& x,
                                                         int64_t num_rows) {
  const int64_t n = weight.cols;
  const int64_t out = weight.rows;
  ASSERT_EQ(out, 37);
  std::vector<float> batched(num_rows * out);
  MatMul(x.data(), num_rows, weight, nullptr, batched.data());
  for (int64_t r = 0; r < num_rows; ++r) {
    std::vector<float> alone(out);
    MatMul(&x[r * n], 1, weight, nullptr, alone.data());
    EXPECT_EQ(std::memcmp(alone.data(), &batched[r * out], out * sizeof(float)), 0) << r;
  }
  std::vector<float> sliced(num_rows * out);
  for (const auto& [begin, end] :
       {std::pair{0, 5}, std::pair{5, 6}, std::pair{6, 30}, std::pair{30, 37}}) {
    MatMulOutputs(x.data(), num_rows, weight, nullptr, begin, end, sliced.data());
  }
  EXPECT_EQ(std::memcmp(sliced.data(), batched.data(), batched.size() * sizeof(float)), 0);
}

}  // namespace minimind::testing

#endif  // MINIMIND_TESTS_ENGINE_KERNELS_MATMUL_TEST_SUPPORT_H_
