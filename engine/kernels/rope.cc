#include "engine/kernels/rope.h"

#include <cstdint>

namespace minimind {

void ApplyRope(const float* cos, const float* sin, int64_t head_dim, float* head) {
  const int64_t half = head_dim / 2;
  float* first = head;
  float* second = head + half;
  for (int64_t i = 0; i < half; ++i) {
    const float x0 = first[i];
    const float x1 = second[i];
    first[i] = x0 * cos[i] - x1 * sin[i];
    second[i] = x1 * cos[i] + x0 * sin[i];
  }
}

}  // namespace minimind
