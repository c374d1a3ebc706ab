#include "engine/kernels/matmul.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "engine/base/dtype.h"
#include "engine/kernels/float_convert.h"
#include "engine/kernels/matmul_q8.h"
#include "engine/kernels/matmul_q8a8.h"
#include "engine/kernels/reduction.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "engine/kernels/matmul.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
// Per-target headers after highway.h.
#include "engine/kernels/lanes-inl.h"
#include "engine/kernels/simd_target.h"

HWY_BEFORE_NAMESPACE();
namespace minimind {
namespace HWY_NAMESPACE {

// Loading 8 consecutive weights as f32 lanes, per stored element type. The 16-bit formats widen
// exactly as float_convert.h does, in registers.
struct F32Elements {
  using Element = float;
  static Lanes Load(const float* source) { return LoadLanes(source); }
  static float Widen(float value) { return value; }
};

struct BF16Elements {
  using Element = uint16_t;
  static Lanes Load(const uint16_t* source) { return LoadLanesBF16(source); }
  static float Widen(uint16_t bits) { return BF16ToF32(bits); }
};

struct F16Elements {
  using Element = uint16_t;
  static Lanes Load(const uint16_t* source) { return LoadLanesF16(source); }
  static float Widen(uint16_t bits) { return F16ToF32(bits); }
};

// The GEMM micro-kernel's register tile: kGemmRows activation rows × kGemmOuts weight rows, one
// 8-lane accumulator each (12 AVX2 registers, plus 4 + 3 for the loaded rows; the compiler folds
// some loads into the FMAs). Used from kGemmRows activation rows on (prefill).
constexpr int kGemmRows = 4;
constexpr int kGemmOuts = 3;
// Weight rows per panel: the panel ([kPanelOuts, n], f32, e.g. 96 KiB for n = 512) stays in L2
// while every row tile of the activations runs over it, and a row tile ([kGemmRows, n]) stays in
// L1 while it meets each output tile of the panel. 16-bit weights are widened once per panel.
constexpr int64_t kPanelOuts = 16 * kGemmOuts;
// Fewer rows (decoding): kSmallRows × kSmallOuts tiles reading the weights in place.
constexpr int kSmallRows = 2;
constexpr int kSmallOuts = 4;
constexpr int kSmall16Outs = 8;  // for 16-bit weights

// out[a * out_stride + b] = Dot(x[a, :], w[b, :]) for a < kRows, b < kOuts, in reduction.h's
// order. x: [kRows, n] with row stride n; w: [kOuts, n] in Elements' type, row stride n.
// Kept out of line so that the compiler allocates each instantiation's registers on its own.
template <typename Elements, int kRows, int kOuts>
HWY_NOINLINE void DotTile(const float* x, const typename Elements::Element* w, int64_t n,
                          float* out, int64_t out_stride) {
  Lanes sums[kRows][kOuts];
  for (int a = 0; a < kRows; ++a) {
    for (int b = 0; b < kOuts; ++b) sums[a][b] = ZeroLanes();
  }
  int64_t i = 0;
  for (; i + kDotLanes <= n; i += kDotLanes) {
    Lanes x_block[kRows];
    for (int a = 0; a < kRows; ++a) x_block[a] = LoadLanes(x + a * n + i);
    for (int b = 0; b < kOuts; ++b) {
      const Lanes w_block = Elements::Load(w + b * n + i);
      for (int a = 0; a < kRows; ++a) sums[a][b] = MulAdd(x_block[a], w_block, sums[a][b]);
    }
  }
  if (i < n) {
    // The last partial block, zero-padded. Lanes start at +0 and so are never -0, which makes
    // fusing the padding's +0 products an exact no-op: the result is as if the lanes stopped.
    float x_tail[kRows][kDotLanes] = {};
    float w_tail[kOuts][kDotLanes] = {};
    for (int j = 0; i + j < n; ++j) {
      for (int a = 0; a < kRows; ++a) x_tail[a][j] = x[a * n + i + j];
      for (int b = 0; b < kOuts; ++b) w_tail[b][j] = Elements::Widen(w[b * n + i + j]);
    }
    for (int b = 0; b < kOuts; ++b) {
      for (int a = 0; a < kRows; ++a) {
        sums[a][b] = MulAdd(LoadLanes(x_tail[a]), LoadLanes(w_tail[b]), sums[a][b]);
      }
    }
  }
  for (int a = 0; a < kRows; ++a) {
    for (int b = 0; b < kOuts; ++b) out[a * out_stride + b] = CombineLaneVector(sums[a][b]);
  }
}

// Rows [0, num_rows) of x against kOuts weight rows `w` ([kOuts, n]), kRows rows at a time,
// writing columns [0, kOuts) of `out` (row stride out_stride).
template <typename Elements, int kRows, int kOuts>
void DotAllRows(const float* x, int64_t num_rows, const typename Elements::Element* w, int64_t n,
                float* out, int64_t out_stride) {
  int64_t r = 0;
  for (; r + kRows <= num_rows; r += kRows) {
    DotTile<Elements, kRows, kOuts>(x + r * n, w, n, out + r * out_stride, out_stride);
  }
  for (; r < num_rows; ++r) {
    DotTile<Elements, 1, kOuts>(x + r * n, w, n, out + r * out_stride, out_stride);
  }
}

// Outputs [out_begin, out_end) of x · Wᵀ for few rows, reading W ([rows, n], in Elements' type)
// directly, kOuts weight rows at a time.
template <typename Elements, int kOuts>
void SmallOutputs(const float* x, int64_t num_rows, const typename Elements::Element* w, int64_t n,
                  int64_t out_begin, int64_t out_end, float* out, int64_t out_stride) {
  int64_t o = out_begin;
  for (; o + kOuts <= out_end; o += kOuts) {
    DotAllRows<Elements, kSmallRows, kOuts>(x, num_rows, w + o * n, n, out + o, out_stride);
  }
  for (; o < out_end; ++o) {
    DotAllRows<Elements, kSmallRows, 1>(x, num_rows, w + o * n, n, out + o, out_stride);
  }
}

// One panel of `count` f32 weight rows (w: [count, n]) against every activation row, writing
// columns [0, count) of `out`: each row tile meets every output tile of the panel in turn.
void GemmPanel(const float* x, int64_t num_rows, const float* w, int64_t count, int64_t n,
               float* out, int64_t out_stride) {
  int64_t r = 0;
  for (; r + kGemmRows <= num_rows; r += kGemmRows) {
    const float* x_tile = x + r * n;
    float* out_tile = out + r * out_stride;
    int64_t b = 0;
    for (; b + kGemmOuts <= count; b += kGemmOuts) {
      DotTile<F32Elements, kGemmRows, kGemmOuts>(x_tile, w + b * n, n, out_tile + b, out_stride);
    }
    for (; b < count; ++b) {
      DotTile<F32Elements, kGemmRows, 1>(x_tile, w + b * n, n, out_tile + b, out_stride);
    }
  }
  if (r < num_rows) {
    SmallOutputs<F32Elements, kGemmOuts>(x + r * n, num_rows - r, w, n, 0, count,
                                         out + r * out_stride, out_stride);
  }
}

#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
// AVX-512: one 16-lane register holds the 8 reduction lanes of two weight rows side by side, so
// each FMA does the work of two 8-lane ones, and lane j of each half takes exactly the terms, in
// exactly the order, that lane j of the 8-lane kernel takes (reduction.h): the results are
// bitwise those of DotTile, at twice the arithmetic per instruction. The weights are repacked
// pairwise for it (PackPairs); the activations' 8-float blocks are broadcast to both halves.

// The paired tile: kPairRows activation rows × kPairs weight-row pairs (24 of the 32 zmm
// registers accumulate; each loaded pair of weight blocks meets 8 activation rows). Fewer rows
// left over take 4-row, then 1-row tiles.
constexpr int kPairRows = 8;
constexpr int kPairs = 3;

// out[a * out_stride + 2p + h] = Dot(x[a, :], w[2p + h, :]) for a < kRows, p < kP, h < 2 while
// 2p + h < valid_outs. x: [kRows, n] with row stride n; packed: kP pairs of PackPairs' layout.
template <int kRows, int kP>
HWY_NOINLINE void PairTile(const float* x, const float* packed, int64_t n, float* out,
                           int64_t out_stride, int64_t valid_outs) {
  const int64_t blocks = (n + kDotLanes - 1) / kDotLanes;
  const int64_t full_blocks = n / kDotLanes;
  __m512 sums[kRows][kP];
  for (int a = 0; a < kRows; ++a) {
    for (int p = 0; p < kP; ++p) sums[a][p] = _mm512_setzero_ps();
  }
  int64_t k = 0;
  for (; k < full_blocks; ++k) {
    __m512 w[kP];
    for (int p = 0; p < kP; ++p) w[p] = _mm512_loadu_ps(packed + (p * blocks + k) * 16);
    for (int a = 0; a < kRows; ++a) {
      const __m512 x_block = _mm512_broadcast_f32x8(_mm256_loadu_ps(x + a * n + k * kDotLanes));
      for (int p = 0; p < kP; ++p) sums[a][p] = _mm512_fmadd_ps(x_block, w[p], sums[a][p]);
    }
  }
  if (k < blocks) {  // The zero-padded last block, as in DotTile.
    float x_tail[kRows][kDotLanes] = {};
    for (int a = 0; a < kRows; ++a) {
      for (int64_t j = 0; k * kDotLanes + j < n; ++j) x_tail[a][j] = x[a * n + k * kDotLanes + j];
    }
    for (int a = 0; a < kRows; ++a) {
      const __m512 x_block = _mm512_broadcast_f32x8(_mm256_loadu_ps(x_tail[a]));
      for (int p = 0; p < kP; ++p) {
        sums[a][p] =
            _mm512_fmadd_ps(x_block, _mm512_loadu_ps(packed + (p * blocks + k) * 16), sums[a][p]);
      }
    }
  }
  for (int a = 0; a < kRows; ++a) {
    for (int p = 0; p < kP; ++p) {
      float lanes[2][kDotLanes];
      _mm512_storeu_ps(&lanes[0][0], sums[a][p]);
      for (int h = 0; h < 2 && 2 * p + h < valid_outs; ++h) {
        out[a * out_stride + 2 * p + h] = CombineLanes(lanes[h]);
      }
    }
  }
}

// GemmPanel on a PackPairs panel of `count` weight rows.
void PairedGemmPanel(const float* x, int64_t num_rows, const float* packed, int64_t count,
                     int64_t n, float* out, int64_t out_stride) {
  const int64_t blocks = (n + kDotLanes - 1) / kDotLanes;
  const int64_t pairs = (count + 1) / 2;
  auto row_tiles = [&](auto rows_constant, int64_t r) {
    constexpr int kRows = decltype(rows_constant)::value;
    const float* x_tile = x + r * n;
    float* out_tile = out + r * out_stride;
    int64_t p = 0;
    for (; p + kPairs <= pairs; p += kPairs) {
      PairTile<kRows, kPairs>(x_tile, packed + p * blocks * 16, n, out_tile + 2 * p, out_stride,
                              count - 2 * p);
    }
    if (p + 2 <= pairs) {  // two left: one tile, twice the accumulators in flight
      PairTile<kRows, 2>(x_tile, packed + p * blocks * 16, n, out_tile + 2 * p, out_stride,
                         count - 2 * p);
      p += 2;
    }
    for (; p < pairs; ++p) {
      PairTile<kRows, 1>(x_tile, packed + p * blocks * 16, n, out_tile + 2 * p, out_stride,
                         count - 2 * p);
    }
  };
  int64_t r = 0;
  for (; r + kPairRows <= num_rows; r += kPairRows) {
    row_tiles(std::integral_constant<int, kPairRows>(), r);
  }
  for (; r + 4 <= num_rows; r += 4) row_tiles(std::integral_constant<int, 4>(), r);
  for (; r < num_rows; ++r) row_tiles(std::integral_constant<int, 1>(), r);
}
#endif  // AVX-512

// dst[0, n) = the values of the Q8 row at `row` (DequantizeRowQ8), 8 lanes at a time.
void DequantizeQ8ToF32(const unsigned char* row, int64_t n, float* dst) {
  for (int64_t start = 0; start < n; start += kQ8BlockSize, row += kQ8BlockBytes) {
    float scale;
    std::memcpy(&scale, row, sizeof(scale));
    const unsigned char* codes = row + sizeof(float);
    const int64_t count = std::min(kQ8BlockSize, n - start);
    int64_t i = 0;
    for (; i + kDotLanes <= count; i += kDotLanes) {
      StoreLanes(LoadLanesQ8(codes + i, SetLanes(scale)), dst + start + i);
    }
    for (; i < count; ++i) {
      dst[start + i] = static_cast<float>(static_cast<int8_t>(codes[i])) * scale;
    }
  }
}

// dst[0, count) = src[0, count) widened to f32.
void WidenToF32(DType dtype, const void* src, int64_t count, float* dst) {
  if (dtype == DType::kF32) {
    std::memcpy(dst, src, static_cast<size_t>(count) * sizeof(float));
    return;
  }
  const uint16_t* bits = static_cast<const uint16_t*>(src);
  const bool f16 = dtype == DType::kF16;
  int64_t i = 0;
  for (; i + kDotLanes <= count; i += kDotLanes) {
    StoreLanes(f16 ? LoadLanesF16(bits + i) : LoadLanesBF16(bits + i), dst + i);
  }
  for (; i < count; ++i) dst[i] = f16 ? F16ToF32(bits[i]) : BF16ToF32(bits[i]);
}

const unsigned char* RowAddress(const WeightMatrix& weight, int64_t row) {
  return static_cast<const unsigned char*>(weight.data) + row * RowBytes(weight.dtype, weight.cols);
}

#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3  // Paired AVX-512 GEMM.
// packed[(p * blocks + k) * 16 + h * 8 + j] = W[first + 2p + h, 8k + j] as f32 (widened or
// dequantized exactly, as WidenToF32 and DequantizeQ8ToF32 do) for the pairs p of the `count`
// rows from `first`, blocks = ceil(n / 8); zero beyond n and beyond count. One pass over the
// stored rows. row_scratch: n floats (Q8 rows are dequantized there first).
void PackPairs(const WeightMatrix& weight, int64_t first, int64_t count, float* packed,
               float* row_scratch) {
  const int64_t n = weight.cols;
  const int64_t blocks = (n + kDotLanes - 1) / kDotLanes;
  const int64_t full_blocks = n / kDotLanes;
  const int64_t pairs = (count + 1) / 2;
  for (int64_t p = 0; p < pairs; ++p) {
    for (int h = 0; h < 2; ++h) {
      const int64_t row = 2 * p + h;
      float* dst = packed + p * blocks * 16 + h * kDotLanes;
      if (row >= count) {
        for (int64_t k = 0; k < blocks; ++k) {
          std::memset(dst + k * 16, 0, kDotLanes * sizeof(float));
        }
        continue;
      }
      const unsigned char* stored = RowAddress(weight, first + row);
      const float* f32 = reinterpret_cast<const float*>(stored);
      if (weight.dtype == DType::kQ8) {
        DequantizeQ8ToF32(stored, n, row_scratch);
        f32 = row_scratch;
      }
      const uint16_t* bits = reinterpret_cast<const uint16_t*>(stored);
      int64_t k = 0;
      if (weight.dtype == DType::kF16) {
        for (; k < full_blocks; ++k) StoreLanes(LoadLanesF16(bits + k * kDotLanes), dst + k * 16);
      } else if (weight.dtype == DType::kBF16) {
        for (; k < full_blocks; ++k) StoreLanes(LoadLanesBF16(bits + k * kDotLanes), dst + k * 16);
      } else {
        for (; k < full_blocks; ++k) StoreLanes(LoadLanes(f32 + k * kDotLanes), dst + k * 16);
      }
      if (k < blocks) {
        float tail[kDotLanes] = {};
        for (int64_t j = 0; k * kDotLanes + j < n; ++j) {
          const int64_t i = k * kDotLanes + j;
          tail[j] = weight.dtype == DType::kF16    ? F16ToF32(bits[i])
                    : weight.dtype == DType::kBF16 ? BF16ToF32(bits[i])
                                                   : f32[i];
        }
        std::memcpy(dst + k * 16, tail, sizeof(tail));
      }
    }
  }
}
#endif

// Many activation rows: panels of kPanelOuts weight rows (16-bit ones widened, Q8 ones
// dequantized into a buffer once per panel) through the register-blocked micro-kernel.
void GemmOutputs(const float* x, int64_t num_rows, const WeightMatrix& weight, int64_t out_begin,
                 int64_t out_end, float* out) {
  const int64_t n = weight.cols;
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3  // Paired AVX-512 GEMM: widened while packed.
  // Kept per thread: a fresh zero-filled panel per call cost a memset of ~100 KB per slice of
  // every product (PackPairs writes every element a tile reads).
  thread_local std::vector<float> packed;
  thread_local std::vector<float> row_scratch;
  packed.resize((kPanelOuts + 1) / 2 * ((n + kDotLanes - 1) / kDotLanes) * 16);
  row_scratch.resize(weight.dtype == DType::kQ8 ? n : 0);
  for (int64_t o = out_begin; o < out_end; o += kPanelOuts) {
    const int64_t count = std::min<int64_t>(kPanelOuts, out_end - o);
    PackPairs(weight, o, count, packed.data(), row_scratch.data());
    PairedGemmPanel(x, num_rows, packed.data(), count, n, out + o, weight.rows);
  }
#else
  std::vector<float> widened;  // [kPanelOuts, n]
  if (weight.dtype != DType::kF32) widened.resize(kPanelOuts * n);
  for (int64_t o = out_begin; o < out_end; o += kPanelOuts) {
    const int64_t count = std::min<int64_t>(kPanelOuts, out_end - o);
    const float* panel = static_cast<const float*>(weight.data) + o * n;
    if (weight.dtype == DType::kQ8) {
      for (int64_t b = 0; b < count; ++b) {
        DequantizeQ8ToF32(RowAddress(weight, o + b), n, widened.data() + b * n);
      }
      panel = widened.data();
    } else if (weight.dtype != DType::kF32) {
      WidenToF32(weight.dtype, RowAddress(weight, o), count * n, widened.data());
      panel = widened.data();
    }
    GemmPanel(x, num_rows, panel, count, n, out + o, weight.rows);
  }
#endif
}

void WeightRowToF32Impl(const WeightMatrix& weight, int64_t row, float* row_out) {
  if (weight.dtype == DType::kQ8) {
    DequantizeRowQ8(RowAddress(weight, row), weight.cols, row_out);
    return;
  }
  if (weight.dtype == DType::kQ8A8) {
    DequantizeRowQ8A8(weight, row, row_out);
    return;
  }
  WidenToF32(weight.dtype, RowAddress(weight, row), weight.cols, row_out);
}

void MatMulOutputsImpl(const float* x, int64_t num_rows, const WeightMatrix& weight,
                       const float* bias, int64_t out_begin, int64_t out_end, float* out) {
  const int64_t n = weight.cols;
  const int64_t out_stride = weight.rows;
  // Few rows of 16-bit weights (decoding) read the weights in place and widen them in registers,
  // kSmall16Outs weight rows at a time: independent accumulators keep the FMA units busy (one row
  // at a time waits on each FMA's latency). Measured (bench/kernels_bench, 2026-12-07, Xeon with
  // F16C): 1 row of [1408, 512] F16, 6.1-8.5 -> 17-22 GMAC/s; 512 MiB streamed from DRAM,
  // 7.1-7.3 -> 11.8-12.1 GB/s.
  if (weight.dtype == DType::kQ8A8) {
    // Its own arithmetic for any number of rows (int8 activations: matmul_q8a8.h).
    MatMulQ8A8Outputs(x, num_rows, weight, out_begin, out_end, out);
  } else if (num_rows >= kGemmRows) {
    GemmOutputs(x, num_rows, weight, out_begin, out_end, out);
  } else if (weight.dtype == DType::kQ8) {
    MatMulQ8Outputs(x, num_rows, weight, out_begin, out_end, out);
  } else if (weight.dtype == DType::kF32) {
    SmallOutputs<F32Elements, kSmallOuts>(x, num_rows, static_cast<const float*>(weight.data), n,
                                          out_begin, out_end, out, out_stride);
  } else if (weight.dtype == DType::kF16) {
    SmallOutputs<F16Elements, kSmall16Outs>(x, num_rows, static_cast<const uint16_t*>(weight.data),
                                            n, out_begin, out_end, out, out_stride);
  } else {
    SmallOutputs<BF16Elements, kSmall16Outs>(x, num_rows, static_cast<const uint16_t*>(weight.data),
                                             n, out_begin, out_end, out, out_stride);
  }
  if (bias != nullptr) {
    for (int64_t r = 0; r < num_rows; ++r) {
      float* row = out + r * out_stride;
      for (int64_t o = out_begin; o < out_end; ++o) row[o] += bias[o];
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace minimind
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace minimind {

HWY_EXPORT(WeightRowToF32Impl);
HWY_EXPORT(MatMulOutputsImpl);

void WeightRowToF32(const WeightMatrix& weight, int64_t row, float* row_out) {
  ChooseSimdTargetOnce();
  HWY_DYNAMIC_DISPATCH(WeightRowToF32Impl)(weight, row, row_out);
}

void MatMul(const float* x, int64_t num_rows, const WeightMatrix& weight, const float* bias,
            float* out) {
  MatMulOutputs(x, num_rows, weight, bias, 0, weight.rows, out);
}

void MatMulOutputs(const float* x, int64_t num_rows, const WeightMatrix& weight, const float* bias,
                   int64_t out_begin, int64_t out_end, float* out) {
  ChooseSimdTargetOnce();
  HWY_DYNAMIC_DISPATCH(MatMulOutputsImpl)(x, num_rows, weight, bias, out_begin, out_end, out);
}

}  // namespace minimind
#endif  // HWY_ONCE
