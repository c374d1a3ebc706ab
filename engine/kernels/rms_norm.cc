#include "engine/kernels/rms_norm.h"

#include <cmath>
#include <cstdint>

#include "engine/kernels/reduction.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "engine/kernels/rms_norm.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
// Per-target headers after highway.h.
#include "engine/kernels/lanes-inl.h"
#include "engine/kernels/simd_target.h"

HWY_BEFORE_NAMESPACE();
namespace minimind {
namespace HWY_NAMESPACE {

void RmsNormImpl(const float* x, const float* weight, int64_t n, float eps, float* out) {
  Lanes sums = ZeroLanes();
  int64_t i = 0;
  for (; i + kDotLanes <= n; i += kDotLanes) {
    const Lanes values = LoadLanes(x + i);
    sums = MulAdd(values, values, sums);
  }
  if (i < n) {  // Zero padding fuses +0 into lanes that are never -0: no change (matmul.cc).
    float tail[kDotLanes] = {};
    for (int j = 0; i + j < n; ++j) tail[j] = x[i + j];
    const Lanes values = LoadLanes(tail);
    sums = MulAdd(values, values, sums);
  }
  const float mean_square = CombineLaneVector(sums) / static_cast<float>(n);
  const float inverse_rms = 1.0f / std::sqrt(mean_square + eps);
  const Lanes scale = SetLanes(inverse_rms);
  for (i = 0; i + kDotLanes <= n; i += kDotLanes) {
    StoreLanes(Mul(LoadLanes(weight + i), Mul(LoadLanes(x + i), scale)), out + i);
  }
  for (; i < n; ++i) out[i] = weight[i] * (x[i] * inverse_rms);
}

}  // namespace HWY_NAMESPACE
}  // namespace minimind
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace minimind {

HWY_EXPORT(RmsNormImpl);

void RmsNorm(const float* x, const float* weight, int64_t n, float eps, float* out) {
  ChooseSimdTargetOnce();
  HWY_DYNAMIC_DISPATCH(RmsNormImpl)(x, weight, n, eps, out);
}

}  // namespace minimind
#endif  // HWY_ONCE
