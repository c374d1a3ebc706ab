// Softmax and log-softmax in f32 with max subtraction (so exp never overflows).
//
// Determinism: the max is exact and order-free; the sum of exponentials uses reduction.h's fixed
// order; everything else is elementwise. A row's result depends on that row alone.
// Exponentials: SoftmaxInPlace uses exp.h's ExpLanes (vectorised, within 2 ulp); LogSoftmax,
// which scores and samples use once per token rather than per attention row, uses libm's
// expf/logf.
// Pure functions; thread-safe.
#ifndef MINIMIND_ENGINE_KERNELS_SOFTMAX_H_
#define MINIMIND_ENGINE_KERNELS_SOFTMAX_H_

#include <cstdint>

namespace minimind {

// values[i] = exp(values[i] - max) / Σ_j exp(values[j] - max), for values: [n], n ≥ 1.
void SoftmaxInPlace(float* values, int64_t n);

// out[i] = logits[i] - max - log(Σ_j exp(logits[j] - max)), for logits, out: [n], n ≥ 1.
// `out` may alias `logits`.
void LogSoftmax(const float* logits, int64_t n, float* out);

}  // namespace minimind

#endif  // MINIMIND_ENGINE_KERNELS_SOFTMAX_H_
