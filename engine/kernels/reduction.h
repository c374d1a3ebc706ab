// The one reduction order every kernel uses, so each output element is a fixed function of its
// inputs alone — never of batch size, batch position, prefill chunking or how many outputs are
// computed together: the engine's determinism promise rests on it.
//
// A reduction over an inner dimension of n terms t_0 .. t_{n-1} (the products of a dot product,
// RMSNorm's squares, the exponentials of a softmax) runs kDotLanes = 8 independent partial sums:
// lane j takes terms j, j+8, j+16, ... in increasing index order, starting from +0. A product
// term a·b is taken with one fused multiply-add, lane = fma(a, b, lane) (one rounding); a plain
// term with lane = lane + t. The lanes are then combined by the fixed tree
//   ((s0 + s4) + (s2 + s6)) + ((s1 + s5) + (s3 + s7)),
// which is what an 8-wide register reduces to by halving.
// Every other operation is a separately rounded f32 operation: the kernels are compiled with
// -ffp-contract=off and never with -ffast-math, so the compiler can neither fuse nor reassociate.
// Across SIMD targets (simd_target.h): the 8 lanes are one AVX2 register (an AVX-512 register
// capped to 8 lanes; the AVX-512 GEMM puts two outputs' 8 lanes side by side in one register,
// which changes nothing per output), two SSE4 registers, or eight scalars; the fma is the
// hardware instruction on AVX2/AVX-512 and std::fma (correctly rounded, so the same value) on
// SSE4 and scalar code.
// Results are therefore bitwise identical on every target and every machine with IEEE f32 in
// the default rounding mode — the non-FMA targets are just slower.
// (Attention's weighted sum of values, a reduction over positions, is sequential in position
// order instead: see attention.h.)
// The functions below are the plain scalar definition (the reference the SIMD kernels are
// tested against, and used for short tails).
// Pure functions; thread-safe.
#ifndef MINIMIND_ENGINE_KERNELS_REDUCTION_H_
#define MINIMIND_ENGINE_KERNELS_REDUCTION_H_

#include <cmath>
#include <cstdint>

namespace minimind {

inline constexpr int kDotLanes = 8;

inline float CombineLanes(const float (&lanes)[kDotLanes]) {
  return ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6])) +
         ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7]));
}

// Σ a[i] * b[i] over i < n in the fixed order above, each product fused into its lane.
inline float Dot(const float* a, const float* b, int64_t n) {
  float lanes[kDotLanes] = {};
  int64_t i = 0;
  for (; i + kDotLanes <= n; i += kDotLanes) {
    for (int j = 0; j < kDotLanes; ++j) lanes[j] = std::fma(a[i + j], b[i + j], lanes[j]);
  }
  for (int j = 0; i + j < n; ++j) lanes[j] = std::fma(a[i + j], b[i + j], lanes[j]);
  return CombineLanes(lanes);
}

// Σ values[i] over i < n in the fixed order above.
inline float Sum(const float* values, int64_t n) {
  float lanes[kDotLanes] = {};
  int64_t i = 0;
  for (; i + kDotLanes <= n; i += kDotLanes) {
    for (int j = 0; j < kDotLanes; ++j) lanes[j] += values[i + j];
  }
  for (int j = 0; i + j < n; ++j) lanes[j] += values[i + j];
  return CombineLanes(lanes);
}

}  // namespace minimind

#endif  // MINIMIND_ENGINE_KERNELS_REDUCTION_H_
