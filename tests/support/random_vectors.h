// Reproducible random inputs for kernel tests and benchmarks: `n` standard-normal floats from a
// seeded std::mt19937 (the same values for a seed with the same standard library).
#ifndef MINIMIND_TESTS_SUPPORT_RANDOM_VECTORS_H_
#define MINIMIND_TESTS_SUPPORT_RANDOM_VECTORS_H_

#include <cstdint>
#include <random>
#include <vector>

namespace minimind::testing {

inline std::vector<float> RandomVector(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> values(n);
  for (float& value : values) value = normal(rng);
  return values;
}

}  // namespace minimind::testing

#endif  // MINIMIND_TESTS_SUPPORT_RANDOM_VECTORS_H_
