// Float4/Int4: 4-wide GCC/Clang vector types (SSE2 on x86-64, NEON on Arm) for the few sampling
// loops the auto-vectorizer handles badly — comparisons, selects and max, whose predicated scalar
// form GCC either leaves scalar or blows up. Lane-wise IEEE operations, so a vector result is
// bit-identical to the same scalar expression. Header-only, stateless.
#ifndef MINIMIND_ENGINE_SAMPLING_VECTOR4_H_
#define MINIMIND_ENGINE_SAMPLING_VECTOR4_H_

#include <cstdint>
#include <cstring>

namespace minimind {

using Float4 = float __attribute__((vector_size(16)));
using Int4 = int32_t __attribute__((vector_size(16)));

inline Float4 Load4(const float* data) {
  Float4 vector;
  std::memcpy(&vector, data, sizeof(vector));
  return vector;
}

inline void Store4(Float4 vector, float* data) { std::memcpy(data, &vector, sizeof(vector)); }

inline Float4 Broadcast4(float value) { return Float4{value, value, value, value}; }

// Lane-wise `a > b ? a : b` (for NaN-free input, the maximum).
inline Float4 Max4(Float4 a, Float4 b) { return a > b ? a : b; }

inline bool AnyLane(Int4 mask) { return (mask[0] | mask[1] | mask[2] | mask[3]) != 0; }

}  // namespace minimind

#endif  // MINIMIND_ENGINE_SAMPLING_VECTOR4_H_
