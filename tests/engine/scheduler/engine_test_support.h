// Shared fixtures of the scheduler tests: a tiny random model with the project's byte tokenizer
// (written once per test binary into a temporary directory), a sink that records everything
// the engine sends, and a reference generator that runs a request alone through ModelRunner +
// Sampler + StopChecker with a contiguous f32 KV cache — no scheduler involved.
#ifndef MINIMIND_TESTS_ENGINE_SCHEDULER_ENGINE_TEST_SUPPORT_H_
#define MINIMIND_TESTS_ENGINE_SCHEDULER_ENGINE_TEST_SUPPORT_H_

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "engine/model/contiguous_kv_sequence.h"
#include "engine/model/forward.h"
#include "engine/model/model_bundle.h"
#include "engine/model/random_checkpoint.h"
#include "engine/sampling/sampler.h"
#include "engine/sampling/stop_checker.h"
#include "engine/sampling/token_history.h"
#include "engine/scheduler/engine.h"
#include "engine/tokenizer/byte_tokenizer_files.h"
#include "gtest/gtest.h"

namespace minimind::testing {

// The tiny model every scheduler test uses: qwen3, 2 layers, hidden 64, 4/2 heads of 16, byte
// tokenizer (259 ids, ids 0-2 special; 0 and 2 are end-of-sequence ids).
inline const ModelBundle& TinyBundle() {
  static const ModelBundle* bundle = [] {
    const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                      ("minimind_scheduler_test_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    absl::StatusOr<int64_t> vocab = WriteByteTokenizerFiles(dir.string());
    EXPECT_TRUE(vocab.ok()) << vocab.status();
    RandomCheckpointOptions options;
    options.vocab_size = *vocab;
    options.hidden_size = 64;
    options.num_layers = 2;
    options.num_heads = 4;
    options.num_kv_heads = 2;
    options.head_dim = 16;
    options.intermediate_size = 128;
    options.max_position_embeddings = 512;
    options.seed = 7;
    absl::Status written = WriteRandomCheckpoint(options, dir.string());
    EXPECT_TRUE(written.ok()) << written;
    absl::StatusOr<ModelBundle> loaded = LoadModelBundle({.model_path = dir.string()});
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    std::filesystem::remove_all(dir);  // The weights stay mapped.
    return new ModelBundle(*std::move(loaded));
  }();
  return *bundle;
}

inline EngineOptions TinyEngineOptions(int64_t kv_blocks, KvElementType type = KvElementType::kF32,
                                       int64_t block_size = 16) {
  EngineOptions options;
  options.kv.element_type = type;
  options.kv.block_size = block_size;
  KvCacheConfig probe = options.kv;
  probe.shape = {.num_layers = 2, .num_kv_heads = 2, .head_dim = 16};
  options.kv.memory_bytes = kv_blocks * probe.BytesPerBlock();
  options.eos_token_ids = TinyBundle().eos_token_ids;
  return options;
}

inline std::unique_ptr<Engine> MakeEngine(EngineOptions options) {
  absl::StatusOr<std::unique_ptr<Engine>> engine =
      Engine::Create(TinyBundle().model, TinyBundle().tokenizer, std::move(options));
  EXPECT_TRUE(engine.ok()) << engine.status();
  return engine.ok() ? *std::move(engine) : nullptr;
}

// Records what the engine sends; Wait blocks until OnFinish. Also checks the sink contract:
// no delta after the finish, exactly one finish.
class RecordingSink : public GenerationSink {
 public:
  void OnDelta(const TokenDelta& delta) override {
    absl::MutexLock lock(&mutex_);
    EXPECT_FALSE(finished_) << "OnDelta after OnFinish";
    for (int32_t id : delta.token_ids) tokens_.push_back(id);
    for (const SampledToken& sampled : delta.sampled) sampled_.push_back(sampled);
    text_ += delta.text;
    ++num_deltas_;
  }
  void OnFinish(absl::StatusOr<GenerationResult> result) override {
    absl::MutexLock lock(&mutex_);
    EXPECT_FALSE(finished_) << "OnFinish called twice";
    ++num_finishes_;
    finished_ = true;
    if (drop_kv && result.ok() && result->kv != nullptr) {
      dropped_kv_ = true;
      result->kv.reset();  // Released on the engine thread: the release is posted, not run.
    }
    result_ = std::move(result);
  }
  // Moves the retained KV out of a finished result (nullptr if none).
  std::shared_ptr<const KvHandle> TakeKv() {
    absl::MutexLock lock(&mutex_);
    if (!finished_ || !result_.ok()) return nullptr;
    return std::move(result_->kv);
  }
  bool dropped_kv() const {
    absl::MutexLock lock(&mutex_);
    return dropped_kv_;
  }
  // Set before Submit: OnFinish drops the result's KvHandle right away.
  bool drop_kv = false;
  const absl::StatusOr<GenerationResult>& Wait() {
    absl::MutexLock lock(&mutex_);
    mutex_.Await(absl::Condition(&finished_));
    return result_;
  }
  bool WaitFor(absl::Duration timeout) {
    absl::MutexLock lock(&mutex_);
    return mutex_.AwaitWithTimeout(absl::Condition(&finished_), timeout);
  }
  bool finished() const {
    absl::MutexLock lock(&mutex_);
    return finished_;
  }
  int num_deltas() const {
    absl::MutexLock lock(&mutex_);
    return num_deltas_;
  }
  int num_finishes() const {
    absl::MutexLock lock(&mutex_);
    return num_finishes_;
  }
  std::vector<int32_t> tokens() const {
    absl::MutexLock lock(&mutex_);
    return tokens_;
  }
  std::vector<SampledToken> sampled() const {
    absl::MutexLock lock(&mutex_);
    return sampled_;
  }
  std::string text() const {
    absl::MutexLock lock(&mutex_);
    return text_;
  }

 private:
  mutable absl::Mutex mutex_;
  bool finished_ = false;
  bool dropped_kv_ = false;
  int num_finishes_ = 0;
  int num_deltas_ = 0;
  std::vector<int32_t> tokens_;
  std::vector<SampledToken> sampled_;
  std::string text_;
  absl::StatusOr<GenerationResult> result_ = absl::UnknownError("not finished");
};

// Deterministic pseudo-random prompt of `length` byte tokens (ids 3..258).
inline std::vector<int32_t> MakePrompt(uint64_t seed, int64_t length) {
  std::vector<int32_t> prompt;
  uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
  for (int64_t i = 0; i < length; ++i) {
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    prompt.push_back(3 + static_cast<int32_t>((state * 0x2545F4914F6CDD1Dull) >> 33) % 256);
  }
  return prompt;
}

// The tokens and sampled entries of `request` run alone, token by token, without the engine.
struct ReferenceOutput {
  std::vector<int32_t> tokens;
  std::vector<SampledToken> sampled;
};
inline ReferenceOutput GenerateReference(const GenerationRequest& request) {
  const ModelBundle& bundle = TinyBundle();
  ReferenceOutput output;
  absl::StatusOr<ModelRunner> runner = ModelRunner::Create(bundle.model);
  EXPECT_TRUE(runner.ok());
  absl::StatusOr<Sampler> sampler = Sampler::Create(request.params);
  absl::StatusOr<StopChecker> stop =
      StopChecker::Create(request.params, bundle.tokenizer, bundle.eos_token_ids);
  EXPECT_TRUE(sampler.ok() && stop.ok());
  ContiguousKvSequence kv(runner->kv_shape());
  TokenHistory history(request.prompt_tokens);
  SamplingWorkspace workspace;
  std::vector<int32_t> feed = request.prompt_tokens;
  int64_t position = 0;
  while (true) {
    ForwardSequence sequence{.tokens = feed, .start_position = position, .kv = &kv};
    absl::StatusOr<ForwardLogits> logits = runner->Forward({&sequence, 1});
    EXPECT_TRUE(logits.ok()) << logits.status();
    position += static_cast<int64_t>(feed.size());
    absl::StatusOr<SampledToken> sampled = sampler->Sample(
        logits->Row(0, 0).subspan(0, bundle.sampling_vocab_size()), history, workspace);
    EXPECT_TRUE(sampled.ok());
    output.tokens.push_back(sampled->id);
    output.sampled.push_back(*sampled);
    history.AddOutput(sampled->id);
    absl::StatusOr<StopCheckResult> check = stop->Add(sampled->id);
    EXPECT_TRUE(check.ok());
    if (check->finish_reason.has_value()) break;
    feed = {sampled->id};
  }
  return output;
}

}  // namespace minimind::testing

#endif  // MINIMIND_TESTS_ENGINE_SCHEDULER_ENGINE_TEST_SUPPORT_H_
