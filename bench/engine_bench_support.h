// What the engine-level benchmarks share: a random checkpoint of a released model's shape loaded
// as a ModelBundle (with the project's byte tokenizer), deterministic prompts over the byte ids,
// and a sink that waits for a request's result. Benchmarks abort on setup errors: there is no
// one to report them to.
#ifndef MINIMIND_BENCH_ENGINE_BENCH_SUPPORT_H_
#define MINIMIND_BENCH_ENGINE_BENCH_SUPPORT_H_

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "engine/base/dtype.h"
#include "engine/model/model_bundle.h"
#include "engine/model/random_checkpoint.h"
#include "engine/scheduler/generation_sink.h"
#include "engine/tokenizer/byte_tokenizer_files.h"

namespace minimind::bench {

// `options` written to a scratch directory with the byte tokenizer and loaded (weights converted
// to `weight_dtype` when set); the directory is removed, the weights stay mapped.
inline ModelBundle LoadRandomBundle(const RandomCheckpointOptions& options, absl::string_view name,
                                    std::optional<DType> weight_dtype = std::nullopt) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / absl::StrCat("minimind_", name, "_", getpid());
  std::filesystem::create_directories(dir);
  if (!WriteByteTokenizerFiles(dir.string()).ok()) std::abort();
  if (!WriteRandomCheckpoint(options, dir.string()).ok()) std::abort();
  absl::StatusOr<ModelBundle> loaded =
      LoadModelBundle({.model_path = dir.string(), .weight_dtype = weight_dtype});
  if (!loaded.ok()) std::abort();
  std::filesystem::remove_all(dir);
  return *std::move(loaded);
}

// `length` ids of the byte range [3, 259), the same for the same seed.
inline std::vector<int32_t> Prompt(uint64_t seed, int64_t length) {
  std::vector<int32_t> prompt;
  uint64_t state = seed * 0x9E3779B97F4A7C15ull + 12345;
  for (int64_t i = 0; i < length; ++i) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    prompt.push_back(3 + static_cast<int32_t>((state >> 33) % 256));
  }
  return prompt;
}

// Keeps a request's result; Wait blocks until it came. A failed request aborts the benchmark.
class ResultSink : public GenerationSink {
 public:
  void OnDelta(const TokenDelta&) override {}
  void OnFinish(absl::StatusOr<GenerationResult> result) override {
    absl::MutexLock lock(&mutex_);
    if (!result.ok()) std::abort();
    result_ = *std::move(result);
    done_ = true;
  }
  GenerationResult Wait() {
    absl::MutexLock lock(&mutex_);
    mutex_.Await(absl::Condition(&done_));
    return result_;
  }

 private:
  absl::Mutex mutex_;
  bool done_ = false;
  GenerationResult result_;
};

}  // namespace minimind::bench

#endif  // MINIMIND_BENCH_ENGINE_BENCH_SUPPORT_H_
