#include "engine/kernels/matmul_q8.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "engine/base/dtype.h"
#include "engine/kernels/reduction.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "engine/kernels/matmul_q8.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
// Per-target headers after highway.h.
#include "engine/kernels/lanes-inl.h"
#include "engine/kernels/simd_target.h"

HWY_BEFORE_NAMESPACE();
namespace minimind {
namespace HWY_NAMESPACE {

constexpr int kGroupsPerBlock = kQ8BlockSize / kDotLanes;  // 8-lane groups in a block: 4.

// Register tile: one activation row × kDecodeOuts weight rows, each output with its own
// accumulator, so the fused multiply-adds of different outputs overlap (8 outputs measured 18.6
// GMAC/s against 16.3 for 4, one thread, 1408 × 512 in cache; more rows per tile would spill).
// Weights are dequantized in registers as they are read, so only the 8-bit bytes come from
// memory. (Many rows go through matmul.cc's panel GEMM instead, on dequantized panels: the same
// float(q) * scale, then the same Dot.)
constexpr int kDecodeOuts = 8;

const unsigned char* Q8Row(const WeightMatrix& weight, int64_t row) {
  return static_cast<const unsigned char*>(weight.data) + row * RowBytes(DType::kQ8, weight.cols);
}

float LoadScale(const unsigned char* block) {
  float scale;
  std::memcpy(&scale, block, sizeof(scale));
  return scale;
}

// out[a * out_stride + b] = Dot(x[a, :], dequantized w_b) for a < kRows, b < kOuts, where w_b is
// the Q8 row at w + b * row_bytes. The blocks' zero padding stands in for the weights past n;
// x is zero-padded likewise for the last partial 8-lane group (+0 products never change a lane,
// which starts at +0 and so is never -0: the result is as if the lanes stopped at n).
template <int kRows, int kOuts>
HWY_NOINLINE void DotTileQ8(const float* x, const unsigned char* w, int64_t row_bytes, int64_t n,
                            float* out, int64_t out_stride) {
  Lanes sums[kRows][kOuts];
  for (int a = 0; a < kRows; ++a) {
    for (int b = 0; b < kOuts; ++b) sums[a][b] = ZeroLanes();
  }
  const int64_t full_groups = n / kDotLanes;
  const int64_t full_blocks = full_groups / kGroupsPerBlock;
  for (int64_t block = 0; block < full_blocks; ++block) {
    const unsigned char* block_base = w + block * kQ8BlockBytes;
    Lanes scales[kOuts];
#pragma GCC unroll 8
    for (int b = 0; b < kOuts; ++b) {
      scales[b] = SetLanes(LoadScale(block_base + b * row_bytes));
    }
#pragma GCC unroll 4
    for (int g = 0; g < kGroupsPerBlock; ++g) {
      const int64_t i = (block * kGroupsPerBlock + g) * kDotLanes;
      Lanes x_block[kRows];
#pragma GCC unroll 8
      for (int a = 0; a < kRows; ++a) x_block[a] = LoadLanes(x + a * n + i);
#pragma GCC unroll 8
      for (int b = 0; b < kOuts; ++b) {
        const Lanes w_block =
            LoadLanesQ8(block_base + b * row_bytes + sizeof(float) + g * kDotLanes, scales[b]);
#pragma GCC unroll 8
        for (int a = 0; a < kRows; ++a) sums[a][b] = MulAdd(x_block[a], w_block, sums[a][b]);
      }
    }
  }
  // The last, partial block: its full 8-lane groups, then the zero-padded rest.
  const int64_t total_groups = (n + kDotLanes - 1) / kDotLanes;
  for (int64_t group = full_blocks * kGroupsPerBlock; group < total_groups; ++group) {
    const int64_t i = group * kDotLanes;
    const unsigned char* block_base = w + full_blocks * kQ8BlockBytes;
    const int64_t offset = sizeof(float) + (group % kGroupsPerBlock) * kDotLanes;
    Lanes x_block[kRows];
    for (int a = 0; a < kRows; ++a) {
      float padded[kDotLanes] = {};
      std::memcpy(padded, x + a * n + i, std::min<int64_t>(kDotLanes, n - i) * sizeof(float));
      x_block[a] = LoadLanes(padded);
    }
    for (int b = 0; b < kOuts; ++b) {
      const unsigned char* block = block_base + b * row_bytes;
      const Lanes w_block = LoadLanesQ8(block + offset, SetLanes(LoadScale(block)));
      for (int a = 0; a < kRows; ++a) sums[a][b] = MulAdd(x_block[a], w_block, sums[a][b]);
    }
  }
  for (int a = 0; a < kRows; ++a) {
    for (int b = 0; b < kOuts; ++b) out[a * out_stride + b] = CombineLaneVector(sums[a][b]);
  }
}

// Each activation row on its own against kOuts weight rows from o.
template <int kOuts>
void DotRowsQ8(const float* x, int64_t num_rows, const WeightMatrix& weight, int64_t o,
               float* out) {
  const int64_t n = weight.cols;
  const int64_t row_bytes = RowBytes(DType::kQ8, n);
  const unsigned char* w = Q8Row(weight, o);
  for (int64_t r = 0; r < num_rows; ++r) {
    DotTileQ8<1, kOuts>(x + r * n, w, row_bytes, n, out + r * weight.rows + o, weight.rows);
  }
}

void MatMulQ8OutputsImpl(const float* x, int64_t num_rows, const WeightMatrix& weight,
                         int64_t out_begin, int64_t out_end, float* out) {
  int64_t o = out_begin;
  for (; o + kDecodeOuts <= out_end; o += kDecodeOuts) {
    DotRowsQ8<kDecodeOuts>(x, num_rows, weight, o, out);
  }
  for (; o < out_end; ++o) DotRowsQ8<1>(x, num_rows, weight, o, out);
}

}  // namespace HWY_NAMESPACE
}  // namespace minimind
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace minimind {
namespace {

float ScaleAt(const unsigned char* block) {
  float scale;
  std::memcpy(&scale, block, sizeof(scale));
  return scale;
}

}  // namespace

HWY_EXPORT(MatMulQ8OutputsImpl);

void QuantizeRowQ8(const float* row, int64_t cols, void* out) {
  unsigned char* block = static_cast<unsigned char*>(out);
  for (int64_t start = 0; start < cols; start += kQ8BlockSize, block += kQ8BlockBytes) {
    const int64_t count = std::min(kQ8BlockSize, cols - start);
    float amax = 0.0f;
    for (int64_t i = 0; i < count; ++i) amax = std::max(amax, std::fabs(row[start + i]));
    const float scale = amax / 127.0f;
    std::memcpy(block, &scale, sizeof(scale));
    int8_t values[kQ8BlockSize] = {};
    if (scale != 0.0f) {
      for (int64_t i = 0; i < count; ++i) {
        // std::nearbyint rounds half to even in the default rounding mode.
        const float q = std::nearbyint(row[start + i] / scale);
        values[i] = static_cast<int8_t>(std::clamp(q, -127.0f, 127.0f));
      }
    }
    std::memcpy(block + sizeof(float), values, sizeof(values));
  }
}

void DequantizeRowQ8(const void* row, int64_t cols, float* out) {
  const unsigned char* block = static_cast<const unsigned char*>(row);
  for (int64_t start = 0; start < cols; start += kQ8BlockSize, block += kQ8BlockBytes) {
    const float scale = ScaleAt(block);
    const int64_t count = std::min(kQ8BlockSize, cols - start);
    for (int64_t i = 0; i < count; ++i) {
      out[start + i] = static_cast<float>(static_cast<int8_t>(block[sizeof(float) + i])) * scale;
    }
  }
}

void MatMulQ8Outputs(const float* x, int64_t num_rows, const WeightMatrix& weight,
                     int64_t out_begin, int64_t out_end, float* out) {
  ChooseSimdTargetOnce();
  HWY_DYNAMIC_DISPATCH(MatMulQ8OutputsImpl)(x, num_rows, weight, out_begin, out_end, out);
}

}  // namespace minimind
#endif  // HWY_ONCE
