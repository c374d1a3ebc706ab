// What the weight storage type (--weight-dtype, engine/model/weight_conversion.h) costs in
// accuracy and buys in decode speed.
//
// BM_Accuracy/model/dtype (one iteration each; deterministic): log-probabilities with the matmul
// weights converted to dtype (f16, bf16, int8, q8_0) against the same model with f32 weights.
//   model 0: models/minimind-serve-tiny (the demo model, stored f32) on its committed held-out
//            slice (eval/heldout_sample.json: 4 windows, 1,020 predicted positions);
//   model 1: a random MiniMind2-Small checkpoint (llama, hidden 512, 8 layers, 8/2 heads, FFN
//            1408, vocab 6400, seed 42 as kv_bench, but stored f32 so no conversion is exact)
//            prefilling 1,000 uniformly random tokens.
// Counters, as kv_bench's BM_Accuracy: max_dlogprob = max over positions and the whole vocabulary
// of |logprob_dtype - logprob_f32|; max_dlogprob_greedy = the same for the f32 argmax token only;
// greedy_agree = fraction of positions whose argmax equals f32's; ppl / ppl_f32 = perplexity of
// the window's actual next tokens with dtype / f32 weights (meaningful for the held-out slice).
//
// BM_Decode/dtype/threads: forward_bench's BM_Decode (batch 1, one token at position 128 after a
// 128-token prompt, wall-clock) on the random MiniMind2-Small (model 1) with weights converted to
// dtype (f32, f16, bf16, int8, q8_0), 1 and 2 threads. (dtype indices: 0 f32 ... 4 q8_0.)
// BM_Prefill/dtype: a 512-token prompt from an empty cache on the same model, 2 threads.
//
//   cmake --build BUILD --target weight_dtype_bench && cd BUILD
//   bench/weight_dtype_bench --benchmark_filter=BM_Accuracy
//   bench/weight_dtype_bench --benchmark_filter=BM_Decode --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true   (one command line)
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "engine/kernels/softmax.h"
#include "engine/model/checkpoint_loader.h"
#include "engine/model/contiguous_kv_sequence.h"
#include "engine/model/forward.h"
#include "engine/model/random_checkpoint.h"
#include "engine/model/weight_conversion.h"
#include "nlohmann/json.hpp"

namespace minimind {
namespace {

constexpr DType kDTypes[] = {DType::kF32, DType::kF16, DType::kBF16, DType::kQ8, DType::kQ8A8};
constexpr int64_t kPromptLength = 128;
constexpr int64_t kRandomTokens = 1000;
constexpr int64_t kPrefillLength = 512;

std::filesystem::path DemoModelDir() {
  return std::filesystem::path(MINIMIND_TEST_DATA_DIR).parent_path().parent_path() / "models" /
         "minimind-serve-tiny";
}

// The random MiniMind2-Small checkpoint, written to a temporary directory and loaded (the weights
// stay memory-mapped after the files are removed).
absl::StatusOr<Model> LoadSmall() {
  RandomCheckpointOptions options = MiniMind2SmallShape();
  options.max_position_embeddings = 32768;
  options.seed = 42;
  options.dtype = DType::kF32;  // So that f16 (and bf16) conversions are not exact.
  const std::filesystem::path directory =
      std::filesystem::temp_directory_path() / absl::StrCat("minimind_weight_bench_", getpid());
  const absl::Status written = WriteRandomCheckpoint(options, directory.string());
  absl::StatusOr<Model> loaded =
      written.ok() ? LoadModel(directory.string()) : absl::StatusOr<Model>(written);
  std::error_code ignored;
  std::filesystem::remove_all(directory, ignored);
  return loaded;
}

absl::StatusOr<Model> Converted(const Model& model, DType dtype) {
  Model converted = model;
  if (absl::Status status = ConvertMatMulWeights(dtype, converted); !status.ok()) return status;
  return converted;
}

// Log-probabilities ([positions, vocab]) of every position of every window.
std::vector<float> LogProbs(const Model& model, const std::vector<std::vector<int32_t>>& windows) {
  absl::StatusOr<ModelRunner> runner = ModelRunner::Create(model);
  std::vector<float> out;
  if (!runner.ok()) return out;
  for (const std::vector<int32_t>& tokens : windows) {
    ContiguousKvSequence kv(runner->kv_shape());
    const ForwardSequence input{
        .tokens = tokens, .start_position = 0, .kv = &kv, .logits = LogitsMode::kAllPositions};
    const absl::StatusOr<ForwardLogits> logits = runner->Forward({&input, 1});
    if (!logits.ok()) return {};
    const int64_t vocab = logits->vocab_size();
    // The last position predicts past the window: skipped, as the held-out perplexity does.
    for (int64_t r = 0; r + 1 < logits->num_rows(0); ++r) {
      const size_t at = out.size();
      out.resize(at + vocab);
      LogSoftmax(logits->Row(0, r).data(), vocab, &out[at]);
    }
  }
  return out;
}

void BM_Accuracy(benchmark::State& state) {
  const bool demo = state.range(0) == 0;
  const DType dtype = kDTypes[state.range(1)];
  state.SetLabel(absl::StrCat(demo ? "minimind-serve-tiny held-out" : "MiniMind2-Small random", " ",
                              WeightDTypeFlagName(dtype)));
  absl::StatusOr<Model> model = demo ? LoadModel(DemoModelDir().string()) : LoadSmall();
  if (!model.ok()) {
    state.SkipWithError(std::string(model.status().message()).c_str());
    return;
  }
  std::vector<std::vector<int32_t>> windows;
  if (demo) {
    std::ifstream file(DemoModelDir() / "eval" / "heldout_sample.json");
    const nlohmann::json golden = nlohmann::json::parse(file);
    for (const nlohmann::json& window : golden["windows"]) {
      windows.push_back(window.get<std::vector<int32_t>>());
    }
  } else {
    std::mt19937_64 rng(7);
    std::uniform_int_distribution<int32_t> token(
        0, static_cast<int32_t>(model->config.vocab_size) - 1);
    windows.emplace_back(kRandomTokens + 1);
    for (int32_t& t : windows.back()) t = token(rng);
  }
  absl::StatusOr<Model> reference_model = Converted(*model, DType::kF32);
  absl::StatusOr<Model> tested_model = Converted(*model, dtype);
  if (!reference_model.ok() || !tested_model.ok()) {
    state.SkipWithError("conversion failed");
    return;
  }
  std::vector<float> reference;
  std::vector<float> tested;
  for (auto _ : state) {
    reference = LogProbs(*reference_model, windows);
    tested = LogProbs(*tested_model, windows);
  }
  const int64_t vocab = model->config.vocab_size;
  if (reference.empty() || reference.size() != tested.size()) {
    state.SkipWithError("forward failed");
    return;
  }
  const int64_t positions = static_cast<int64_t>(reference.size()) / vocab;
  double max_dlogprob = 0.0;
  double max_greedy = 0.0;
  int64_t agree = 0;
  std::vector<int32_t> targets;
  for (const std::vector<int32_t>& window : windows) {
    targets.insert(targets.end(), window.begin() + 1, window.end());
  }
  double sum_logprob = 0.0;
  double sum_logprob_f32 = 0.0;
  for (int64_t p = 0; p < positions; ++p) {
    const float* ref = &reference[p * vocab];
    const float* got = &tested[p * vocab];
    for (int64_t v = 0; v < vocab; ++v) {
      max_dlogprob = std::max(max_dlogprob, static_cast<double>(std::fabs(ref[v] - got[v])));
    }
    const int64_t ref_argmax = std::max_element(ref, ref + vocab) - ref;
    const int64_t got_argmax = std::max_element(got, got + vocab) - got;
    max_greedy =
        std::max(max_greedy, static_cast<double>(std::fabs(ref[ref_argmax] - got[ref_argmax])));
    agree += ref_argmax == got_argmax;
    sum_logprob += got[targets[p]];
    sum_logprob_f32 += ref[targets[p]];
  }
  state.counters["positions"] = static_cast<double>(positions);
  state.counters["max_dlogprob"] = max_dlogprob;
  state.counters["max_dlogprob_greedy"] = max_greedy;
  state.counters["greedy_agree"] = static_cast<double>(agree) / static_cast<double>(positions);
  state.counters["ppl"] = std::exp(-sum_logprob / static_cast<double>(positions));
  state.counters["ppl_f32"] = std::exp(-sum_logprob_f32 / static_cast<double>(positions));
}
BENCHMARK(BM_Accuracy)
    ->ArgNames({"model", "dtype"})
    ->ArgsProduct({{0, 1}, {1, 2, 3, 4}})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

// A runner of the random MiniMind2-Small with weights converted to dtype, or the error.
absl::StatusOr<ModelRunner> SmallRunner(DType dtype, int64_t num_threads) {
  absl::StatusOr<Model> model = LoadSmall();
  if (model.ok()) model = Converted(*model, dtype);
  if (!model.ok()) return model.status();
  return ModelRunner::Create(*model,
                             ModelRunnerOptions{.num_threads = static_cast<int>(num_threads)});
}

// Token ids 0..length-1 scattered over MiniMind's vocabulary.
std::vector<int32_t> SpreadPrompt(int64_t length) {
  std::vector<int32_t> prompt(length);
  for (int64_t i = 0; i < length; ++i) prompt[i] = static_cast<int32_t>((i * 2654435761u) % 6400);
  return prompt;
}

void BM_Decode(benchmark::State& state) {
  const DType dtype = kDTypes[state.range(0)];
  const int64_t num_threads = state.range(1);
  state.SetLabel(
      absl::StrCat("minimind2_small ", WeightDTypeFlagName(dtype), " threads=", num_threads));
  absl::StatusOr<ModelRunner> runner = SmallRunner(dtype, num_threads);
  if (!runner.ok()) {
    state.SkipWithError(runner.status().ToString().c_str());
    return;
  }
  ContiguousKvSequence kv(runner->kv_shape());
  const std::vector<int32_t> prompt = SpreadPrompt(kPromptLength);
  const ForwardSequence prefill{.tokens = prompt, .kv = &kv, .logits = LogitsMode::kNone};
  if (absl::Status status = runner->Forward({&prefill, 1}).status(); !status.ok()) {
    state.SkipWithError(status.ToString().c_str());
    return;
  }
  const std::vector<int32_t> next = {17};
  // Every iteration decodes position 128 again, so the context length stays fixed.
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
}
void BM_Prefill(benchmark::State& state) {
  const DType dtype = kDTypes[state.range(0)];
  state.SetLabel(absl::StrCat("minimind2_small ", WeightDTypeFlagName(dtype), " threads=2"));
  absl::StatusOr<ModelRunner> runner = SmallRunner(dtype, 2);
  if (!runner.ok()) {
    state.SkipWithError(runner.status().ToString().c_str());
    return;
  }
  ContiguousKvSequence kv(runner->kv_shape());
  const std::vector<int32_t> prompt = SpreadPrompt(kPrefillLength);
  const ForwardSequence input{.tokens = prompt, .kv = &kv, .logits = LogitsMode::kLastPosition};
  for (auto _ : state) {
    absl::StatusOr<ForwardLogits> logits = runner->Forward({&input, 1});
    if (!logits.ok()) state.SkipWithError(logits.status().ToString().c_str());
    benchmark::DoNotOptimize(logits);
  }
  state.counters["tok/s"] = benchmark::Counter(static_cast<double>(kPrefillLength),
                                               benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Prefill)
    ->ArgName("dtype")
    ->DenseRange(0, 4)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

BENCHMARK(BM_Decode)
    ->ArgNames({"dtype", "threads"})
    ->ArgsProduct({{0, 1, 2, 3, 4}, {1, 2}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace minimind
