// The SwiGLU gate of the feed-forward layers: out[i] = silu(gate[i]) * up[i], with
// silu(x) = x / (1 + exp(-x)), all in f32. Elementwise, so each output depends only on its own
// inputs. Pure functions; thread-safe.
#ifndef MINIMIND_ENGINE_KERNELS_ACTIVATION_H_
#define MINIMIND_ENGINE_KERNELS_ACTIVATION_H_

#include <cstdint>

namespace minimind {

float Silu(float x);

// gate, up, out: [n]. `out` may alias `gate` or `up`.
void SwiGlu(const float* gate, const float* up, int64_t n, float* out);

}  // namespace minimind

#endif  // MINIMIND_ENGINE_KERNELS_ACTIVATION_H_
