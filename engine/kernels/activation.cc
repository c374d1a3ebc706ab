#include "engine/kernels/activation.h"

#include <cmath>
#include <cstdint>

namespace minimind {

float Silu(float x) {
  // For very negative x, exp(-x) overflows to inf and the quotient is -0: no NaN.
  return x / (1.0f + std::exp(-x));
}

void SwiGlu(const float* gate, const float* up, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = Silu(gate[i]) * up[i];
}

}  // namespace minimind
