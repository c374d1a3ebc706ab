// Conversion of KV rows between f32 and a KV cache's element type. One row is the head_dim
// elements of one kv head at one position; each row is encoded on its own, so the stored bits
// of a position never depend on which other positions were written with it.
//
//   f32:       stored as is (bitwise).
//   bf16/f16:  round to nearest, ties to even (engine/kernels/float_convert.h).
//   int8:      scale = max_j |x_j| / 127 (f32 division), code_j = x_j / scale rounded to
//              nearest, ties to even, clamped to [-127, 127]; a row of zeros has scale 0 and codes
//              0. Decoded value = code · scale (what AttendQuery computes). NaN elements become 0.
// Pure functions; thread-safe.
#ifndef MINIMIND_ENGINE_KV_KV_ROW_CODEC_H_
#define MINIMIND_ENGINE_KV_KV_ROW_CODEC_H_

#include <cstdint>

#include "engine/kernels/attention.h"

namespace minimind {

// Encodes row[0, head_dim) into `out` (head_dim elements of `type`); for kInt8 also writes the
// row's scale to *scale (ignored otherwise, may be null).
void EncodeKvRow(KvElementType type, const float* row, int64_t head_dim, void* out, float* scale);

// Decodes head_dim elements of `type` (with `scale` for kInt8) into f32.
void DecodeKvRow(KvElementType type, const void* codes, float scale, int64_t head_dim, float* out);

}  // namespace minimind

#endif  // MINIMIND_ENGINE_KV_KV_ROW_CODEC_H_
