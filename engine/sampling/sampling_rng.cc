#include "engine/sampling/sampling_rng.h"

namespace minimind {
namespace {

uint64_t RotateLeft(uint64_t value, int bits) { return (value << bits) | (value >> (64 - bits)); }

}  // namespace

uint64_t SplitMix64(uint64_t& state) {
  state += 0x9e3779b97f4a7c15ull;
  uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

SamplingRng::SamplingRng(uint64_t seed) {
  // splitmix64 never yields four zero outputs in a row, so the state is never all zero.
  for (uint64_t& word : state_) word = SplitMix64(seed);
}

SamplingRng SamplingRng::FromState(const std::array<uint64_t, 4>& state) {
  SamplingRng rng;
  rng.state_ = state;
  return rng;
}

uint64_t SamplingRng::NextUint64() {
  const uint64_t result = RotateLeft(state_[1] * 5, 7) * 9;
  const uint64_t shifted = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= shifted;
  state_[3] = RotateLeft(state_[3], 45);
  return result;
}

}  // namespace minimind
