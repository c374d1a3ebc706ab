#include "engine/sampling/portable_math.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>

#include "engine/sampling/vector4.h"

namespace minimind {
namespace {

// Cephes-style expf/logf (range reduction by ln 2 split into an exact high part and a low
// correction, then a short polynomial). Written with plain arithmetic so that it inlines into
// loops and vectorizes, and so that every operation is an exactly specified IEEE operation.
constexpr float kLog2E = 1.44269504088896341f;
constexpr float kLn2High = 0.693359375f;  // Few mantissa bits: n * kLn2High is exact.
constexpr float kLn2Low = -2.12194440e-4f;
// Where this implementation stops (e^88 = 1.65e38; the float range ends at 88.72).
constexpr float kExpMax = 88.0f;

// Four lanes at a time, written with explicit vector selects: left to itself GCC predicates every
// operation of the scalar form and the loop runs several times slower. Inputs must not be NaN
// (PortableExp handles it).
inline Float4 Exp4(Float4 x) {
  const Float4 min = Broadcast4(kPortableExpMin);
  const Float4 max = Broadcast4(kExpMax);
  const Float4 clamped = x < min ? min : (x > max ? max : x);
  // n = floor(x * log2(e) + 0.5), with the floor written as truncation plus a correction so that
  // it needs no libm call. clamped in [-87, 88] gives n in [-126, 127]: 2^n is a normal float.
  const Float4 t = clamped * kLog2E + 0.5f;
  const Int4 truncated = __builtin_convertvector(t, Int4);
  // A true comparison lane is -1, so adding it subtracts one.
  const Int4 n = truncated + (__builtin_convertvector(truncated, Float4) > t);
  const Float4 n_float = __builtin_convertvector(n, Float4);
  Float4 r = clamped - n_float * kLn2High;
  r = r - n_float * kLn2Low;
  const Float4 r2 = r * r;
  Float4 p = Broadcast4(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r2 + r;
  p = p + 1.0f;
  const Float4 scale = reinterpret_cast<Float4>((n + 127) << 23);
  const Float4 result = p * scale;
  return x < min ? Broadcast4(0.0f)
                 : (x > max ? Broadcast4(std::numeric_limits<float>::infinity()) : result);
}

float BitsToFloat(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

uint32_t FloatToBits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

}  // namespace

float PortableExp(float x) {
  if (x != x) return x;
  // The vector kernel on one lane, so scalar and vector results can never drift apart.
  return Exp4(Broadcast4(x))[0];
}

float PortableLog(float x) {
  if (x != x || x < 0.0f) return std::numeric_limits<float>::quiet_NaN();
  if (x < std::numeric_limits<float>::min()) return -std::numeric_limits<float>::infinity();
  if (x == std::numeric_limits<float>::infinity()) return x;
  // x = m * 2^e with m in [sqrt(1/2), sqrt(2)).
  const uint32_t bits = FloatToBits(x);
  int32_t e = static_cast<int32_t>((bits >> 23) & 0xff) - 126;
  float m = BitsToFloat((bits & 0x007fffffu) | 0x3f000000u);  // In [0.5, 1).
  constexpr float kSqrtHalf = 0.707106781186547524f;
  if (m < kSqrtHalf) {
    e -= 1;
    m = m + m - 1.0f;
  } else {
    m = m - 1.0f;
  }
  const float z = m * m;
  float y = 7.0376836292e-2f;
  y = y * m - 1.1514610310e-1f;
  y = y * m + 1.1676998740e-1f;
  y = y * m - 1.2420140846e-1f;
  y = y * m + 1.4249322787e-1f;
  y = y * m - 1.6668057665e-1f;
  y = y * m + 2.0000714765e-1f;
  y = y * m - 2.4999993993e-1f;
  y = y * m + 3.3333331174e-1f;
  y = y * m * z;
  const float e_float = static_cast<float>(e);
  y = y + e_float * kLn2Low;
  y = y - 0.5f * z;
  float result = m + y;
  result = result + e_float * kLn2High;
  return result;
}

void PortableExpShifted(absl::Span<const float> x, float shift, absl::Span<float> out) {
  const float* in = x.data();
  float* result = out.data();
  const size_t size = x.size();
  const Float4 shift4 = Broadcast4(shift);
  size_t i = 0;
  for (; i + 4 <= size; i += 4) Store4(Exp4(Load4(in + i) - shift4), result + i);
  for (; i < size; ++i) result[i] = Exp4(Broadcast4(in[i] - shift))[0];
}

double SumPortableExpShifted(absl::Span<const float> x, float shift) {
  // Weights are computed in blocks (vectorized), then added into kLanes partial sums (lane j takes
  // the elements i with i % kLanes == j, in index order) that are combined pairwise at the end.
  // The order is fixed by this code, not by the vector width the compiler chose.
  constexpr size_t kBlock = 256;
  constexpr size_t kLanes = 8;
  float weights[kBlock];
  double lanes[kLanes] = {};
  const size_t size = x.size();
  size_t begin = 0;
  for (; begin + kBlock <= size; begin += kBlock) {
    PortableExpShifted(x.subspan(begin, kBlock), shift, absl::MakeSpan(weights, kBlock));
    for (size_t i = 0; i < kBlock; i += kLanes) {
      for (size_t lane = 0; lane < kLanes; ++lane) lanes[lane] += weights[i + lane];
    }
  }
  const size_t rest = size - begin;
  PortableExpShifted(x.subspan(begin, rest), shift, absl::MakeSpan(weights, rest));
  for (size_t i = 0; i < rest; ++i) lanes[(begin + i) % kLanes] += weights[i];
  for (size_t width = kLanes / 2; width > 0; width /= 2) {
    for (size_t lane = 0; lane < width; ++lane) lanes[lane] += lanes[lane + width];
  }
  return lanes[0];
}

}  // namespace minimind
