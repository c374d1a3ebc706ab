// RMSNorm in f32: out[i] = weight[i] * (x[i] * (1 / sqrt(mean(x²) + eps))), the formula of
// Llama/Qwen (plain `weight`, not `1 + weight`).
//
// Determinism: Σ x² uses reduction.h's fixed order, so a row's result depends on that row alone.
// Pure function; thread-safe.
#ifndef MINIMIND_ENGINE_KERNELS_RMS_NORM_H_
#define MINIMIND_ENGINE_KERNELS_RMS_NORM_H_

#include <cstdint>

namespace minimind {

// x, weight, out: [n]. `out` may alias `x` (normalising in place).
void RmsNorm(const float* x, const float* weight, int64_t n, float eps, float* out);

}  // namespace minimind

#endif  // MINIMIND_ENGINE_KERNELS_RMS_NORM_H_
