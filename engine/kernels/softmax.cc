#include "engine/kernels/softmax.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "engine/kernels/exp.h"
#include "engine/kernels/lanes.h"
#include "engine/kernels/reduction.h"

namespace minimind {
namespace {

// The largest of values[0..n), n ≥ 1 (NaN elements are skipped unless values[0] is NaN).
float Max(const float* values, int64_t n) {
  float max = values[0];
  int64_t i = 1;
  if (n >= 1 + kDotLanes) {  // Eight running maxima, then the largest of them: the same value.
    Lanes lanes = LoadLanes(values + 1);
    for (i = 1 + kDotLanes; i + kDotLanes <= n; i += kDotLanes) {
      const Lanes next = LoadLanes(values + i);
      lanes = next > lanes ? next : lanes;
    }
    float parts[kDotLanes];
    StoreLanes(lanes, parts);
    for (float part : parts) max = std::max(max, part);
  }
  for (; i < n; ++i) max = std::max(max, values[i]);
  return max;
}

}  // namespace

void SoftmaxInPlace(float* values, int64_t n) {
  const float max = Max(values, n);
  int64_t i = 0;
  for (; i + kDotLanes <= n; i += kDotLanes) {
    StoreLanes(ExpLanes(LoadLanes(values + i) - max), values + i);
  }
  if (i < n) {  // The tail in the low lanes of one more vector: the same bits per value.
    float tail[kDotLanes] = {};
    std::copy(values + i, values + n, tail);
    StoreLanes(ExpLanes(LoadLanes(tail) - max), tail);
    std::copy(tail, tail + (n - i), values + i);
  }
  const float sum = Sum(values, n);
  for (i = 0; i < n; ++i) values[i] /= sum;
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
