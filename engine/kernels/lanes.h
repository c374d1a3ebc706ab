// Lanes: eight f32 values as one GCC/Clang vector value — reduction.h's eight partial sums made
// explicit. It compiles to one AVX register when the kernels are built for AVX2 (two SSE
// registers otherwise). GCC 12 does not reliably keep arrays of plain-loop accumulators in
// registers (it spills them, or vectorises across the wrong loop, costing ~3x); this type it does.
// Lane-wise + - * / are single IEEE f32 operations, never fused (-ffp-contract=off), so a Lanes
// holds exactly what `float lanes[8]` would: using it changes no result.
// Header-only, for the kernels' .cc files (built with -Wno-psabi: Lanes is passed by value only
// between inline functions, so GCC's note that its ABI differs without AVX is moot).
#ifndef MINIMIND_ENGINE_KERNELS_LANES_H_
#define MINIMIND_ENGINE_KERNELS_LANES_H_

#include <cstdint>
#include <cstring>

#include "engine/kernels/reduction.h"

namespace minimind {

using Lanes = float __attribute__((vector_size(kDotLanes * sizeof(float))));
using Bits = uint32_t __attribute__((vector_size(kDotLanes * sizeof(uint32_t))));
using IntLanes = int32_t __attribute__((vector_size(kDotLanes * sizeof(int32_t))));
using HalfBits = uint16_t __attribute__((vector_size(kDotLanes * sizeof(uint16_t))));

// source[0..8) as lanes (no alignment needed).
inline Lanes LoadLanes(const float* source) {
  Lanes lanes;
  std::memcpy(&lanes, source, sizeof(lanes));
  return lanes;
}

// destination[0..8) = lanes (no alignment needed).
inline void StoreLanes(const Lanes& lanes, float* destination) {
  std::memcpy(destination, &lanes, sizeof(lanes));
}

// reduction.h's CombineLanes of the eight lanes.
inline float CombineLaneVector(const Lanes& lanes) {
  float values[kDotLanes];
  StoreLanes(lanes, values);
  return CombineLanes(values);
}

// Lane k of the result = CombineLaneVector(sums[k]), bit for bit, for eight vectors at once: the
// same additions of the same pairs (CombineLanes' tree: lanes j and j+4, then the pairs two
// apart, then the last two), done for all eight by transposing shuffles instead of eight
// stores and 56 scalar additions.
inline Lanes CombineEightLaneVectors(const Lanes (&sums)[kDotLanes]) {
  // Level 1: t_j = l_j + l_{j+4}. Pairs (k, k+4) share a vector: [t0..t3 of k | t0..t3 of k+4].
  Lanes level1[4];
  for (int k = 0; k < 4; ++k) {
    const Lanes low = __builtin_shuffle(sums[k], sums[k + 4], IntLanes{0, 1, 2, 3, 8, 9, 10, 11});
    const Lanes high =
        __builtin_shuffle(sums[k], sums[k + 4], IntLanes{4, 5, 6, 7, 12, 13, 14, 15});
    level1[k] = low + high;
  }
  // Level 2: u0 = t0 + t2, u1 = t1 + t3. From level1[k] and level1[k+2] (k = 0, 1):
  // [u0 u1 of k, u0 u1 of k+2 | u0 u1 of k+4, u0 u1 of k+6].
  Lanes level2[2];
  for (int k = 0; k < 2; ++k) {
    const Lanes even =
        __builtin_shuffle(level1[k], level1[k + 2], IntLanes{0, 1, 8, 9, 4, 5, 12, 13});
    const Lanes odd =
        __builtin_shuffle(level1[k], level1[k + 2], IntLanes{2, 3, 10, 11, 6, 7, 14, 15});
    level2[k] = even + odd;
  }
  // Level 3: u0 + u1, lanes in key order 0..7.
  const Lanes first = __builtin_shuffle(level2[0], level2[1], IntLanes{0, 8, 2, 10, 4, 12, 6, 14});
  const Lanes second = __builtin_shuffle(level2[0], level2[1], IntLanes{1, 9, 3, 11, 5, 13, 7, 15});
  return first + second;
}

}  // namespace minimind

#endif  // MINIMIND_ENGINE_KERNELS_LANES_H_
