// Exact conversions between f32 and the 16-bit float formats weights and KV entries are stored
// in (IEEE binary16 "F16" and bfloat16 "BF16"), as plain C++ that GCC vectorises without F16C.
//
// Contract: widening (F16/BF16 -> F32) is exact for every input, including subnormals, ±0, ±inf
// and NaN (payload kept). Narrowing (F32 -> F16/BF16) rounds to nearest, ties to even, overflows
// to ±inf and keeps NaN a NaN. All functions are pure and thread-safe. Widening F16 subnormals
// relies on the default floating-point environment (denormals not flushed to zero).
#ifndef MINIMIND_ENGINE_KERNELS_FLOAT_CONVERT_H_
#define MINIMIND_ENGINE_KERNELS_FLOAT_CONVERT_H_

#include <bit>
#include <cstdint>

namespace minimind {

inline float BF16ToF32(uint16_t bits) {
  return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16);
}

inline float F16ToF32(uint16_t bits) {
  const uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
  const uint32_t magnitude = bits & 0x7fffu;
  // Placing the f16 exponent and mantissa in the low bits of an f32 and multiplying by 2^112
  // (the difference of the exponent biases, 127 - 15) rescales exactly; f16 subnormals become
  // f32 subnormals first, so they need no separate branch. Inf and NaN (exponent 31) come out
  // with exponent 143 and their mantissa intact; OR-ing in all exponent bits makes them inf/NaN
  // again. Branch-free, so loops of it vectorise.
  const float scaled = std::bit_cast<float>(magnitude << 13) * 0x1p112f;
  const uint32_t inf_or_nan = magnitude >= 0x7c00u ? 0x7f800000u : 0u;
  return std::bit_cast<float>(std::bit_cast<uint32_t>(scaled) | inf_or_nan | sign);
}

inline uint16_t F32ToBF16(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u) {  // NaN: truncate, forcing a quiet-NaN bit.
    return static_cast<uint16_t>((bits >> 16) | 0x0040u);
  }
  const uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>((bits + rounding) >> 16);
}

inline uint16_t F32ToF16(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const uint32_t magnitude = bits & 0x7fffffffu;
  if (magnitude > 0x7f800000u) return sign | 0x7e00u | ((magnitude >> 13) & 0x3ffu);  // NaN
  if (magnitude >= 0x477ff000u) return sign | 0x7c00u;  // Rounds to a value ≥ 65520: inf.
  if (magnitude < 0x38800000u) {
    // Below the smallest f16 normal (2^-14): the result is subnormal (or zero). Adding 0.5
    // aligns the f16 subnormal grid (steps of 2^-24) with the f32 mantissa's last bit, so the
    // FPU's own round-to-nearest-even does the rounding.
    const float shifted = std::bit_cast<float>(magnitude) + 0.5f;
    return sign | static_cast<uint16_t>(std::bit_cast<uint32_t>(shifted) - 0x3f000000u);
  }
  // Normal: rebias the exponent (127 -> 15) and round the 13 dropped mantissa bits to even.
  const uint32_t rounding = 0xfffu + ((magnitude >> 13) & 1u);
  return sign | static_cast<uint16_t>((magnitude - 0x38000000u + rounding) >> 13);
}

}  // namespace minimind

#endif  // MINIMIND_ENGINE_KERNELS_FLOAT_CONVERT_H_
