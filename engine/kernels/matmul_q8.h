// Q8 weights (dtype.h's blocked 8-bit layout): quantizing f32 rows into it, reading them back, and
// the product of f32 activations with a Q8 weight matrix (what matmul.h dispatches to for
// DType::kQ8).
//
// Quantization of one block of 32 values w[0..32) (the last block of a row zero-padded):
//   amax  = max |w[i]|                      (f32)
//   scale = amax / 127.0f                   (one correctly rounded f32 division)
//   q[i]  = 0 if scale == 0, else clamp(round_half_even(w[i] / scale), -127, 127)
// with w[i] / scale one f32 division. Inputs must be finite (the loader has checked them).
// The value a stored weight stands for is float(q[i]) * scale, one f32 multiply: DequantizeRowQ8.
//
// Determinism: out[r, o] = Dot(x[r, :], DequantizeRowQ8(W[o, :])) (reduction.h's order, bias added
// last) bit for bit, whatever the number of rows, the row's position in the batch or the output
// range computed — the contract of matmul.h, with the Q8 weights standing for their dequantized
// values. All functions are pure and thread-safe for disjoint outputs.
#ifndef MINIMIND_ENGINE_KERNELS_MATMUL_Q8_H_
#define MINIMIND_ENGINE_KERNELS_MATMUL_Q8_H_

#include <cstdint>

#include "engine/kernels/matmul.h"

namespace minimind {

// Writes RowBytes(DType::kQ8, cols) bytes at `out` (no alignment needed).
void QuantizeRowQ8(const float* row, int64_t cols, void* out);

// out[0, cols) = the values of the Q8 row at `row`.
void DequantizeRowQ8(const void* row, int64_t cols, float* out);

// MatMulOutputs (matmul.h) for weight.dtype == DType::kQ8, without the bias: out[r, o] for
// r < num_rows and o in [out_begin, out_end); `out` is [num_rows, weight.rows]. Each row on its
// own, reading the 8-bit weights in place: the decode path (MatMulOutputs sends many rows through
// its panel GEMM instead, with the same results).
void MatMulQ8Outputs(const float* x, int64_t num_rows, const WeightMatrix& weight,
                     int64_t out_begin, int64_t out_end, float* out);

}  // namespace minimind

#endif  // MINIMIND_ENGINE_KERNELS_MATMUL_Q8_H_
