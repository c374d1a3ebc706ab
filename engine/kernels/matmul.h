// Matrix products of f32 activations with weight matrices stored as F32, F16, BF16 or Q8 (Hugging
// Face's [out_features, in_features], row-major; Q8 rows are blocked, see dtype.h). Weights are
// widened to f32 exactly (Q8: to float(q) * scale, see matmul_q8.h); all arithmetic is f32.
//
// Determinism: out[r, o] = Dot(x[r, :], W[o, :]) (+ bias[o], added last) in the reduction order
// of reduction.h, so every element is bitwise the same whatever the number of rows, the row's index
// in the batch, or the output range a call computes. That is what makes a batch equal its sequences
// run alone, and a chunked prefill equal a one-shot one.
//
// Parallelism: MatMulOutputs computes a slice of output features; a worker pool can give each
// worker a disjoint slice of one product (the results do not depend on the split). Functions are
// thread-safe for disjoint outputs.
#ifndef MINIMIND_ENGINE_KERNELS_MATMUL_H_
#define MINIMIND_ENGINE_KERNELS_MATMUL_H_

#include <cstdint>

#include "engine/base/dtype.h"

namespace minimind {

// A view of a row-major [rows, cols] weight matrix in its stored element type.
struct WeightMatrix {
  DType dtype = DType::kF32;
  const void* data = nullptr;
  int64_t rows = 0;  // Output features.
  int64_t cols = 0;  // Input features.
};

// row_out[0, cols) = W[row, :] widened to f32 (an embedding lookup).
void WeightRowToF32(const WeightMatrix& weight, int64_t row, float* row_out);

// out[r, o] = x[r, :] · W[o, :] + bias[o], for r < num_rows and every output o.
//   x:    [num_rows, weight.cols]
//   bias: [weight.rows], or null for none
//   out:  [num_rows, weight.rows]; must not alias x.
void MatMul(const float* x, int64_t num_rows, const WeightMatrix& weight, const float* bias,
            float* out);

// As MatMul, but only for outputs o in [out_begin, out_end); other columns of `out` (still
// [num_rows, weight.rows]) are left untouched.
void MatMulOutputs(const float* x, int64_t num_rows, const WeightMatrix& weight, const float* bias,
                   int64_t out_begin, int64_t out_end, float* out);

}  // namespace minimind

#endif  // MINIMIND_ENGINE_KERNELS_MATMUL_H_
