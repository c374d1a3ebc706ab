// Per-target (Highway) building blocks of every kernel: reduction.h's eight partial sums as one
// `Lanes` value, whatever the target's vector width, and the 8-lane exponential.
//
// A Lanes holds exactly what `float lanes[8]` would: one 8-lane vector on AVX2 and AVX-512
// (capped to 8 lanes), two 4-lane vectors on SSE4 and on EMU128 (Highway's scalar-code target).
// MulAdd is the one fused multiply-add of reduction.h's contract: the hardware FMA where the
// target has it (AVX2, AVX-512), else std::fma per lane (correctly rounded, so the same bits);
// every other operation is one IEEE f32 operation per lane. Results are therefore bitwise the
// same on every target. Include after hwy/highway.h, inside a foreach_target.h translation unit.
#if defined(MINIMIND_ENGINE_KERNELS_LANES_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef MINIMIND_ENGINE_KERNELS_LANES_INL_H_
#undef MINIMIND_ENGINE_KERNELS_LANES_INL_H_
#else
#define MINIMIND_ENGINE_KERNELS_LANES_INL_H_
#endif

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "engine/kernels/reduction.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace minimind {
namespace HWY_NAMESPACE {

namespace hn = hwy::HWY_NAMESPACE;

using LaneTag = hn::CappedTag<float, kDotLanes>;
using LaneVector = hn::Vec<LaneTag>;
inline constexpr size_t kVectorLanes = hn::MaxLanes(LaneTag());
inline constexpr int kVectorsPerLanes = kDotLanes / static_cast<int>(kVectorLanes);
static_assert(kVectorsPerLanes * kVectorLanes == kDotLanes);

// True where MulAdd is one hardware instruction.
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2
inline constexpr bool kHardwareFma = true;
#else
inline constexpr bool kHardwareFma = false;
#endif

struct Lanes {
  LaneVector v[kVectorsPerLanes];
};

HWY_INLINE Lanes ZeroLanes() {
  Lanes lanes;
  for (int k = 0; k < kVectorsPerLanes; ++k) lanes.v[k] = hn::Zero(LaneTag());
  return lanes;
}

HWY_INLINE Lanes SetLanes(float value) {
  Lanes lanes;
  for (int k = 0; k < kVectorsPerLanes; ++k) lanes.v[k] = hn::Set(LaneTag(), value);
  return lanes;
}

// source[0..8) as lanes (no alignment needed).
HWY_INLINE Lanes LoadLanes(const float* source) {
  Lanes lanes;
  for (int k = 0; k < kVectorsPerLanes; ++k) {
    lanes.v[k] = hn::LoadU(LaneTag(), source + k * kVectorLanes);
  }
  return lanes;
}

// 8 bfloat16 bit patterns widened exactly (a 16-bit shift).
HWY_INLINE Lanes LoadLanesBF16(const uint16_t* source) {
  const hn::RebindToUnsigned<LaneTag> du32;
  const hn::Rebind<uint16_t, LaneTag> du16;
  Lanes lanes;
  for (int k = 0; k < kVectorsPerLanes; ++k) {
    const auto bits = hn::PromoteTo(du32, hn::LoadU(du16, source + k * kVectorLanes));
    lanes.v[k] = hn::BitCast(LaneTag(), hn::ShiftLeft<16>(bits));
  }
  return lanes;
}

// 8 IEEE binary16 bit patterns widened exactly, as float_convert.h's F16ToF32 does: on AVX2 and
// AVX-512 by the F16C instruction (one per 8 lanes), elsewhere by integer operations and one exact
// scaling. The same value on every target for every non-NaN input; a NaN stays a NaN (F16C quiets
// a signalling NaN, the integer path keeps its payload as it is).
HWY_INLINE Lanes LoadLanesF16(const uint16_t* source) {
  const LaneTag d;
  Lanes lanes;
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2
  const hn::Rebind<hwy::float16_t, LaneTag> df16;
  const auto* halves = reinterpret_cast<const hwy::float16_t*>(source);
  for (int k = 0; k < kVectorsPerLanes; ++k) {
    lanes.v[k] = hn::PromoteTo(d, hn::LoadU(df16, halves + k * kVectorLanes));
  }
#else
  const hn::RebindToSigned<LaneTag> di32;
  const hn::Rebind<uint16_t, LaneTag> du16;
  for (int k = 0; k < kVectorsPerLanes; ++k) {
    const auto bits = hn::BitCast(di32, hn::PromoteTo(hn::RebindToUnsigned<LaneTag>(),
                                                      hn::LoadU(du16, source + k * kVectorLanes)));
    const auto sign = hn::ShiftLeft<16>(hn::And(bits, hn::Set(di32, 0x8000)));
    const auto magnitude = hn::And(bits, hn::Set(di32, 0x7fff));
    const auto scaled = hn::Mul(hn::BitCast(d, hn::ShiftLeft<13>(magnitude)), hn::Set(d, 0x1p112f));
    const auto inf_or_nan =
        hn::IfThenElseZero(hn::Gt(magnitude, hn::Set(di32, 0x7bff)), hn::Set(di32, 0x7f800000));
    lanes.v[k] = hn::BitCast(d, hn::Or(hn::Or(hn::BitCast(di32, scaled), inf_or_nan), sign));
  }
#endif
  return lanes;
}

// destination[0..8) = lanes (no alignment needed).
HWY_INLINE void StoreLanes(const Lanes& lanes, float* destination) {
  for (int k = 0; k < kVectorsPerLanes; ++k) {
    hn::StoreU(lanes.v[k], LaneTag(), destination + k * kVectorLanes);
  }
}

// Lane-wise fma(a, b, sum): the product added to the sum with one rounding.
HWY_INLINE LaneVector MulAddVector(LaneVector a, LaneVector b, LaneVector sum) {
  if constexpr (kHardwareFma) {
    return hn::MulAdd(a, b, sum);
  } else {
    const LaneTag d;
    HWY_ALIGN float a_values[kVectorLanes], b_values[kVectorLanes], sums[kVectorLanes];
    hn::Store(a, d, a_values);
    hn::Store(b, d, b_values);
    hn::Store(sum, d, sums);
    for (size_t j = 0; j < kVectorLanes; ++j) sums[j] = std::fma(a_values[j], b_values[j], sums[j]);
    return hn::Load(d, sums);
  }
}

HWY_INLINE Lanes MulAdd(const Lanes& a, const Lanes& b, const Lanes& sum) {
  Lanes result;
  for (int k = 0; k < kVectorsPerLanes; ++k) result.v[k] = MulAddVector(a.v[k], b.v[k], sum.v[k]);
  return result;
}

HWY_INLINE Lanes Add(const Lanes& a, const Lanes& b) {
  Lanes result;
  for (int k = 0; k < kVectorsPerLanes; ++k) result.v[k] = hn::Add(a.v[k], b.v[k]);
  return result;
}

HWY_INLINE Lanes Mul(const Lanes& a, const Lanes& b) {
  Lanes result;
  for (int k = 0; k < kVectorsPerLanes; ++k) result.v[k] = hn::Mul(a.v[k], b.v[k]);
  return result;
}

// The 8 int8 codes at `codes`, dequantized: float(q) * scale, lane-wise (exact widening, then
// one f32 multiply, as matmul_q8.h's DequantizeRowQ8).
HWY_INLINE Lanes LoadLanesQ8(const unsigned char* codes, const Lanes& scale) {
  const hn::Rebind<int8_t, LaneTag> d8;
  const hn::Rebind<int32_t, LaneTag> d32;
  Lanes lanes;
  for (int k = 0; k < kVectorsPerLanes; ++k) {
    const auto bytes = hn::LoadU(d8, reinterpret_cast<const int8_t*>(codes) + k * kVectorLanes);
    lanes.v[k] = hn::ConvertTo(LaneTag(), hn::PromoteTo(d32, bytes));
  }
  return Mul(lanes, scale);
}

// reduction.h's CombineLanes of the eight lanes.
HWY_INLINE float CombineLaneVector(const Lanes& lanes) {
  float values[kDotLanes];
  StoreLanes(lanes, values);
  return CombineLanes(values);
}

// Lane k of the result = CombineLaneVector(sums[k]), bit for bit, for eight sums at once: the
// same additions of the same pairs (lanes j and j+4, then the pairs two apart, then the last
// two). On 8-lane vectors by transposing shuffles instead of eight stores and 56 scalar adds.
HWY_INLINE Lanes CombineEightLaneVectors(const Lanes (&sums)[kDotLanes]) {
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2
  {
    const LaneTag d;
    const hn::Repartition<double, LaneTag> d64;
    // Level 1: t_j = l_j + l_{j+4}; level1[k] = [t0..t3 of k | t0..t3 of k+4].
    LaneVector level1[4];
    for (int k = 0; k < 4; ++k) {
      level1[k] = hn::Add(hn::ConcatLowerLower(d, sums[k + 4].v[0], sums[k].v[0]),
                          hn::ConcatUpperUpper(d, sums[k + 4].v[0], sums[k].v[0]));
    }
    // Level 2: u0 = t0 + t2, u1 = t1 + t3, per 128-bit block:
    // [u0 u1 of k, u0 u1 of k+2 | u0 u1 of k+4, u0 u1 of k+6].
    LaneVector level2[2];
    for (int k = 0; k < 2; ++k) {
      const auto a = hn::BitCast(d64, level1[k]);
      const auto b = hn::BitCast(d64, level1[k + 2]);
      level2[k] = hn::Add(hn::BitCast(d, hn::InterleaveLower(d64, a, b)),
                          hn::BitCast(d, hn::InterleaveUpper(d64, a, b)));
    }
    // Level 3: u0 + u1, lanes in key order 0..7.
    const LaneVector first = hn::OddEven(hn::DupEven(level2[1]), level2[0]);
    const LaneVector second = hn::OddEven(level2[1], hn::DupOdd(level2[0]));
    Lanes result;
    result.v[0] = hn::Add(first, second);
    return result;
  }
#else
  float combined[kDotLanes];
  for (int k = 0; k < kDotLanes; ++k) combined[k] = CombineLaneVector(sums[k]);
  return LoadLanes(combined);
#endif
}

// e^x per lane; the method and its accuracy are described in exp.h.
HWY_INLINE LaneVector ExpVector(LaneVector x) {
  const LaneTag d;
  const hn::RebindToSigned<LaneTag> di;
  constexpr float kLog2E = 1.44269504088896341f;
  constexpr float kLn2High = 0.693359375f;  // 0x1.63p-1: 9 significant bits.
  constexpr float kLn2Low = -2.12194440e-4f;
  constexpr float kRoundToInteger = 12582912.0f;   // 1.5 · 2^23: adding it rounds to an integer.
  constexpr float kMaxInput = 88.72283935546875f;  // The largest x with e^x < FLT_MAX (rounded).
  constexpr float kMinInput = -104.0f;             // e^-104 < half the smallest subnormal.
  // Clamp so that n stays in [-150, 128] and every step below is finite (NaN passes through).
  const auto too_large = hn::Gt(x, hn::Set(d, kMaxInput));
  const auto clamped = hn::IfThenElse(hn::Lt(x, hn::Set(d, kMinInput)), hn::Set(d, kMinInput),
                                      hn::IfThenElse(too_large, hn::Set(d, kMaxInput), x));
  const auto round = hn::Set(d, kRoundToInteger);
  const auto n = hn::Sub(hn::Add(hn::Mul(clamped, hn::Set(d, kLog2E)), round), round);
  const auto r =
      hn::Sub(hn::Sub(clamped, hn::Mul(n, hn::Set(d, kLn2High))), hn::Mul(n, hn::Set(d, kLn2Low)));
  // Separate multiplies and adds (no FMA): the polynomial's bits are the same on every target.
  auto p = hn::Set(d, 1.0f / 5040.0f);
  p = hn::Add(hn::Mul(p, r), hn::Set(d, 1.0f / 720.0f));
  p = hn::Add(hn::Mul(p, r), hn::Set(d, 1.0f / 120.0f));
  p = hn::Add(hn::Mul(p, r), hn::Set(d, 1.0f / 24.0f));
  p = hn::Add(hn::Mul(p, r), hn::Set(d, 1.0f / 6.0f));
  p = hn::Add(hn::Mul(p, r), hn::Set(d, 0.5f));
  p = hn::Add(hn::Mul(p, r), hn::Set(d, 1.0f));
  p = hn::Add(hn::Mul(p, r), hn::Set(d, 1.0f));
  // 2^n = 2^half · 2^(n − half), each factor a normal float for n in [-150, 128].
  const auto whole = hn::ConvertTo(di, n);
  const auto half = hn::ShiftRight<1>(whole);
  const auto bias = hn::Set(di, 127);
  const auto scale_a = hn::BitCast(d, hn::ShiftLeft<23>(hn::Add(half, bias)));
  const auto scale_b = hn::BitCast(d, hn::ShiftLeft<23>(hn::Add(hn::Sub(whole, half), bias)));
  auto result = hn::Mul(hn::Mul(p, scale_a), scale_b);
  result = hn::IfThenElse(too_large, hn::Set(d, HUGE_VALF), result);
  return hn::IfThenElse(hn::IsNaN(x), x, result);  // NaN in, NaN out.
}

HWY_INLINE Lanes ExpLanes(const Lanes& x) {
  Lanes result;
  for (int k = 0; k < kVectorsPerLanes; ++k) result.v[k] = ExpVector(x.v[k]);
  return result;
}

}  // namespace HWY_NAMESPACE
}  // namespace minimind
HWY_AFTER_NAMESPACE();

#endif  // MINIMIND_ENGINE_KERNELS_LANES_INL_H_
