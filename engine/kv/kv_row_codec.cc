#include "engine/kv/kv_row_codec.h"

#include <cmath>
#include <cstdint>
#include <cstring>

#include "engine/kernels/float_convert.h"

namespace minimind {
namespace {

// `scale` > 0 and finite, so |value / scale| ≤ 127 (+ rounding). Dividing (not multiplying by a
// reciprocal) rounds once, so the code is the grid point nearest to value / scale. Adding and
// subtracting 1.5 · 2^23 rounds to an integer in the FPU's default mode (nearest, ties to even),
// exactly like std::nearbyint for |x| < 2^22, without a library call, so the loop vectorises.
inline int8_t QuantizeToInt8(float value, float scale) {
  constexpr float kRoundingShift = 0x1.8p23f;
  float code = (value / scale + kRoundingShift) - kRoundingShift;
  code = code > 127.0f ? 127.0f : code;
  code = code < -127.0f ? -127.0f : code;
  return code == code ? static_cast<int8_t>(code) : 0;  // NaN -> 0.
}

}  // namespace

void EncodeKvRow(KvElementType type, const float* row, int64_t head_dim, void* out, float* scale) {
  switch (type) {
    case KvElementType::kF32:
      std::memcpy(out, row, static_cast<size_t>(head_dim) * sizeof(float));
      return;
    case KvElementType::kBF16: {
      uint16_t* bits = static_cast<uint16_t*>(out);
      for (int64_t j = 0; j < head_dim; ++j) bits[j] = F32ToBF16(row[j]);
      return;
    }
    case KvElementType::kF16: {
      uint16_t* bits = static_cast<uint16_t*>(out);
      for (int64_t j = 0; j < head_dim; ++j) bits[j] = F32ToF16(row[j]);
      return;
    }
    case KvElementType::kInt8: {
      float max_abs = 0.0f;
      for (int64_t j = 0; j < head_dim; ++j) {
        const float magnitude = std::fabs(row[j]);
        if (magnitude > max_abs) max_abs = magnitude;  // NaN never compares greater.
      }
      const float row_scale = max_abs / 127.0f;
      *scale = row_scale;
      int8_t* codes = static_cast<int8_t*>(out);
      if (row_scale == 0.0f || !std::isfinite(row_scale)) {
        // All zeros (or an infinite element, which has no int8 encoding): store zeros.
        for (int64_t j = 0; j < head_dim; ++j) codes[j] = 0;
        if (!std::isfinite(row_scale)) *scale = 0.0f;
        return;
      }
      for (int64_t j = 0; j < head_dim; ++j) codes[j] = QuantizeToInt8(row[j], row_scale);
      return;
    }
  }
}

void DecodeKvRow(KvElementType type, const void* codes, float scale, int64_t head_dim, float* out) {
  switch (type) {
    case KvElementType::kF32:
      std::memcpy(out, codes, static_cast<size_t>(head_dim) * sizeof(float));
      return;
    case KvElementType::kBF16: {
      const uint16_t* bits = static_cast<const uint16_t*>(codes);
      for (int64_t j = 0; j < head_dim; ++j) out[j] = BF16ToF32(bits[j]);
      return;
    }
    case KvElementType::kF16: {
      const uint16_t* bits = static_cast<const uint16_t*>(codes);
      for (int64_t j = 0; j < head_dim; ++j) out[j] = F16ToF32(bits[j]);
      return;
    }
    case KvElementType::kInt8: {
      const int8_t* values = static_cast<const int8_t*>(codes);
      for (int64_t j = 0; j < head_dim; ++j) out[j] = static_cast<float>(values[j]) * scale;
      return;
    }
  }
}

}  // namespace minimind
