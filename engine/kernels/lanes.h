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

}  // namespace minimind

#endif  // MINIMIND_ENGINE_KERNELS_LANES_H_
