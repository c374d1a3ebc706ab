// Portable exp/log for sampling: bitwise-identical results on every x86-64 (or other IEEE-754)
// machine, which libm does not promise. glibc, for one, picks an FMA or an SSE2 variant of
// expf/log at load time, and the two may round differently. Sampling decisions and reported
// logprobs must not depend on the host, so the sampler uses these instead.
//
// They use only IEEE-754 +, -, *, / and exact integer/bit operations in a fixed order, in a
// translation unit compiled with -ffp-contract=off (no fused multiply-add contraction). Accuracy
// is within 2 ulp of the exact result over the ranges below (tested against libm). Pure
// functions; thread-safe.
#ifndef MINIMIND_ENGINE_SAMPLING_PORTABLE_MATH_H_
#define MINIMIND_ENGINE_SAMPLING_PORTABLE_MATH_H_

#include "absl/types/span.h"

namespace minimind {

// e^x. Returns exactly 1 for 0 and exactly 0 for x < kPortableExpMin, so results are never
// subnormal (whose handling would depend on the CPU's flush-to-zero mode); +inf for x > 88
// (sampling only ever needs x <= 0). NaN for NaN.
float PortableExp(float x);
inline constexpr float kPortableExpMin = -87.0f;

// Natural logarithm of a positive normal float. NaN for negative or NaN input, -inf for
// zero and subnormals, +inf for +inf.
float PortableLog(float x);

// out[i] = PortableExp(x[i] - shift), vectorized. `out.size()` must equal `x.size()`; no x[i]
// may be NaN.
void PortableExpShifted(absl::Span<const float> x, float shift, absl::Span<float> out);

// Σ PortableExp(x[i] - shift), accumulated in double in a fixed order (eight interleaved partial
// sums, combined pairwise), so the result does not depend on the vector width the compiler
// chose. No x[i] may be NaN.
double SumPortableExpShifted(absl::Span<const float> x, float shift);

}  // namespace minimind

#endif  // MINIMIND_ENGINE_SAMPLING_PORTABLE_MATH_H_
