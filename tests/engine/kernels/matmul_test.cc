#include "engine/kernels/matmul.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "engine/kernels/float_convert.h"
#include "engine/kernels/reduction.h"
#include "gtest/gtest.h"
#include "tests/support/random_vectors.h"

namespace minimind {
namespace {

using ::minimind::testing::RandomVector;

// A weight matrix in one stored dtype, plus its exact f32 widening.
struct StoredWeights {
  std::vector<uint16_t> narrow;  // F16/BF16 bits.
  std::vector<float> widened;    // [rows, cols]
  WeightMatrix matrix;
};

StoredWeights MakeWeights(DType dtype, int64_t rows, int64_t cols, uint32_t seed) {
  StoredWeights weights;
  weights.widened = RandomVector(rows * cols, seed);
  if (dtype != DType::kF32) {
    weights.narrow.resize(weights.widened.size());
    for (size_t i = 0; i < weights.widened.size(); ++i) {
      weights.narrow[i] =
          dtype == DType::kF16 ? F32ToF16(weights.widened[i]) : F32ToBF16(weights.widened[i]);
      weights.widened[i] =
          dtype == DType::kF16 ? F16ToF32(weights.narrow[i]) : BF16ToF32(weights.narrow[i]);
    }
  }
  const void* data = dtype == DType::kF32 ? static_cast<const void*>(weights.widened.data())
                                          : static_cast<const void*>(weights.narrow.data());
  weights.matrix = WeightMatrix{.dtype = dtype, .data = data, .rows = rows, .cols = cols};
  return weights;
}

bool BitwiseEqual(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

class MatMulTest : public ::testing::TestWithParam<DType> {};

// Odd sizes exercise every tail: rows not a multiple of the row tile, outputs not a multiple of
// the output tile, inputs not a multiple of 8.
constexpr int64_t kRows = 7;
constexpr int64_t kOut = 37;
constexpr int64_t kIn = 83;

// Row counts 1 and 3 take the path that widens 16-bit weights in registers, 7 the one that
// widens them once per call into a buffer.
TEST_P(MatMulTest, MatchesDoublePrecisionReference) {
  const StoredWeights weights = MakeWeights(GetParam(), kOut, kIn, 1);
  const std::vector<float> bias = RandomVector(kOut, 3);
  for (const int64_t rows : {1, 3, 7}) {
    const std::vector<float> x = RandomVector(rows * kIn, 2);
    std::vector<float> out(rows * kOut);
    MatMul(x.data(), rows, weights.matrix, bias.data(), out.data());
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t o = 0; o < kOut; ++o) {
        double expected = bias[o];
        for (int64_t i = 0; i < kIn; ++i) {
          expected += static_cast<double>(x[r * kIn + i]) * weights.widened[o * kIn + i];
        }
        ASSERT_NEAR(out[r * kOut + o], expected, 2e-5 * (1 + std::fabs(expected)))
            << rows << " rows: " << r << "," << o;
      }
    }
  }
}

TEST_P(MatMulTest, EveryElementIsTheDocumentedDotBitwise) {
  const StoredWeights weights = MakeWeights(GetParam(), kOut, kIn, 4);
  for (const int64_t rows : {1, 3, 7}) {
    const std::vector<float> x = RandomVector(rows * kIn, 5);
    std::vector<float> out(rows * kOut);
    MatMul(x.data(), rows, weights.matrix, nullptr, out.data());
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t o = 0; o < kOut; ++o) {
        ASSERT_EQ(out[r * kOut + o], Dot(&x[r * kIn], &weights.widened[o * kIn], kIn))
            << rows << " rows: " << r << "," << o;
      }
    }
  }
}

TEST_P(MatMulTest, RowResultDoesNotDependOnBatchSizeOrPosition) {
  const StoredWeights weights = MakeWeights(GetParam(), kOut, kIn, 6);
  const std::vector<float> x = RandomVector(kRows * kIn, 7);
  const std::vector<float> bias = RandomVector(kOut, 8);
  std::vector<float> batched(kRows * kOut);
  MatMul(x.data(), kRows, weights.matrix, bias.data(), batched.data());
  for (int64_t r = 0; r < kRows; ++r) {
    // Alone.
    std::vector<float> alone(kOut);
    MatMul(&x[r * kIn], 1, weights.matrix, bias.data(), alone.data());
    EXPECT_TRUE(
        BitwiseEqual(alone, std::vector<float>(&batched[r * kOut], &batched[(r + 1) * kOut])))
        << "row " << r;
    // At the other end of a batch of two (pairs go through the 2-row tile).
    std::vector<float> pair_x(2 * kIn);
    std::memcpy(&pair_x[kIn], &x[r * kIn], kIn * sizeof(float));
    std::memcpy(&pair_x[0], &x[((r + 3) % kRows) * kIn], kIn * sizeof(float));
    std::vector<float> pair(2 * kOut);
    MatMul(pair_x.data(), 2, weights.matrix, bias.data(), pair.data());
    EXPECT_TRUE(BitwiseEqual(std::vector<float>(&pair[kOut], &pair[2 * kOut]), alone)) << r;
  }
}

TEST_P(MatMulTest, OutputSlicesEqualTheFullProduct) {
  const StoredWeights weights = MakeWeights(GetParam(), kOut, kIn, 9);
  const std::vector<float> x = RandomVector(kRows * kIn, 10);
  std::vector<float> full(kRows * kOut);
  MatMul(x.data(), kRows, weights.matrix, nullptr, full.data());
  std::vector<float> sliced(kRows * kOut, -1.0f);
  // Slices deliberately not aligned to the output tile.
  for (const auto& [begin, end] : {std::pair<int64_t, int64_t>{0, 5}, {5, 6}, {6, 30}, {30, 37}}) {
    MatMulOutputs(x.data(), kRows, weights.matrix, nullptr, begin, end, sliced.data());
  }
  EXPECT_TRUE(BitwiseEqual(full, sliced));
}

TEST_P(MatMulTest, SliceLeavesOtherColumnsUntouched) {
  const StoredWeights weights = MakeWeights(GetParam(), kOut, kIn, 11);
  const std::vector<float> x = RandomVector(kIn, 12);
  std::vector<float> out(kOut, -7.0f);
  MatMulOutputs(x.data(), 1, weights.matrix, nullptr, 10, 20, out.data());
  for (int64_t o = 0; o < kOut; ++o) {
    if (o < 10 || o >= 20) {
      EXPECT_EQ(out[o], -7.0f) << o;
    } else {
      EXPECT_NE(out[o], -7.0f) << o;
    }
  }
}

TEST_P(MatMulTest, NarrowWeightsEqualTheirF32WideningBitwise) {
  const StoredWeights weights = MakeWeights(GetParam(), kOut, kIn, 13);
  const WeightMatrix as_f32{
      .dtype = DType::kF32, .data = weights.widened.data(), .rows = kOut, .cols = kIn};
  const std::vector<float> x = RandomVector(kRows * kIn, 14);
  std::vector<float> narrow_out(kRows * kOut), f32_out(kRows * kOut);
  MatMul(x.data(), kRows, weights.matrix, nullptr, narrow_out.data());
  MatMul(x.data(), kRows, as_f32, nullptr, f32_out.data());
  EXPECT_TRUE(BitwiseEqual(narrow_out, f32_out));
}

TEST_P(MatMulTest, WeightRowToF32WidensOneRow) {
  const StoredWeights weights = MakeWeights(GetParam(), kOut, kIn, 15);
  std::vector<float> row(kIn);
  WeightRowToF32(weights.matrix, 5, row.data());
  EXPECT_TRUE(
      BitwiseEqual(row, std::vector<float>(&weights.widened[5 * kIn], &weights.widened[6 * kIn])));
}

INSTANTIATE_TEST_SUITE_P(AllDTypes, MatMulTest,
                         ::testing::Values(DType::kF32, DType::kF16, DType::kBF16),
                         [](const ::testing::TestParamInfo<DType>& info) {
                           return std::string(info.param == DType::kF32   ? "F32"
                                              : info.param == DType::kF16 ? "F16"
                                                                          : "BF16");
                         });

// Every 16-bit pattern (subnormals, ±0, ±inf, NaN included) is widened exactly on both paths:
// row o holds 8 copies of pattern o, so with x = all ones the output is exactly 8 · w_o.
TEST(MatMulWideningTest, EverySixteenBitPatternWidensExactly) {
  constexpr int64_t kPatterns = 1 << 16;
  std::vector<uint16_t> weights(kPatterns * 8);
  for (int64_t o = 0; o < kPatterns; ++o) {
    std::fill(&weights[o * 8], &weights[(o + 1) * 8], static_cast<uint16_t>(o));
  }
  for (const DType dtype : {DType::kF16, DType::kBF16}) {
    const WeightMatrix matrix{.dtype = dtype, .data = weights.data(), .rows = kPatterns, .cols = 8};
    for (const int64_t rows : {1, 4}) {
      const std::vector<float> x(rows * 8, 1.0f);
      std::vector<float> out(rows * kPatterns);
      MatMul(x.data(), rows, matrix, nullptr, out.data());
      for (int64_t o = 0; o < kPatterns; ++o) {
        const uint16_t bits = static_cast<uint16_t>(o);
        const float expected = 8.0f * (dtype == DType::kF16 ? F16ToF32(bits) : BF16ToF32(bits));
        const float actual = out[(rows - 1) * kPatterns + o];
        if (std::isnan(expected)) {
          ASSERT_TRUE(std::isnan(actual)) << o;
        } else {
          ASSERT_EQ(actual, expected) << "dtype " << static_cast<int>(dtype) << " pattern " << o;
        }
      }
    }
  }
}

}  // namespace
}  // namespace minimind
