#include "engine/kernels/matmul_q8a8.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "engine/base/dtype.h"
#include "engine/kernels/float_convert.h"
#include "engine/kernels/matmul.h"
#include "engine/kernels/simd_target.h"
#include "gtest/gtest.h"
#include "tests/engine/kernels/matmul_test_support.h"
#include "tests/support/random_vectors.h"

namespace minimind {
namespace {

using ::minimind::testing::RandomVector;

struct Q8A8Weights {
  std::vector<float> values;         // [rows, cols] before quantization
  std::vector<unsigned char> bytes;  // in Q8A8
  WeightMatrix matrix;
};

Q8A8Weights MakeWeights(int64_t rows, int64_t cols, uint32_t seed) {
  Q8A8Weights weights;
  weights.values = RandomVector(rows * cols, seed);
  weights.bytes.assign(rows * RowBytes(DType::kQ8A8, cols), 0xAB);
  for (int64_t r = 0; r < rows; ++r) {
    QuantizeRowQ8A8(&weights.values[r * cols], r, rows, cols, weights.bytes.data());
  }
  weights.matrix =
      WeightMatrix{.dtype = DType::kQ8A8, .data = weights.bytes.data(), .rows = rows, .cols = cols};
  return weights;
}

// Row o's block b of a [rows, n] Q8A8 matrix as dtype.h lays it out: groups of 16 rows (the last
// one `width` = the rows left), each block of a group its rows' f16 scales then 8 lines of 4 codes
// per row, codes stored as q + 128.
int64_t GroupWidth(const Q8A8Weights& w, int64_t o) {
  return std::min<int64_t>(16, w.matrix.rows - o / 16 * 16);
}
int64_t BlockOffset(const Q8A8Weights& w, int64_t o, int64_t b) {
  const int64_t blocks = (w.matrix.cols + 31) / 32;
  return o / 16 * 16 * blocks * 34 + b * GroupWidth(w, o) * 34;
}
float StoredScale(const Q8A8Weights& w, int64_t o, int64_t b) {
  uint16_t bits;
  std::memcpy(&bits, &w.bytes[BlockOffset(w, o, b) + 2 * (o % 16)], sizeof(bits));
  return F16ToF32(bits);
}
int StoredCode(const Q8A8Weights& w, int64_t o, int64_t b, int64_t i) {
  const int64_t width = GroupWidth(w, o);
  return static_cast<int>(
             w.bytes[BlockOffset(w, o, b) + 2 * width + i / 4 * 4 * width + 4 * (o % 16) + i % 4]) -
         128;
}

bool BitwiseEqual(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// The header's definition, written out: each activation block quantized with its inverse step,
// the block's integer products summed, one fma per block in order, bias last.
std::vector<float> Reference(const std::vector<float>& x, int64_t num_rows, const Q8A8Weights& w,
                             const std::vector<float>& bias) {
  const int64_t out = w.matrix.rows;
  const int64_t n = w.matrix.cols;
  const int64_t blocks = (n + 31) / 32;
  std::vector<float> result(num_rows * out);
  for (int64_t r = 0; r < num_rows; ++r) {
    std::vector<int8_t> qx(blocks * 32, 0);
    std::vector<float> sx(blocks);
    for (int64_t b = 0; b < blocks; ++b) {
      float amax = 0;
      for (int64_t i = b * 32; i < std::min(n, b * 32 + 32); ++i) {
        amax = std::max(amax, std::fabs(x[r * n + i]));
      }
      sx[b] = amax / 127.0f;
      const float inverse = sx[b] != 0 ? 1.0f / sx[b] : 0.0f;
      for (int64_t i = b * 32; i < std::min(n, b * 32 + 32); ++i) {
        qx[i] = static_cast<int8_t>(
            std::clamp(std::nearbyint(x[r * n + i] * inverse), -127.0f, 127.0f));
      }
    }
    for (int64_t o = 0; o < out; ++o) {
      float acc = 0;
      for (int64_t b = 0; b < blocks; ++b) {
        int32_t sum = 0;
        for (int64_t i = 0; i < 32; ++i) sum += qx[b * 32 + i] * StoredCode(w, o, b, i);
        acc = std::fma(static_cast<float>(sum), sx[b] * StoredScale(w, o, b), acc);
      }
      result[r * out + o] = acc + bias[o];
    }
  }
  return result;
}

class MatMulQ8A8Test : public ::testing::Test {
 protected:
  void TearDown() override { EXPECT_TRUE(ForceSimdTarget("best").ok()); }
};

// Inputs of 83 (a partial block), 96, 512, 17, 1408 and 160; 37 outputs (two groups of 16 and one
// of 5), 80 (five groups: the 4-group and 2-group tiles and their remainders) and 7 (one narrow
// group); row counts on every tile shape (1 row, 2- and 4-row tiles and their remainders); on
// every SIMD target this CPU has (the VNNI, AVX2 and portable products), each equal to the
// definition bit for bit.
TEST_F(MatMulQ8A8Test, EqualsTheDefinitionBitwiseOnEveryTarget) {
  const std::vector<std::string> targets = {"scalar", "sse4", "avx2", "avx3"};
  std::set<std::string> paths;
  for (const std::string& target : targets) {
    ASSERT_TRUE(ForceSimdTarget("best").ok());    // a forced target hides the others
    if (!ForceSimdTarget(target).ok()) continue;  // not on this CPU
    paths.insert(std::string(Q8A8PathName()));
    for (const int64_t n : {83, 96, 512, 17, 1408, 160}) {
      for (const int64_t outputs : {37, 80, 7}) {
        for (const int64_t num_rows : {1, 2, 3, 4, 5, 9}) {
          SCOPED_TRACE(::testing::Message() << target << " (" << Q8A8PathName() << ") n=" << n
                                            << " outputs=" << outputs << " rows=" << num_rows);
          const Q8A8Weights w = MakeWeights(outputs, n, 5);
          std::vector<float> x = RandomVector(num_rows * n, 6);
          x[0] = 0.0f;  // a zero and an all-zero block for some rows
          if (num_rows > 1) {
            std::fill(x.begin() + n, x.begin() + n + std::min<int64_t>(n, 32), 0.0f);
          }
          const std::vector<float> bias = RandomVector(outputs, 7);
          std::vector<float> out(num_rows * outputs);
          MatMul(x.data(), num_rows, w.matrix, bias.data(), out.data());
          EXPECT_TRUE(BitwiseEqual(out, Reference(x, num_rows, w, bias)));
        }
      }
    }
  }
  EXPECT_TRUE(paths.count("portable"));
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx2")) {
    EXPECT_TRUE(paths.count("avx2"));
  }
  if (__builtin_cpu_supports("avx512vnni")) {
    EXPECT_TRUE(paths.count("vnni"));
  }
#endif
}

TEST_F(MatMulQ8A8Test, RowsAloneEqualBatchAndSlicesEqualWhole) {
  const int64_t n = 200;
  const int64_t num_rows = 11;
  testing::ExpectRowsAloneEqualBatchAndSlicesEqualWhole(MakeWeights(37, n, 8).matrix,
                                                        RandomVector(num_rows * n, 9), num_rows);
}

// What the 8-bit activations cost: against the f64 product of the unquantized values, the error
// stays within the two roundings' bound (each factor off by at most half a step of its block's
// scale amax / 127), plus f32 accumulation.
TEST_F(MatMulQ8A8Test, CloseToTheExactProduct) {
  const int64_t n = 512;
  const int64_t out = 64;
  const Q8A8Weights w = MakeWeights(out, n, 11);
  const std::vector<float> x = RandomVector(n, 12);
  std::vector<float> got(out);
  MatMul(x.data(), 1, w.matrix, nullptr, got.data());
  const auto step = [n](const float* row, int64_t i) {
    float amax = 0;
    for (int64_t k = i / 32 * 32; k < std::min<int64_t>(n, i / 32 * 32 + 32); ++k) {
      amax = std::max(amax, std::fabs(row[k]));
    }
    return amax / 127.0;
  };
  double worst = 0;
  for (int64_t o = 0; o < out; ++o) {
    const float* wr = &w.values[o * n];
    double exact = 0, bound = 0;
    for (int64_t i = 0; i < n; ++i) {
      exact += static_cast<double>(x[i]) * wr[i];
      bound += std::fabs(x[i]) * step(wr, i) / 2 + std::fabs(wr[i]) * step(x.data(), i) / 2 +
               step(wr, i) * step(x.data(), i) / 4;
    }
    EXPECT_NEAR(got[o], exact, bound + 1e-3) << o;
    worst = std::max(worst, std::fabs(got[o] - exact) / (bound + 1e-3));
  }
  EXPECT_LT(worst, 0.5);  // typical errors are well inside the worst case
}

// The blocks dtype.h documents: scale f16(amax / 127), codes round_half_even(w / scale) clamped to
// ±127 and stored + 128, rows in groups of 16 (37 rows: two groups and one of 5), a partial last
// block padded with q = 0; every byte written. Read back, the values are code * scale.
TEST_F(MatMulQ8A8Test, RowsAreF16ScaledBlocksInGroupsOf16) {
  for (const int64_t n : {83, 96, 64}) {
    SCOPED_TRACE(n);
    const Q8A8Weights w = MakeWeights(37, n, 13);
    const int64_t blocks = (n + 31) / 32;
    ASSERT_EQ(RowBytes(DType::kQ8A8, n), blocks * 34);
    std::vector<bool> written(w.bytes.size(), false);
    for (int64_t o = 0; o < 37; ++o) {
      const float* values = &w.values[o * n];
      std::vector<float> expected(n);
      for (int64_t b = 0; b < blocks; ++b) {
        float amax = 0;
        for (int64_t i = b * 32; i < std::min(n, b * 32 + 32); ++i) {
          amax = std::max(amax, std::fabs(values[i]));
        }
        const float scale = F16ToF32(F32ToF16(amax / 127.0f));
        EXPECT_EQ(StoredScale(w, o, b), scale) << o << " " << b;
        written[BlockOffset(w, o, b) + 2 * (o % 16)] = true;
        written[BlockOffset(w, o, b) + 2 * (o % 16) + 1] = true;
        for (int64_t i = 0; i < 32; ++i) {
          const int64_t c = b * 32 + i;
          const int code =
              c < n && scale != 0
                  ? static_cast<int>(std::clamp(std::nearbyint(values[c] / scale), -127.0f, 127.0f))
                  : 0;
          EXPECT_EQ(StoredCode(w, o, b, i), code) << o << " " << b << " " << i;
          const int64_t width = GroupWidth(w, o);
          written[BlockOffset(w, o, b) + 2 * width + i / 4 * 4 * width + 4 * (o % 16) + i % 4] =
              true;
          if (c < n) expected[c] = static_cast<float>(code) * scale;
        }
      }
      std::vector<float> read(n);
      WeightRowToF32(w.matrix, o, read.data());
      EXPECT_EQ(std::memcmp(read.data(), expected.data(), n * sizeof(float)), 0) << o;
    }
    EXPECT_EQ(std::count(written.begin(), written.end(), false), 0);
  }
}

}  // namespace
}  // namespace minimind
