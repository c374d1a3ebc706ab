// Rotary position embedding, NeoX / rotate_half layout: element i of a head is paired with
// element i + head_dim/2. The caller supplies the cos/sin row of the token's position (see
// engine/model/rope_table.h, which also folds YaRN's attention factor into both).
//
// Each output element is two products and one sum of its own inputs, so results depend on
// nothing but the head vector and the position. Pure function; thread-safe.
#ifndef MINIMIND_ENGINE_KERNELS_ROPE_H_
#define MINIMIND_ENGINE_KERNELS_ROPE_H_

#include <cstdint>

namespace minimind {

// Rotates `head` ([head_dim], head_dim even) in place, for i < head_dim/2:
//   out[i]            = x[i] * cos[i] - x[i + head_dim/2] * sin[i]
//   out[i + head_dim/2] = x[i + head_dim/2] * cos[i] + x[i] * sin[i]
// cos, sin: [head_dim / 2].
void ApplyRope(const float* cos, const float* sin, int64_t head_dim, float* head);

}  // namespace minimind

#endif  // MINIMIND_ENGINE_KERNELS_ROPE_H_
