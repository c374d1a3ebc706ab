#include "engine/kernels/matmul.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "engine/kernels/float_convert.h"
#include "engine/kernels/lanes.h"
#include "engine/kernels/reduction.h"

namespace minimind {
namespace {

// Loading 8 consecutive weights as f32 lanes, per stored element type. The 16-bit formats widen
// exactly as float_convert.h does, in registers.
struct F32Elements {
  using Element = float;
  static Lanes Load(const float* source) { return LoadLanes(source); }
  static float Widen(float value) { return value; }
};

struct BF16Elements {
  using Element = uint16_t;
  static Lanes Load(const uint16_t* source) {
    HalfBits half;
    std::memcpy(&half, source, sizeof(half));
    return reinterpret_cast<Lanes>(__builtin_convertvector(half, Bits) << 16);
  }
  static float Widen(uint16_t bits) { return BF16ToF32(bits); }
};

struct F16Elements {
  using Element = uint16_t;
  static Lanes Load(const uint16_t* source) {
    HalfBits half;
    std::memcpy(&half, source, sizeof(half));
    const Bits bits = __builtin_convertvector(half, Bits);
    const Bits sign = (bits & 0x8000u) << 16;
    const Bits magnitude = bits & 0x7fffu;
    const Lanes scaled = reinterpret_cast<Lanes>(magnitude << 13) * 0x1p112f;
    // A vector comparison yields all-ones lanes where true.
    const Bits inf_or_nan = reinterpret_cast<Bits>(magnitude >= 0x7c00u) & 0x7f800000u;
    return reinterpret_cast<Lanes>(reinterpret_cast<Bits>(scaled) | inf_or_nan | sign);
  }
  static float Widen(uint16_t bits) { return F16ToF32(bits); }
};

// Register tile of the micro-kernel: up to kRowTile activation rows × kOutTile weight rows, each
// output with its own accumulator (8 registers), so the additions of different outputs overlap
// instead of waiting on one another (f32 weights, and 16-bit weights widened once per call).
constexpr int kRowTile = 2;
constexpr int kOutTile = 4;
// Below this many activation rows, 16-bit weights are widened in registers as they are used;
// from it on, each group of kOutTile weight rows is widened once into a buffer and reused by all
// activation rows. The results are identical (widening is exact); only the speed differs.
constexpr int64_t kWidenOnceMinRows = 4;

// out[a * out_stride + b] = Dot(x[a, :], w[b, :]) for a < kRows, b < kOuts, in reduction.h's
// order. x: [kRows, n] with row stride n; w: [kOuts, n] in Elements' type, row stride n.
// Kept out of line so that GCC allocates each instantiation's registers on its own.
template <typename Elements, int kRows, int kOuts>
[[gnu::noinline]] void DotTile(const float* x, const typename Elements::Element* w, int64_t n,
                               float* out, int64_t out_stride) {
  Lanes sums[kRows][kOuts] = {};
  int64_t i = 0;
  for (; i + kDotLanes <= n; i += kDotLanes) {
    Lanes x_block[kRows];
#pragma GCC unroll 8
    for (int a = 0; a < kRows; ++a) x_block[a] = F32Elements::Load(x + a * n + i);
#pragma GCC unroll 8
    for (int b = 0; b < kOuts; ++b) {
      const Lanes w_block = Elements::Load(w + b * n + i);
#pragma GCC unroll 8
      for (int a = 0; a < kRows; ++a) sums[a][b] += x_block[a] * w_block;
    }
  }
  if (i < n) {
    // The last partial block, zero-padded. Lanes start at +0 and so are never -0, which makes
    // adding the padding's +0 products an exact no-op: the result is as if the lanes stopped.
    float x_tail[kRows][kDotLanes] = {};
    float w_tail[kOuts][kDotLanes] = {};
    for (int j = 0; i + j < n; ++j) {
      for (int a = 0; a < kRows; ++a) x_tail[a][j] = x[a * n + i + j];
      for (int b = 0; b < kOuts; ++b) w_tail[b][j] = Elements::Widen(w[b * n + i + j]);
    }
    for (int b = 0; b < kOuts; ++b) {
      for (int a = 0; a < kRows; ++a) {
        sums[a][b] += F32Elements::Load(x_tail[a]) * F32Elements::Load(w_tail[b]);
      }
    }
  }
  for (int a = 0; a < kRows; ++a) {
    for (int b = 0; b < kOuts; ++b) out[a * out_stride + b] = CombineLaneVector(sums[a][b]);
  }
}

// All rows of x against kOuts weight rows `w` ([kOuts, n], row stride n), writing columns
// [0, kOuts) of `out` (row stride out_stride).
template <typename Elements, int kOuts>
void DotAllRows(const float* x, int64_t num_rows, const typename Elements::Element* w, int64_t n,
                float* out, int64_t out_stride) {
  int64_t r = 0;
  for (; r + kRowTile <= num_rows; r += kRowTile) {
    DotTile<Elements, kRowTile, kOuts>(x + r * n, w, n, out + r * out_stride, out_stride);
  }
  for (; r < num_rows; ++r) {
    DotTile<Elements, 1, kOuts>(x + r * n, w, n, out + r * out_stride, out_stride);
  }
}

// Outputs [out_begin, out_end) of x · Wᵀ, reading W ([rows, n], in Elements' type) directly,
// kOuts weight rows at a time.
template <typename Elements, int kOuts>
void DotOutputs(const float* x, int64_t num_rows, const typename Elements::Element* w, int64_t n,
                int64_t out_begin, int64_t out_end, float* out, int64_t out_stride) {
  int64_t o = out_begin;
  for (; o + kOuts <= out_end; o += kOuts) {
    DotAllRows<Elements, kOuts>(x, num_rows, w + o * n, n, out + o, out_stride);
  }
  for (; o < out_end; ++o) DotAllRows<Elements, 1>(x, num_rows, w + o * n, n, out + o, out_stride);
}

// dst[0, count) = src[0, count) widened to f32.
void WidenToF32(DType dtype, const void* src, int64_t count, float* dst) {
  switch (dtype) {
    case DType::kF32:
      std::memcpy(dst, src, static_cast<size_t>(count) * sizeof(float));
      return;
    case DType::kF16: {
      const uint16_t* bits = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < count; ++i) dst[i] = F16ToF32(bits[i]);
      return;
    }
    case DType::kBF16: {
      const uint16_t* bits = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < count; ++i) dst[i] = BF16ToF32(bits[i]);
      return;
    }
  }
}

const unsigned char* RowAddress(const WeightMatrix& weight, int64_t row) {
  return static_cast<const unsigned char*>(weight.data) +
         static_cast<size_t>(row * weight.cols) * DTypeSize(weight.dtype);
}

// 16-bit weights for many activation rows: widen kOutTile weight rows at a time into a buffer,
// then run the f32 kernel over every activation row.
void WidenOnceOutputs(const float* x, int64_t num_rows, const WeightMatrix& weight,
                      int64_t out_begin, int64_t out_end, float* out) {
  const int64_t n = weight.cols;
  std::vector<float> widened(kOutTile * n);  // [kOutTile, n]
  for (int64_t o = out_begin; o < out_end; o += kOutTile) {
    const int64_t count = std::min<int64_t>(kOutTile, out_end - o);
    WidenToF32(weight.dtype, RowAddress(weight, o), count * n, widened.data());
    DotOutputs<F32Elements, kOutTile>(x, num_rows, widened.data(), n, 0, count, out + o,
                                      weight.rows);
  }
}

}  // namespace

void WeightRowToF32(const WeightMatrix& weight, int64_t row, float* row_out) {
  WidenToF32(weight.dtype, RowAddress(weight, row), weight.cols, row_out);
}

void MatMul(const float* x, int64_t num_rows, const WeightMatrix& weight, const float* bias,
            float* out) {
  MatMulOutputs(x, num_rows, weight, bias, 0, weight.rows, out);
}

void MatMulOutputs(const float* x, int64_t num_rows, const WeightMatrix& weight, const float* bias,
                   int64_t out_begin, int64_t out_end, float* out) {
  const int64_t n = weight.cols;
  const int64_t out_stride = weight.rows;
  // Few rows of 16-bit weights (decoding) stream the weights from memory once and widen them in
  // registers. One weight row at a time: with several rows read in parallel, streaming from DRAM
  // measured up to 2x slower (1.5 vs 2.8 GMAC/s for F16 on the development machine).
  if (weight.dtype == DType::kF32) {
    DotOutputs<F32Elements, kOutTile>(x, num_rows, static_cast<const float*>(weight.data), n,
                                      out_begin, out_end, out, out_stride);
  } else if (num_rows >= kWidenOnceMinRows) {
    WidenOnceOutputs(x, num_rows, weight, out_begin, out_end, out);
  } else if (weight.dtype == DType::kF16) {
    DotOutputs<F16Elements, 1>(x, num_rows, static_cast<const uint16_t*>(weight.data), n, out_begin,
                               out_end, out, out_stride);
  } else {
    DotOutputs<BF16Elements, 1>(x, num_rows, static_cast<const uint16_t*>(weight.data), n,
                                out_begin, out_end, out, out_stride);
  }
  if (bias != nullptr) {
    for (int64_t r = 0; r < num_rows; ++r) {
      float* row = out + r * out_stride;
      for (int64_t o = out_begin; o < out_end; ++o) row[o] += bias[o];
    }
  }
}

}  // namespace minimind
