#include "engine/kernels/softmax.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "engine/kernels/reduction.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "engine/kernels/softmax.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
// Per-target headers after highway.h.
#include "engine/kernels/lanes-inl.h"
#include "engine/kernels/simd_target.h"

HWY_BEFORE_NAMESPACE();
namespace minimind {
namespace HWY_NAMESPACE {

// The largest of values[0..n), n ≥ 1 (NaN elements are skipped unless values[0] is NaN).
float Max(const float* values, int64_t n) {
  float max = values[0];
  int64_t i = 1;
  if (n >= 1 + kDotLanes) {  // Running maxima per lane, then the largest of them: the same value.
    const LaneTag d;
    LaneVector lanes[kVectorsPerLanes];
    for (int k = 0; k < kVectorsPerLanes; ++k)
      lanes[k] = hn::LoadU(d, values + 1 + k * kVectorLanes);
    for (i = 1 + kDotLanes; i + kDotLanes <= n; i += kDotLanes) {
      for (int k = 0; k < kVectorsPerLanes; ++k) {
        const LaneVector next = hn::LoadU(d, values + i + k * kVectorLanes);
        lanes[k] = hn::IfThenElse(hn::Gt(next, lanes[k]), next, lanes[k]);
      }
    }
    float parts[kDotLanes];
    for (int k = 0; k < kVectorsPerLanes; ++k) hn::StoreU(lanes[k], d, parts + k * kVectorLanes);
    for (float part : parts) max = std::max(max, part);
  }
  for (; i < n; ++i) max = std::max(max, values[i]);
  return max;
}

void SoftmaxInPlaceImpl(float* values, int64_t n) {
  const Lanes max = SetLanes(Max(values, n));
  Lanes sums = ZeroLanes();
  int64_t i = 0;
  for (; i + kDotLanes <= n; i += kDotLanes) {
    Lanes exps = LoadLanes(values + i);
    for (int k = 0; k < kVectorsPerLanes; ++k) exps.v[k] = hn::Sub(exps.v[k], max.v[k]);
    exps = ExpLanes(exps);
    StoreLanes(exps, values + i);
    sums = Add(sums, exps);
  }
  if (i < n) {  // The tail in the low lanes of one more vector: the same bits per value.
    float tail[kDotLanes] = {};
    std::copy(values + i, values + n, tail);
    Lanes exps = LoadLanes(tail);
    for (int k = 0; k < kVectorsPerLanes; ++k) exps.v[k] = hn::Sub(exps.v[k], max.v[k]);
    StoreLanes(ExpLanes(exps), tail);
    // Unused lanes add +0 to lanes that are never -0: no change.
    for (int j = static_cast<int>(n - i); j < kDotLanes; ++j) tail[j] = 0.0f;
    sums = Add(sums, LoadLanes(tail));
    std::copy(tail, tail + (n - i), values + i);
  }
  const float sum = CombineLaneVector(sums);
  const LaneTag d;
  const LaneVector divisor = hn::Set(d, sum);
  for (i = 0; i + static_cast<int64_t>(kVectorLanes) <= n; i += kVectorLanes) {
    hn::StoreU(hn::Div(hn::LoadU(d, values + i), divisor), d, values + i);
  }
  for (; i < n; ++i) values[i] /= sum;
}

float MaxImpl(const float* values, int64_t n) { return Max(values, n); }

}  // namespace HWY_NAMESPACE
}  // namespace minimind
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace minimind {

HWY_EXPORT(SoftmaxInPlaceImpl);
HWY_EXPORT(MaxImpl);

void SoftmaxInPlace(float* values, int64_t n) {
  ChooseSimdTargetOnce();
  HWY_DYNAMIC_DISPATCH(SoftmaxInPlaceImpl)(values, n);
}

void LogSoftmax(const float* logits, int64_t n, float* out) {
  ChooseSimdTargetOnce();
  const float max = HWY_DYNAMIC_DISPATCH(MaxImpl)(logits, n);
  // Lane i % 8 takes term i: reduction.h's order, without a buffer for the exponentials (`out`
  // may alias `logits`, so it cannot hold them).
  float lanes[kDotLanes] = {};
  for (int64_t i = 0; i < n; ++i) lanes[i % kDotLanes] += std::exp(logits[i] - max);
  const float log_sum = std::log(CombineLanes(lanes));
  for (int64_t i = 0; i < n; ++i) out[i] = (logits[i] - max) - log_sum;
}

}  // namespace minimind
#endif  // HWY_ONCE
