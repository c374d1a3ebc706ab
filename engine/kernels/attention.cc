#include "engine/kernels/attention.h"

#include <algorithm>
#include <cstdint>

#include "absl/types/span.h"
#include "engine/kernels/float_convert.h"
#include "engine/kernels/reduction.h"
#include "engine/kernels/softmax.h"

namespace minimind {
namespace {

// The f32 row of position `t` of a run's keys or values (`base`, with `scales` for kInt8):
// the stored row itself for kF32, else `row` after widening into it.
const float* RowAsF32(const KvRun& run, const void* base, const float* scales, int64_t t,
                      int64_t head_dim, float* row) {
  const int64_t offset = t * run.stride;
  switch (run.type) {
    case KvElementType::kF32:
      return static_cast<const float*>(base) + offset;
    case KvElementType::kBF16: {
      const uint16_t* bits = static_cast<const uint16_t*>(base) + offset;
      for (int64_t j = 0; j < head_dim; ++j) row[j] = BF16ToF32(bits[j]);
      return row;
    }
    case KvElementType::kF16: {
      const uint16_t* bits = static_cast<const uint16_t*>(base) + offset;
      for (int64_t j = 0; j < head_dim; ++j) row[j] = F16ToF32(bits[j]);
      return row;
    }
    case KvElementType::kInt8: {
      const int8_t* codes = static_cast<const int8_t*>(base) + offset;
      const float scale = scales[t * run.scale_stride];
      for (int64_t j = 0; j < head_dim; ++j) row[j] = static_cast<float>(codes[j]) * scale;
      return row;
    }
  }
  return row;
}

}  // namespace

void AttendQuery(const float* query, int64_t head_dim, absl::Span<const KvRun> runs,
                 int64_t num_keys, float scale, float* scores, float* row, float* out) {
  int64_t position = 0;
  for (const KvRun& run : runs) {
    const int64_t count = std::min(run.num_positions, num_keys - position);
    for (int64_t t = 0; t < count; ++t) {
      const float* key = RowAsF32(run, run.keys, run.key_scales, t, head_dim, row);
      scores[position + t] = Dot(query, key, head_dim) * scale;
    }
    position += count;
    if (position == num_keys) break;
  }

  SoftmaxInPlace(scores, num_keys);

  std::fill(out, out + head_dim, 0.0f);
  position = 0;
  for (const KvRun& run : runs) {
    const int64_t count = std::min(run.num_positions, num_keys - position);
    for (int64_t t = 0; t < count; ++t) {
      const float* value = RowAsF32(run, run.values, run.value_scales, t, head_dim, row);
      const float prob = scores[position + t];
      for (int64_t j = 0; j < head_dim; ++j) out[j] += prob * value[j];
    }
    position += count;
    if (position == num_keys) break;
  }
}

}  // namespace minimind
