// SamplingRng: the per-request random number generator, defined bit for bit so that a seed
// yields the same draws on any machine, with any standard library, in any batch: xoshiro256**
// (Blackman & Vigna) with its 256-bit state filled by four outputs of splitmix64 from the seed,
// as the authors recommend. Uniform floats take the top 24 bits of one 64-bit output, so every
// value k / 2^24 (k = 0 .. 2^24 - 1) is equally likely and 1.0 is never returned.
//
// A small value type (32 bytes); not thread-safe; copying it forks the stream.
#ifndef MINIMIND_ENGINE_SAMPLING_SAMPLING_RNG_H_
#define MINIMIND_ENGINE_SAMPLING_SAMPLING_RNG_H_

#include <array>
#include <cstdint>

namespace minimind {

// One step of splitmix64: advances `state` and returns the next output.
uint64_t SplitMix64(uint64_t& state);

class SamplingRng {
 public:
  explicit SamplingRng(uint64_t seed);

  // The raw generator from an explicit state, for checking against the reference
  // implementation's published outputs. The state must not be all zero.
  static SamplingRng FromState(const std::array<uint64_t, 4>& state);

  uint64_t NextUint64();
  // Uniform in [0, 1) with 24 random bits.
  float NextFloat() { return static_cast<float>(NextUint64() >> 40) * 0x1.0p-24f; }

 private:
  SamplingRng() = default;

  std::array<uint64_t, 4> state_;
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_SAMPLING_SAMPLING_RNG_H_
