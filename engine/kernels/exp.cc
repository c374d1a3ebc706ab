#include "engine/kernels/exp.h"

#include <algorithm>
#include <cstdint>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "engine/kernels/exp.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
// Per-target headers after highway.h.
#include "engine/kernels/lanes-inl.h"
#include "engine/kernels/simd_target.h"

HWY_BEFORE_NAMESPACE();
namespace minimind {
namespace HWY_NAMESPACE {

void ExpImpl(const float* x, int64_t n, float* out) {
  int64_t i = 0;
  for (; i + kDotLanes <= n; i += kDotLanes) StoreLanes(ExpLanes(LoadLanes(x + i)), out + i);
  if (i < n) {  // The tail in the low lanes of one more vector: the same bits per value.
    float tail[kDotLanes] = {};
    std::copy(x + i, x + n, tail);
    StoreLanes(ExpLanes(LoadLanes(tail)), tail);
    std::copy(tail, tail + (n - i), out + i);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace minimind
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace minimind {

HWY_EXPORT(ExpImpl);

void Exp(const float* x, int64_t n, float* out) {
  ChooseSimdTargetOnce();
  HWY_DYNAMIC_DISPATCH(ExpImpl)(x, n, out);
}

}  // namespace minimind
#endif  // HWY_ONCE
