#include "engine/kernels/rope.h"

#include <cstdint>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "engine/kernels/rope.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
// Per-target headers after highway.h.
#include "engine/kernels/lanes-inl.h"
#include "engine/kernels/simd_target.h"

HWY_BEFORE_NAMESPACE();
namespace minimind {
namespace HWY_NAMESPACE {

// Two products and a difference (or sum), each rounded separately — never fused, so every
// target gives the same bits.
void ApplyRopeImpl(const float* cos, const float* sin, int64_t head_dim, float* head) {
  const int64_t half = head_dim / 2;
  float* first = head;
  float* second = head + half;
  int64_t i = 0;
  for (; i + kDotLanes <= half; i += kDotLanes) {
    for (int k = 0; k < kVectorsPerLanes; ++k) {
      const int64_t at = i + k * static_cast<int64_t>(kVectorLanes);
      const LaneTag d;
      const LaneVector x0 = hn::LoadU(d, first + at);
      const LaneVector x1 = hn::LoadU(d, second + at);
      const LaneVector c = hn::LoadU(d, cos + at);
      const LaneVector s = hn::LoadU(d, sin + at);
      hn::StoreU(hn::Sub(hn::Mul(x0, c), hn::Mul(x1, s)), d, first + at);
      hn::StoreU(hn::Add(hn::Mul(x1, c), hn::Mul(x0, s)), d, second + at);
    }
  }
  for (; i < half; ++i) {
    const float x0 = first[i];
    const float x1 = second[i];
    first[i] = x0 * cos[i] - x1 * sin[i];
    second[i] = x1 * cos[i] + x0 * sin[i];
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace minimind
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace minimind {

HWY_EXPORT(ApplyRopeImpl);

void ApplyRope(const float* cos, const float* sin, int64_t head_dim, float* head) {
  ChooseSimdTargetOnce();
  HWY_DYNAMIC_DISPATCH(ApplyRopeImpl)(cos, sin, head_dim, head);
}

}  // namespace minimind
#endif  // HWY_ONCE
