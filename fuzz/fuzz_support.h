// Shared pieces of the fuzz targets: where the repository's data lives (for targets that need a
// real tokenizer or chat template) and a crash-on-violation check. A violated property is a
// finding: it aborts, so libFuzzer saves the input.
#ifndef MINIMIND_FUZZ_FUZZ_SUPPORT_H_
#define MINIMIND_FUZZ_FUZZ_SUPPORT_H_

#include <cstdio>
#include <cstdlib>
#include <string>

namespace minimind::fuzz {

// The shipped model's directory (tokenizer.json, tokenizer_config.json): MINIMIND_FUZZ_MODEL_DIR,
// else the path compiled in from the source tree.
inline std::string ModelDir() {
  if (const char* dir = std::getenv("MINIMIND_FUZZ_MODEL_DIR"); dir != nullptr) return dir;
  return MINIMIND_FUZZ_DEFAULT_MODEL_DIR;
}

[[noreturn]] inline void Violated(const char* property, const std::string& detail) {
  std::fprintf(stderr, "fuzz property violated: %s: %s\n", property, detail.c_str());
  std::abort();
}

}  // namespace minimind::fuzz

#endif  // MINIMIND_FUZZ_FUZZ_SUPPORT_H_
