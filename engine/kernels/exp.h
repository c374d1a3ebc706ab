// e^x for arrays of f32: the exponential every softmax and SwiGLU in the kernels uses (per-target
// code in lanes-inl.h, ExpVector). libm's expf is scalar (a call per element: a third of
// attention's time went there); this one is branch-free lane arithmetic in vector registers.
//
// Method: n = round(x · log2 e); r = x − n·ln2 in two steps (Cody–Waite: the high part of ln 2
// has few enough bits that n·ln2_hi is exact); e^r by its degree-7 Taylor polynomial (|r| ≤
// ln2/2, truncation < 1e-8 relative) in Horner form with separate multiplies and adds; then
// · 2^n as two exact power-of-two factors so that results down to the subnormal range round once.
// Accuracy: at most 1 ulp from the correctly rounded e^x on a 4.4M-point sweep of [-104, 88.7]
// (tests/engine/kernels/exp_test.cc; it allows 2).
// Special values: x ≥ 88.7228… (beyond FLT_MAX) gives +inf; x ≤ −104 gives +0; NaN stays NaN.
// Determinism: a fixed sequence of IEEE f32 operations per element, the same on every SIMD
// target, so a value's exponential never depends on its position, its neighbours or the target.
// Pure function; thread-safe.
#ifndef MINIMIND_ENGINE_KERNELS_EXP_H_
#define MINIMIND_ENGINE_KERNELS_EXP_H_

#include <cstdint>

namespace minimind {

// out[i] = e^x[i] for i < n. `out` may alias `x`.
void Exp(const float* x, int64_t n, float* out);

}  // namespace minimind

#endif  // MINIMIND_ENGINE_KERNELS_EXP_H_
