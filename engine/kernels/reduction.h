// The one reduction order every kernel uses, so each output element is a fixed function of its
// inputs alone — never of batch size, batch position, prefill chunking or how many outputs are
// computed together: the engine's determinism promise rests on it.
//
// A reduction over an inner dimension of n terms t_0 .. t_{n-1} (the products of a dot product,
// RMSNorm's squares, the exponentials of a softmax) runs kDotLanes = 8 independent partial sums:
// lane j adds t_j, t_{j+8}, t_{j+16}, ... in increasing index order, starting from +0. The lanes
// are then combined by the fixed tree
//   ((s0 + s4) + (s2 + s6)) + ((s1 + s5) + (s3 + s7)),
// which is what an 8-wide register reduces to by halving (a later SIMD implementation must keep
// it). Every multiply and add is a separately rounded f32 operation: the kernels are compiled
// with -ffp-contract=off and never with -ffast-math, so the compiler can neither fuse nor
// reassociate. The 8 lanes map onto one AVX register, so vectorising changes no result.
// (Attention's weighted sum of values, a reduction over positions, is sequential in position
// order instead: see attention.h.)
// Pure functions; thread-safe.
#ifndef MINIMIND_ENGINE_KERNELS_REDUCTION_H_
#define MINIMIND_ENGINE_KERNELS_REDUCTION_H_

#include <cstdint>

namespace minimind {

inline constexpr int kDotLanes = 8;

inline float CombineLanes(const float (&lanes)[kDotLanes]) {
  return ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6])) +
         ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7]));
}

// Σ a[i] * b[i] over i < n in the fixed order above.
inline float Dot(const float* a, const float* b, int64_t n) {
  float lanes[kDotLanes] = {};
  int64_t i = 0;
  for (; i + kDotLanes <= n; i += kDotLanes) {
    for (int j = 0; j < kDotLanes; ++j) lanes[j] += a[i + j] * b[i + j];
  }
  for (int j = 0; i + j < n; ++j) lanes[j] += a[i + j] * b[i + j];
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
