// Q8A8: 8-bit weights in blocks of 32 with f16 scales (dtype.h) multiplied with activations
// quantized to 8 bits per block too, int8 by int8 — llama.cpp's Q8_0 x Q8_0 arithmetic, what
// matmul.h dispatches to for DType::kQ8A8. Faster than Q8's dequantized f32 (AVX-512 VNNI's
// vpdpbusd does 32 multiply-adds of bytes per instruction; AVX2 two instructions), at the cost of
// rounding the activations to 8 bits per 32-block (the accuracy cost is measured in BENCHMARKS.md
// "weight formats").
//
// Definition (every path computes it bit for bit):
//   Each activation row x[0, n) is quantized per block b of 32 values (the last one zero-padded):
//   sx_b = amax / 127 (amax = max |x| over the block), inv = 1 / sx_b (0 when sx_b = 0), and
//   qx[i] = clamp(round_half_even(x[i] * inv), -127, 127) (each step one f32 operation).
//   For weight row w (scales sw_b widened from f16, codes qw), over the blocks in order, from +0:
//     S_b = Σ_{i<32} qx[32b + i] * qw[32b + i]                    (exact in int32)
//     acc = fma(float(S_b), sx_b * sw_b, acc)                     (sx_b * sw_b one f32 multiply)
//   out = acc, the bias added after. (llama.cpp's Q8_0 dot product has these steps too.)
// So an output depends on its activation row and weight row alone: the same bits whatever the
// number of rows, the row's position in a batch, the output range computed, or the instruction set
// (VNNI, AVX2 or the portable path: integer sums are exact and the float steps are the same). The
// vector paths hold 16 outputs (a row group of dtype.h) in the lanes of a register, so each
// output's steps run in its own lane and no lanes are combined.
// Thread-safe for disjoint outputs.
#ifndef MINIMIND_ENGINE_KERNELS_MATMUL_Q8A8_H_
#define MINIMIND_ENGINE_KERNELS_MATMUL_Q8A8_H_

#include <cstdint>
#include <string_view>

#include "engine/kernels/matmul.h"

namespace minimind {

// Row `row` of a [rows, cols] Q8A8 matrix (dtype.h: per block of 32, scale f16(amax / 127),
// codes round_half_even(w / scale) in [-127, 127]) at `matrix` (rows * RowBytes(DType::kQ8A8,
// cols) bytes), from the f32 values `values`. Finite inputs whose scales fit f16
// (|w| <= 127 * 65504).
void QuantizeRowQ8A8(const float* values, int64_t row, int64_t rows, int64_t cols, void* matrix);
// out[0, weight.cols) = the values of row `row` of a Q8A8 matrix (float(q) * its block's scale).
void DequantizeRowQ8A8(const WeightMatrix& weight, int64_t row, float* out);

// MatMulOutputs (matmul.h) for weight.dtype == DType::kQ8A8, without the bias: out[r, o] for
// r < num_rows and o in [out_begin, out_end); `out` is [num_rows, weight.rows]. Quantizes the
// rows of x on every call.
void MatMulQ8A8Outputs(const float* x, int64_t num_rows, const WeightMatrix& weight,
                       int64_t out_begin, int64_t out_end, float* out);

// The same product in two steps, so that several slices (or several products of one input) share
// one quantization: Q8A8InputRowBytes(cols) bytes per row, rows [row_begin, row_end) of x
// quantized into the same rows of `input` (per block: f32 sx_b, int32 -128 * Σ qx, 32 codes; any
// split gives the same bytes), then MatMulQ8A8Quantized with bias (null for none) added last,
// bitwise as MatMulOutputs.
int64_t Q8A8InputRowBytes(int64_t cols);
void QuantizeQ8A8Input(const float* x, int64_t cols, int64_t row_begin, int64_t row_end,
                       unsigned char* input);
void MatMulQ8A8Quantized(const unsigned char* input, int64_t num_rows, const WeightMatrix& weight,
                         const float* bias, int64_t out_begin, int64_t out_end, float* out);

// The instructions the products run on: "vnni", "avx2" or "portable" (follows the SIMD target
// chosen for the other kernels, simd_target.h: AVX3 with VNNI, AVX3 or AVX2, others).
std::string_view Q8A8PathName();

}  // namespace minimind

#endif  // MINIMIND_ENGINE_KERNELS_MATMUL_Q8A8_H_
