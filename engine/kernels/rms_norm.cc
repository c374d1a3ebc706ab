#include "engine/kernels/rms_norm.h"

#include <cmath>
#include <cstdint>

#include "engine/kernels/reduction.h"

namespace minimind {

void RmsNorm(const float* x, const float* weight, int64_t n, float eps, float* out) {
  const float mean_square = Dot(x, x, n) / static_cast<float>(n);
  const float inverse_rms = 1.0f / std::sqrt(mean_square + eps);
  for (int64_t i = 0; i < n; ++i) out[i] = weight[i] * (x[i] * inverse_rms);
}

}  // namespace minimind
