#include "engine/kernels/softmax.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "engine/kernels/reduction.h"

namespace minimind {
namespace {

float Max(const float* values, int64_t n) {
  float max = values[0];
  for (int64_t i = 1; i < n; ++i) max = std::max(max, values[i]);
  return max;
}

}  // namespace

void SoftmaxInPlace(float* values, int64_t n) {
  const float max = Max(values, n);
  for (int64_t i = 0; i < n; ++i) values[i] = std::exp(values[i] - max);
  const float sum = Sum(values, n);
  for (int64_t i = 0; i < n; ++i) values[i] /= sum;
}

void LogSoftmax(const float* logits, int64_t n, float* out) {
  const float max = Max(logits, n);
  // Lane i % 8 takes term i: reduction.h's order, without a buffer for the exponentials (`out`
  // may alias `logits`, so it cannot hold them).
  float lanes[kDotLanes] = {};
  for (int64_t i = 0; i < n; ++i) lanes[i % kDotLanes] += std::exp(logits[i] - max);
  const float log_sum = std::log(CombineLanes(lanes));
  for (int64_t i = 0; i < n; ++i) out[i] = (logits[i] - max) - log_sum;
}

}  // namespace minimind
