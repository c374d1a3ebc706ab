#include "engine/kernels/matmul_q8.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "engine/base/dtype.h"
#include "engine/kernels/matmul.h"
#include "engine/kernels/reduction.h"
#include "gtest/gtest.h"
#include "tests/engine/kernels/matmul_test_support.h"
#include "tests/support/random_vectors.h"

namespace minimind {
namespace {

using ::minimind::testing::RandomVector;

float BlockScale(const std::vector<unsigned char>& bytes, int64_t block) {
  float scale;
  std::memcpy(&scale, bytes.data() + block * kQ8BlockBytes, sizeof(scale));
  return scale;
}

int8_t BlockValue(const std::vector<unsigned char>& bytes, int64_t block, int64_t i) {
  return static_cast<int8_t>(bytes[block * kQ8BlockBytes + sizeof(float) + i]);
}

std::vector<unsigned char> Quantize(const std::vector<float>& row) {
  std::vector<unsigned char> bytes(RowBytes(DType::kQ8, static_cast<int64_t>(row.size())), 0xAB);
  QuantizeRowQ8(row.data(), static_cast<int64_t>(row.size()), bytes.data());
  return bytes;
}

TEST(QuantizeRowQ8Test, RowBytesAreBlocksOf36) {
  EXPECT_EQ(RowBytes(DType::kQ8, 32), 36);
  EXPECT_EQ(RowBytes(DType::kQ8, 33), 72);
  EXPECT_EQ(RowBytes(DType::kQ8, 512), 16 * 36);
  EXPECT_EQ(RowBytes(DType::kQ8, 1), 36);
}

// Values chosen so every step is exact: amax 127 gives scale 1, and w / 1 = w, so the rounding of
// halves is visible (2.5 -> 2, 3.5 -> 4, -0.5 -> -0 -> 0, -1.5 -> -2).
TEST(QuantizeRowQ8Test, ScaleIsAmaxOver127AndRoundingIsHalfToEven) {
  std::vector<float> row(40, 0.0f);
  row[0] = -127.0f;
  row[1] = 2.5f;
  row[2] = 3.5f;
  row[3] = -0.5f;
  row[4] = -1.5f;
  row[5] = 0.49f;
  row[6] = 126.6f;
  row[32] = 0.25f;  // Second (partial) block: amax 0.25.
  row[33] = -0.125f;
  row[39] = 0.1f;
  const std::vector<unsigned char> bytes = Quantize(row);
  EXPECT_EQ(BlockScale(bytes, 0), 1.0f);
  EXPECT_EQ(BlockValue(bytes, 0, 0), -127);
  EXPECT_EQ(BlockValue(bytes, 0, 1), 2);
  EXPECT_EQ(BlockValue(bytes, 0, 2), 4);
  EXPECT_EQ(BlockValue(bytes, 0, 3), 0);
  EXPECT_EQ(BlockValue(bytes, 0, 4), -2);
  EXPECT_EQ(BlockValue(bytes, 0, 5), 0);
  EXPECT_EQ(BlockValue(bytes, 0, 6), 127);
  const float scale = 0.25f / 127.0f;
  EXPECT_EQ(BlockScale(bytes, 1), scale);
  EXPECT_EQ(BlockValue(bytes, 1, 0), 127);
  EXPECT_EQ(BlockValue(bytes, 1, 1), static_cast<int8_t>(std::nearbyint(-0.125f / scale)));
  EXPECT_EQ(BlockValue(bytes, 1, 7), static_cast<int8_t>(std::nearbyint(0.1f / scale)));
  for (int64_t i = 8; i < kQ8BlockSize; ++i) EXPECT_EQ(BlockValue(bytes, 1, i), 0) << i;
}

TEST(QuantizeRowQ8Test, AllZeroBlockHasZeroScaleAndValues) {
  const std::vector<unsigned char> bytes = Quantize(std::vector<float>(32, 0.0f));
  EXPECT_EQ(BlockScale(bytes, 0), 0.0f);
  for (int64_t i = 0; i < kQ8BlockSize; ++i) EXPECT_EQ(BlockValue(bytes, 0, i), 0);
  std::vector<float> back(32, 1.0f);
  DequantizeRowQ8(bytes.data(), 32, back.data());
  for (const float value : back) EXPECT_EQ(value, 0.0f);
}

// Every value matches the spec computed independently, and dequantizing is float(q) * scale with
// an error of at most half a step.
TEST(QuantizeRowQ8Test, RandomRowsFollowTheSpec) {
  const int64_t cols = 203;
  const std::vector<float> row = RandomVector(cols, 3);
  const std::vector<unsigned char> bytes = Quantize(row);
  std::vector<float> back(cols);
  DequantizeRowQ8(bytes.data(), cols, back.data());
  for (int64_t block = 0; block * kQ8BlockSize < cols; ++block) {
    float amax = 0.0f;
    for (int64_t i = block * kQ8BlockSize; i < cols && i < (block + 1) * kQ8BlockSize; ++i) {
      amax = std::fmax(amax, std::fabs(row[i]));
    }
    const float scale = amax / 127.0f;
    ASSERT_EQ(BlockScale(bytes, block), scale);
    for (int64_t i = 0; i < kQ8BlockSize; ++i) {
      const int64_t c = block * kQ8BlockSize + i;
      const float expected = c < cols ? std::nearbyint(row[c] / scale) : 0.0f;
      ASSERT_EQ(BlockValue(bytes, block, i), static_cast<int8_t>(expected)) << c;
      if (c < cols) {
        EXPECT_EQ(back[c], static_cast<float>(BlockValue(bytes, block, i)) * scale);
        EXPECT_LE(std::fabs(back[c] - row[c]), 0.5f * scale * (1.0f + 1e-6f)) << c;
      }
    }
  }
}

struct Q8Weights {
  std::vector<unsigned char> bytes;
  std::vector<float> dequantized;  // [rows, cols]
  WeightMatrix matrix;
};

Q8Weights MakeQ8Weights(int64_t rows, int64_t cols, uint32_t seed) {
  Q8Weights weights;
  const std::vector<float> values = RandomVector(rows * cols, seed);
  const int64_t row_bytes = RowBytes(DType::kQ8, cols);
  weights.bytes.resize(rows * row_bytes);
  weights.dequantized.resize(rows * cols);
  for (int64_t r = 0; r < rows; ++r) {
    QuantizeRowQ8(&values[r * cols], cols, &weights.bytes[r * row_bytes]);
    DequantizeRowQ8(&weights.bytes[r * row_bytes], cols, &weights.dequantized[r * cols]);
  }
  weights.matrix =
      WeightMatrix{.dtype = DType::kQ8, .data = weights.bytes.data(), .rows = rows, .cols = cols};
  return weights;
}

bool BitwiseEqual(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Scalar reference: reduction.h's Dot over the dequantized rows, bias last.
std::vector<float> Reference(const std::vector<float>& x, int64_t num_rows, const Q8Weights& w,
                             const std::vector<float>& bias) {
  const int64_t out = w.matrix.rows;
  const int64_t n = w.matrix.cols;
  std::vector<float> result(num_rows * out);
  for (int64_t r = 0; r < num_rows; ++r) {
    for (int64_t o = 0; o < out; ++o) {
      result[r * out + o] = Dot(&x[r * n], &w.dequantized[o * n], n) + bias[o];
    }
  }
  return result;
}

// Inputs of 83 (partial 8-lane group in a partial block), 96 (whole groups, partial block), 128
// (whole blocks) and 17; outputs not a multiple of the tile; row counts on both paths (< 4 in
// registers, >= 4 dequantized once).
TEST(MatMulQ8Test, EqualsScalarDotOfDequantizedWeightsBitwise) {
  for (const int64_t n : {83, 96, 128, 17}) {
    for (const int64_t num_rows : {1, 2, 3, 4, 7}) {
      SCOPED_TRACE(::testing::Message() << "n=" << n << " rows=" << num_rows);
      const Q8Weights w = MakeQ8Weights(37, n, 5);
      const std::vector<float> x = RandomVector(num_rows * n, 6);
      const std::vector<float> bias = RandomVector(37, 7);
      std::vector<float> out(num_rows * 37);
      MatMul(x.data(), num_rows, w.matrix, bias.data(), out.data());
      EXPECT_TRUE(BitwiseEqual(out, Reference(x, num_rows, w, bias)));
    }
  }
}

TEST(MatMulQ8Test, RowsAloneEqualBatchAndSlicesEqualWhole) {
  const int64_t n = 83;
  const int64_t num_rows = 9;
  testing::ExpectRowsAloneEqualBatchAndSlicesEqualWhole(MakeQ8Weights(37, n, 8).matrix,
                                                        RandomVector(num_rows * n, 9), num_rows);
}

TEST(MatMulQ8Test, WeightRowToF32Dequantizes) {
  const Q8Weights w = MakeQ8Weights(5, 83, 10);
  std::vector<float> row(83);
  WeightRowToF32(w.matrix, 3, row.data());
  EXPECT_EQ(std::memcmp(row.data(), &w.dequantized[3 * 83], 83 * sizeof(float)), 0);
}

}  // namespace
}  // namespace minimind
