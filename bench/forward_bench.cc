// Forward-pass throughput on CPU for two MiniMind shapes with random F16 weights, written with
// WriteRandomCheckpoint to a temporary directory and loaded (memory-mapped) with LoadModel:
//   minimind2_small: llama, hidden 512, 8 layers, 8 q / 2 kv heads (head_dim 64),
//                    intermediate 1408, vocab 6400 (MiniMind2-Small)
//   minimind3:       qwen3, hidden 768, 8 layers, 8 q / 4 kv heads, head_dim 96,
//                    intermediate 2432, vocab 6400 (minimind-3)
// BM_Prefill: one 128-token prompt, logits for the last position only ("tok/s" = prompt tokens).
// BM_Decode: batch 1, one token at position 128 after a 128-token prompt, logits for it.
// "tok/s" counts per CPU second (Google Benchmark's default), so a busy machine shows in the
// wall-clock column, not in the rate.
//
//   cmake --build build/release --target forward_bench && cd build/release
//   bench/forward_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "engine/model/checkpoint_loader.h"
#include "engine/model/contiguous_kv_sequence.h"
#include "engine/model/forward.h"
#include "engine/model/random_checkpoint.h"

namespace minimind {
namespace {

constexpr int64_t kPromptLength = 128;

RandomCheckpointOptions ShapeOptions(int64_t shape) {
  RandomCheckpointOptions options;
  options.vocab_size = 6400;
  options.num_layers = 8;
  options.num_heads = 8;
  options.max_position_embeddings = 32768;
  options.dtype = DType::kF16;
  options.seed = 42;
  if (shape == 0) {
    options.architecture = Architecture::kLlama;
    options.hidden_size = 512;
    options.num_kv_heads = 2;
    options.head_dim = 64;
    options.intermediate_size = 1408;
  } else {
    options.architecture = Architecture::kQwen3;
    options.hidden_size = 768;
    options.num_kv_heads = 4;
    options.head_dim = 96;
    options.intermediate_size = 2432;
  }
  return options;
}

const char* ShapeName(int64_t shape) { return shape == 0 ? "minimind2_small" : "minimind3"; }

// Writes the random checkpoint, loads it and deletes the files (the mapping keeps the weights).
absl::StatusOr<ModelRunner> MakeRunner(int64_t shape) {
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
  return ModelRunner::Create(*model);
}

std::vector<int32_t> Prompt() {
  std::vector<int32_t> tokens(kPromptLength);
  for (int64_t i = 0; i < kPromptLength; ++i)
    tokens[i] = static_cast<int32_t>((i * 2654435761u) % 6400);
  return tokens;
}

void BM_Prefill(benchmark::State& state) {
  absl::StatusOr<ModelRunner> runner = MakeRunner(state.range(0));
  if (!runner.ok()) {
    state.SkipWithError(runner.status().ToString().c_str());
    return;
  }
  ContiguousKvSequence kv(runner->kv_shape());
  const std::vector<int32_t> prompt = Prompt();
  const ForwardSequence input{
      .tokens = prompt, .start_position = 0, .kv = &kv, .logits = LogitsMode::kLastPosition};
  for (auto _ : state) {
    absl::StatusOr<ForwardLogits> logits = runner->Forward({&input, 1});
    if (!logits.ok()) state.SkipWithError(logits.status().ToString().c_str());
    benchmark::DoNotOptimize(logits);
  }
  state.counters["tok/s"] = benchmark::Counter(static_cast<double>(kPromptLength),
                                               benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(ShapeName(state.range(0)));
}
BENCHMARK(BM_Prefill)->ArgName("shape")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_Decode(benchmark::State& state) {
  absl::StatusOr<ModelRunner> runner = MakeRunner(state.range(0));
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
  state.SetLabel(ShapeName(state.range(0)));
}
BENCHMARK(BM_Decode)->ArgName("shape")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace minimind
