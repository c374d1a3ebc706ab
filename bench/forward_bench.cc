// Forward-pass throughput on CPU for two MiniMind shapes with random F16 weights, written with
// WriteRandomCheckpoint to a temporary directory and loaded (memory-mapped) with LoadModel:
//   minimind2_small: llama, hidden 512, 8 layers, 8 q / 2 kv heads (head_dim 64),
//                    intermediate 1408, vocab 6400 (MiniMind2-Small)
//   minimind3:       qwen3, hidden 768, 8 layers, 8 q / 4 kv heads, head_dim 96,
//                    intermediate 2432, vocab 6400 (minimind-3)
// Every benchmark takes the runner's thread count (ModelRunnerOptions::num_threads) as its
// "threads" argument, 1 and 2.
// BM_Prefill: one prompt of "tokens" tokens (128 or 512), logits for the last position only
// ("tok/s" = prompt tokens).
// BM_Decode: batch 1, one token at position 128 after a 128-token prompt, logits for it.
// BM_DecodeBatch: "batch" sequences (8 or 32), each with its own 128-token prompt, decoding one
// token each per step (what the scheduler runs); "tok/s" = batch tokens per step.
// BM_DecodeLongContext: the same at 2,048 cached positions per sequence (and 128 to compare),
// batch 1 and 64, 2 threads, in a paged KvCache of f32, f16 or int8 elements.
// All use wall-clock time (UseRealTime): the default per-CPU-second rate would count both threads'
// CPU time and hide the gain of the worker pool. On a machine busy with other work, wall-clock
// figures are noisy; compare medians of repetitions.
//
//   cmake --build build/release --target forward_bench && cd build/release
//   bench/forward_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "engine/kernels/attention.h"
#include "engine/kv/kv_cache.h"
#include "engine/kv/kv_cache_config.h"
#include "engine/kv/paged_kv_sequence.h"
#include "engine/model/checkpoint_loader.h"
#include "engine/model/contiguous_kv_sequence.h"
#include "engine/model/forward.h"
#include "engine/model/random_checkpoint.h"

namespace minimind {
namespace {

constexpr int64_t kPromptLength = 128;

RandomCheckpointOptions ShapeOptions(int64_t shape) {
  RandomCheckpointOptions options = shape == 0 ? MiniMind2SmallShape() : Minimind3Shape();
  options.max_position_embeddings = 32768;
  options.seed = 42;
  return options;
}

// `count` values uniform in [-1, 1) from a fixed generator.
std::vector<float> RandomRows(int64_t count, uint32_t seed) {
  std::mt19937 generator(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> values(count);
  for (float& value : values) value = uniform(generator);
  return values;
}

const char* ShapeName(int64_t shape) { return shape == 0 ? "minimind2_small" : "minimind3"; }

// Writes the random checkpoint, loads it and deletes the files (the mapping keeps the weights).
absl::StatusOr<ModelRunner> MakeRunner(int64_t shape, int64_t num_threads) {
  const std::filesystem::path directory =
      std::filesystem::temp_directory_path() /
      absl::StrCat("minimind_forward_bench_", ShapeName(shape), "_", getpid());
  absl::Status written = WriteRandomCheckpoint(ShapeOptions(shape), directory.string());
  absl::StatusOr<Model> model =
      written.ok() ? LoadModel(directory.string()) : absl::StatusOr<Model>(written);
  std::error_code ignored;
  // The weights stay mapped after the files are unlinked.
  std::filesystem::remove_all(directory, ignored);
  if (!model.ok()) return model.status();
  return ModelRunner::Create(*model,
                             ModelRunnerOptions{.num_threads = static_cast<int>(num_threads)});
}

// The prompt of sequence `sequence` (sequences differ so that batched attention reads distinct
// caches).
std::vector<int32_t> Prompt(int64_t sequence = 0, int64_t length = kPromptLength) {
  std::vector<int32_t> tokens(length);
  for (int64_t i = 0; i < length; ++i) {
    tokens[i] = static_cast<int32_t>(((i + 131 * sequence) * 2654435761u) % 6400);
  }
  return tokens;
}

void SetLabel(benchmark::State& state) {
  state.SetLabel(absl::StrCat(ShapeName(state.range(0)), " threads=", state.range(1)));
}

void BM_Prefill(benchmark::State& state) {
  absl::StatusOr<ModelRunner> runner = MakeRunner(state.range(0), state.range(1));
  if (!runner.ok()) {
    state.SkipWithError(runner.status().ToString().c_str());
    return;
  }
  ContiguousKvSequence kv(runner->kv_shape());
  const int64_t length = state.range(2);
  const std::vector<int32_t> prompt = Prompt(0, length);
  const ForwardSequence input{
      .tokens = prompt, .start_position = 0, .kv = &kv, .logits = LogitsMode::kLastPosition};
  for (auto _ : state) {
    absl::StatusOr<ForwardLogits> logits = runner->Forward({&input, 1});
    if (!logits.ok()) state.SkipWithError(logits.status().ToString().c_str());
    benchmark::DoNotOptimize(logits);
  }
  state.counters["tok/s"] = benchmark::Counter(static_cast<double>(length),
                                               benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(
      absl::StrCat(ShapeName(state.range(0)), " threads=", state.range(1), " tokens=", length));
}
BENCHMARK(BM_Prefill)
    ->ArgNames({"shape", "threads", "tokens"})
    ->ArgsProduct({{0, 1}, {1, 2}, {128, 512}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_Decode(benchmark::State& state) {
  absl::StatusOr<ModelRunner> runner = MakeRunner(state.range(0), state.range(1));
  if (!runner.ok()) {
    state.SkipWithError(runner.status().ToString().c_str());
    return;
  }
  ContiguousKvSequence kv(runner->kv_shape());
  const std::vector<int32_t> prompt = Prompt();
  const ForwardSequence prefill{.tokens = prompt, .kv = &kv, .logits = LogitsMode::kNone};
  if (absl::Status status = runner->Forward({&prefill, 1}).status(); !status.ok()) {
    state.SkipWithError(status.ToString().c_str());
    return;
  }
  const std::vector<int32_t> next = {17};
  // Every iteration decodes position 128 again (the forward overwrites it), so the context
  // length stays fixed.
  const ForwardSequence decode{.tokens = next,
                               .start_position = kPromptLength,
                               .kv = &kv,
                               .logits = LogitsMode::kLastPosition};
  for (auto _ : state) {
    absl::StatusOr<ForwardLogits> logits = runner->Forward({&decode, 1});
    if (!logits.ok()) state.SkipWithError(logits.status().ToString().c_str());
    benchmark::DoNotOptimize(logits);
  }
  state.counters["tok/s"] = benchmark::Counter(1.0, benchmark::Counter::kIsIterationInvariantRate);
  SetLabel(state);
}
BENCHMARK(BM_Decode)
    ->ArgNames({"shape", "threads"})
    ->ArgsProduct({{0, 1}, {1, 2}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_DecodeBatch(benchmark::State& state) {
  absl::StatusOr<ModelRunner> runner = MakeRunner(state.range(0), state.range(1));
  if (!runner.ok()) {
    state.SkipWithError(runner.status().ToString().c_str());
    return;
  }
  const int64_t batch_size = state.range(2);
  std::vector<ContiguousKvSequence> kv;
  std::vector<std::vector<int32_t>> prompts;
  std::vector<ForwardSequence> prefill;
  kv.reserve(batch_size);
  for (int64_t s = 0; s < batch_size; ++s) {
    kv.emplace_back(runner->kv_shape());
    prompts.push_back(Prompt(s));
  }
  for (int64_t s = 0; s < batch_size; ++s) {
    prefill.push_back({.tokens = prompts[s], .kv = &kv[s], .logits = LogitsMode::kNone});
  }
  if (absl::Status status = runner->Forward(prefill).status(); !status.ok()) {
    state.SkipWithError(status.ToString().c_str());
    return;
  }
  // As in BM_Decode, every step rewrites position 128 of every sequence.
  std::vector<std::vector<int32_t>> next;
  std::vector<ForwardSequence> decode;
  for (int64_t s = 0; s < batch_size; ++s) next.push_back({static_cast<int32_t>(17 + s)});
  for (int64_t s = 0; s < batch_size; ++s) {
    decode.push_back({.tokens = next[s],
                      .start_position = kPromptLength,
                      .kv = &kv[s],
                      .logits = LogitsMode::kLastPosition});
  }
  for (auto _ : state) {
    absl::StatusOr<ForwardLogits> logits = runner->Forward(decode);
    if (!logits.ok()) state.SkipWithError(logits.status().ToString().c_str());
    benchmark::DoNotOptimize(logits);
  }
  state.counters["tok/s"] = benchmark::Counter(static_cast<double>(batch_size),
                                               benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(
      absl::StrCat(ShapeName(state.range(0)), " threads=", state.range(1), " batch=", batch_size));
}
BENCHMARK(BM_DecodeBatch)
    ->ArgNames({"shape", "threads", "batch"})
    ->ArgsProduct({{0, 1}, {1, 2}, {8, 32}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// The long-context path: `batch` sequences with `context` cached positions each in a paged
// KvCache of element type `kv` (0 f32, 1 f16, 2 int8; the service's store), decoding one token
// each per step at position `context` (rewritten every step, as in BM_DecodeBatch). The caches
// are filled with random keys and values instead of a prefill (64 x 2,048 prompt tokens would
// take most of a minute): attention costs the same for any values.
void BM_DecodeLongContext(benchmark::State& state) {
  absl::StatusOr<ModelRunner> runner = MakeRunner(/*shape=*/0, state.range(0));
  if (!runner.ok()) {
    state.SkipWithError(runner.status().ToString().c_str());
    return;
  }
  const int64_t batch_size = state.range(1);
  const int64_t context = state.range(2);
  constexpr KvElementType kTypes[] = {KvElementType::kF32, KvElementType::kF16,
                                      KvElementType::kInt8};
  constexpr const char* kTypeNames[] = {"f32", "f16", "int8"};
  const KvShape shape = runner->kv_shape();
  KvCacheConfig config{.shape = shape, .element_type = kTypes[state.range(3)], .block_size = 16};
  config.memory_bytes = batch_size * config.BlocksFor(context + 1) * config.BytesPerBlock();
  absl::StatusOr<KvCache> cache = KvCache::Create(config);
  if (!cache.ok()) {
    state.SkipWithError(cache.status().ToString().c_str());
    return;
  }
  const std::vector<float> keys = RandomRows(context * shape.row_size(), 1);
  const std::vector<float> values = RandomRows(context * shape.row_size(), 2);
  std::vector<std::unique_ptr<PagedKvSequence>> kv;
  for (int64_t s = 0; s < batch_size; ++s) {
    kv.push_back(cache->NewSequence());
    if (absl::Status status = kv.back()->Resize(context + 1); !status.ok()) {
      state.SkipWithError(status.ToString().c_str());
      return;
    }
    for (int64_t layer = 0; layer < shape.num_layers; ++layer) {
      kv.back()->Write(layer, 0, context, keys.data(), values.data());
    }
  }
  std::vector<std::vector<int32_t>> next;
  std::vector<ForwardSequence> decode;
  for (int64_t s = 0; s < batch_size; ++s) next.push_back({static_cast<int32_t>(17 + s)});
  for (int64_t s = 0; s < batch_size; ++s) {
    decode.push_back({.tokens = next[s],
                      .start_position = context,
                      .kv = kv[s].get(),
                      .logits = LogitsMode::kLastPosition});
  }
  for (auto _ : state) {
    absl::StatusOr<ForwardLogits> logits = runner->Forward(decode);
    if (!logits.ok()) state.SkipWithError(logits.status().ToString().c_str());
    benchmark::DoNotOptimize(logits);
  }
  state.counters["tok/s"] = benchmark::Counter(static_cast<double>(batch_size),
                                               benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(absl::StrCat("minimind2_small threads=", state.range(0), " batch=", batch_size,
                              " context=", context, " kv=", kTypeNames[state.range(3)]));
}
BENCHMARK(BM_DecodeLongContext)
    ->ArgNames({"threads", "batch", "context", "kv"})
    ->ArgsProduct({{2}, {1, 64}, {128, 2048}, {0, 1, 2}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace minimind
