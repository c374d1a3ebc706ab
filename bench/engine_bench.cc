// End-to-end engine throughput and latency on CPU, MiniMind2-Small shape (llama, hidden 512,
// 8 layers, 8 q / 2 kv heads, FFN 1408, vocab 6400) with random F16 weights written by
// WriteRandomCheckpoint and the project's byte tokenizer (259 ids; samplers see those, the model
// computes all 6400 logits). KV cache: f32, 16-token blocks, 256 MB.
//
// BM_DecodeThroughput/N/S: N concurrent requests, each a distinct 128-token prompt and 128
//   greedy new tokens (ignore_eos), submitted together; prefill budget S tokens per step (0: all
//   prompts in the first step). Per iteration (wall time = manual time):
//     tok_s         = N · 128 generated tokens / wall time of the whole run (prefill included)
//     decode_tok_s  = N · 127 / (wall time − the latest first-token time): the decode phase
//                     (meaningful for S = 0 only: with chunking, decodes overlap the prefill)
// BM_TimeToFirstToken/cached: a 2,000-token prompt whose first 1,950 tokens were sent just
//   before (so 1,936 = 121 full blocks are in the prefix cache); /uncached: the same prompt with
//   use_prefix_cache = false. Manual time = the request's time_to_first_token.
//
//   cmake --build build/release --target engine_bench && cd build/release
//   bench/engine_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
// MINIMIND_BENCH_WEIGHT_DTYPE=int8 (or f32, f16, bf16) converts the weights at load.
// MINIMIND_BENCH_THREADS=T sets EngineOptions::forward_threads (default: every usable CPU, as the
// server's --threads default).

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "bench/engine_bench_support.h"
#include "benchmark/benchmark.h"
#include "engine/model/model_bundle.h"
#include "engine/model/random_checkpoint.h"
#include "engine/model/weight_conversion.h"
#include "engine/runtime/usable_cpus.h"
#include "engine/scheduler/engine.h"

namespace minimind {
namespace {

constexpr int64_t kPromptLength = 128;
constexpr int32_t kNewTokens = 128;

const ModelBundle& SmallBundle() {
  static const ModelBundle* bundle = [] {
    RandomCheckpointOptions options = MiniMind2SmallShape();
    options.max_position_embeddings = 4096;
    options.seed = 1;
    // MINIMIND_BENCH_WEIGHT_DTYPE=f32|f16|bf16|int8 converts the weights at load (--weight-dtype).
    const char* weight_dtype_name = std::getenv("MINIMIND_BENCH_WEIGHT_DTYPE");
    absl::StatusOr<std::optional<DType>> weight_dtype =
        ParseWeightDType(weight_dtype_name == nullptr ? "auto" : weight_dtype_name);
    if (!weight_dtype.ok()) std::abort();
    return new ModelBundle(bench::LoadRandomBundle(options, "engine_bench", *weight_dtype));
  }();
  return *bundle;
}

std::unique_ptr<Engine> MakeEngine(int64_t max_step_tokens) {
  EngineOptions options;
  options.kv.element_type = KvElementType::kF32;
  options.kv.memory_bytes = int64_t{256} << 20;
  options.max_step_tokens = max_step_tokens;
  options.eos_token_ids = SmallBundle().eos_token_ids;
  options.forward_threads = UsableCpuCount();
  if (const char* threads = std::getenv("MINIMIND_BENCH_THREADS"); threads != nullptr) {
    options.forward_threads = std::atoi(threads);
  }
  absl::StatusOr<std::unique_ptr<Engine>> engine =
      Engine::Create(SmallBundle().model, SmallBundle().tokenizer, options);
  if (!engine.ok()) std::abort();
  return *std::move(engine);
}

using bench::Prompt;
using bench::ResultSink;

GenerationRequest Request(std::string id, std::vector<int32_t> prompt, int32_t max_tokens) {
  GenerationRequest request;
  request.request_id = std::move(id);
  request.prompt_tokens = std::move(prompt);
  request.params.temperature = 0.0f;
  request.params.seed = 1;
  request.params.max_tokens = max_tokens;
  request.params.ignore_eos = true;
  return request;
}

void BM_DecodeThroughput(benchmark::State& state) {
  const int64_t concurrency = state.range(0);
  // step_tokens 0: all prompts prefill in the first step, so the rest of the run is pure
  // decoding; otherwise the engine's prefill budget per step (256 is the default).
  const int64_t step_tokens = state.range(1);
  std::unique_ptr<Engine> engine =
      MakeEngine(step_tokens == 0 ? concurrency * kPromptLength : step_tokens);
  double total_seconds = 0, decode_seconds = 0;
  int64_t iteration = 0;
  for (auto _ : state) {
    std::vector<std::shared_ptr<ResultSink>> sinks;
    const absl::Time start = absl::Now();
    for (int64_t i = 0; i < concurrency; ++i) {
      sinks.push_back(std::make_shared<ResultSink>());
      GenerationRequest request = Request(absl::StrCat(iteration, "-", i),
                                          Prompt(iteration * 1000 + i, kPromptLength), kNewTokens);
      request.use_prefix_cache = false;
      if (!engine->Submit(std::move(request), sinks.back()).ok()) std::abort();
    }
    absl::Duration latest_first_token;
    for (const auto& sink : sinks) {
      latest_first_token = std::max(latest_first_token, sink->Wait().time_to_first_token);
    }
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    state.SetIterationTime(seconds);
    total_seconds += seconds;
    decode_seconds += seconds - absl::ToDoubleSeconds(latest_first_token);
    ++iteration;
  }
  state.counters["tok_s"] =
      static_cast<double>(concurrency * kNewTokens * iteration) / total_seconds;
  state.counters["decode_tok_s"] =
      static_cast<double>(concurrency * (kNewTokens - 1) * iteration) / decode_seconds;
}
BENCHMARK(BM_DecodeThroughput)
    ->ArgNames({"concurrent", "step_tokens"})
    ->ArgsProduct({{1, 8, 32, 64}, {0, 256}})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

void BM_TimeToFirstToken(benchmark::State& state) {
  const bool cached = state.range(0) == 1;
  std::unique_ptr<Engine> engine = MakeEngine(256);
  const std::vector<int32_t> prefix = Prompt(7, 1950);
  if (cached) {
    auto sink = std::make_shared<ResultSink>();
    if (!engine->Submit(Request("warm", prefix, 1), sink).ok()) std::abort();
    sink->Wait();
  }
  int64_t iteration = 0;
  int64_t cached_tokens = 0;
  for (auto _ : state) {
    // A fresh 50-token tail each time, so only the 1,950-token prefix can be cached.
    std::vector<int32_t> prompt = prefix;
    for (int32_t id : Prompt(100 + iteration, 50)) prompt.push_back(id);
    GenerationRequest request = Request(absl::StrCat("t", iteration), std::move(prompt), 1);
    request.use_prefix_cache = cached;
    auto sink = std::make_shared<ResultSink>();
    if (!engine->Submit(std::move(request), sink).ok()) std::abort();
    const GenerationResult result = sink->Wait();
    state.SetIterationTime(absl::ToDoubleSeconds(result.time_to_first_token));
    cached_tokens = result.cached_prompt_tokens;
    ++iteration;
  }
  state.counters["cached_prompt_tokens"] = static_cast<double>(cached_tokens);
}
BENCHMARK(BM_TimeToFirstToken)
    ->ArgName("cached")
    ->Arg(0)
    ->Arg(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace minimind
