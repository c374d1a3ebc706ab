#include "engine/kernels/activation.h"

#include <cstdint>

#include "engine/kernels/exp.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "engine/kernels/activation.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
// Per-target headers after highway.h.
#include "engine/kernels/lanes-inl.h"
#include "engine/kernels/simd_target.h"

HWY_BEFORE_NAMESPACE();
namespace minimind {
namespace HWY_NAMESPACE {

// silu(gate) * up for one vector: x / (1 + e^-x), then the product, each rounded separately.
// For very negative x, e^-x is +inf and the quotient -0: no NaN.
HWY_INLINE LaneVector SwiGluVector(LaneVector gate, LaneVector up) {
  const LaneTag d;
  const LaneVector denominator = hn::Add(hn::Set(d, 1.0f), ExpVector(hn::Neg(gate)));
  return hn::Mul(hn::Div(gate, denominator), up);
}

void SwiGluImpl(const float* gate, const float* up, int64_t n, float* out) {
  const LaneTag d;
  int64_t i = 0;
  for (; i + static_cast<int64_t>(kVectorLanes) <= n; i += kVectorLanes) {
    hn::StoreU(SwiGluVector(hn::LoadU(d, gate + i), hn::LoadU(d, up + i)), d, out + i);
  }
  if (i < n) {  // The tail in the low lanes of one more vector: the same bits per value.
    HWY_ALIGN float gate_tail[kVectorLanes] = {};
    HWY_ALIGN float up_tail[kVectorLanes] = {};
    for (int64_t j = 0; i + j < n; ++j) {
      gate_tail[j] = gate[i + j];
      up_tail[j] = up[i + j];
    }
    hn::Store(SwiGluVector(hn::Load(d, gate_tail), hn::Load(d, up_tail)), d, gate_tail);
    for (int64_t j = 0; i + j < n; ++j) out[i + j] = gate_tail[j];
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace minimind
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace minimind {

HWY_EXPORT(SwiGluImpl);

float Silu(float x) {
  const float minus_x = -x;
  float exp_minus_x;
  Exp(&minus_x, 1, &exp_minus_x);
  return x / (1.0f + exp_minus_x);
}

void SwiGlu(const float* gate, const float* up, int64_t n, float* out) {
  ChooseSimdTargetOnce();
  HWY_DYNAMIC_DISPATCH(SwiGluImpl)(gate, up, n, out);
}

}  // namespace minimind
#endif  // HWY_ONCE
