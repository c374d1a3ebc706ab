// ExpLanes: e^x for eight f32 lanes at once, the exponential every softmax in the kernels uses.
// libm's expf is scalar (a call per element: a third of attention's time went there); this one
// is branch-free lane arithmetic, so it runs in vector registers.
//
// Method: n = round(x · log2 e); r = x − n·ln2 in two steps (Cody–Waite: the high part of ln 2
// has few enough bits that n·ln2_hi is exact); e^r by its degree-7 Taylor polynomial (|r| ≤
// ln2/2, truncation < 1e-8 relative) in Horner form; then · 2^n as two exact power-of-two
// factors so that results down to the subnormal range round once.
// Accuracy: at most 1 ulp from the correctly rounded e^x on a 4.4M-point sweep of [-104, 88.7]
// (tests/engine/kernels/exp_test.cc; it allows 2).
// Special values: x ≥ 88.7228… (beyond FLT_MAX) gives +inf; x ≤ −104 gives +0; NaN stays NaN.
// Determinism: a fixed sequence of IEEE f32 operations per lane, so a value's exponential never
// depends on its lane or neighbours; computing one value alone (in lane 0 of otherwise unused
// lanes) gives the same bits.
// Header-only; for the kernels' .cc files (see lanes.h).
#ifndef MINIMIND_ENGINE_KERNELS_EXP_H_
#define MINIMIND_ENGINE_KERNELS_EXP_H_

#include <cstdint>

#include "engine/kernels/lanes.h"

namespace minimind {

inline Lanes ExpLanes(Lanes x) {
  constexpr float kLog2E = 1.44269504088896341f;
  constexpr float kLn2High = 0.693359375f;  // 0x1.63p-1: 9 significant bits.
  constexpr float kLn2Low = -2.12194440e-4f;
  constexpr float kRoundToInteger = 12582912.0f;   // 1.5 · 2^23: adding it rounds to an integer.
  constexpr float kMaxInput = 88.72283935546875f;  // The largest x with e^x < FLT_MAX (rounded).
  constexpr float kMinInput = -104.0f;             // e^-104 < half the smallest subnormal.
  // Clamp so that n stays in [-150, 128] and every step below is finite.
  const Lanes clamped =
      x < kMinInput ? Lanes{} + kMinInput : (x > kMaxInput ? Lanes{} + kMaxInput : x);
  const Lanes n = (clamped * kLog2E + kRoundToInteger) - kRoundToInteger;
  const Lanes r = (clamped - n * kLn2High) - n * kLn2Low;
  Lanes p = Lanes{} + (1.0f / 5040.0f);
  p = p * r + (1.0f / 720.0f);
  p = p * r + (1.0f / 120.0f);
  p = p * r + (1.0f / 24.0f);
  p = p * r + (1.0f / 6.0f);
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  // 2^n = 2^half · 2^(n − half), each factor a normal float for n in [-150, 128].
  const IntLanes whole = __builtin_convertvector(n, IntLanes);
  const IntLanes half = whole >> 1;
  const Lanes scale_a = reinterpret_cast<Lanes>((half + 127) << 23);
  const Lanes scale_b = reinterpret_cast<Lanes>((whole - half + 127) << 23);
  Lanes result = (p * scale_a) * scale_b;
  const Lanes infinity = Lanes{} + __builtin_inff();
  result = x > kMaxInput ? infinity : result;
  return x != x ? x : result;  // NaN in, NaN out.
}

}  // namespace minimind

#endif  // MINIMIND_ENGINE_KERNELS_EXP_H_
