// Multi-tenant fairness of the engine: tenant B's time to first token alone vs while tenant A
// floods the engine. MiniMind2-Small shape (llama, hidden 512, 8 layers, 8 q / 2 kv heads, FFN
// 1408, vocab 6400) with random F16 weights and the byte tokenizer; f32 KV in 16-token blocks,
// 256 MB; the default limits (64 running, 256 prefill tokens per step); no prefix cache.
//
// BM_TenantTtft/fair:F/burst:X — per iteration, on one engine:
//   1. idle: B submits one request (128-token prompt, 16 greedy new tokens) alone;
//   2. flood: A submits 64 concurrent requests (128-token prompts, 128 new tokens each);
//      burst:0 — B submits once all of A's 64 are decoding (A holds every batch slot);
//      burst:1 — B submits right after A's 64 (A's 8,192 prompt tokens still queued);
//   3. A's requests are cancelled once B has its first token.
//   fair:1 = EngineOptions::fair_tenants (the default), fair:0 = FIFO across tenants (the
//   policy before tenants existed). Manual time = B's TTFT under the flood. Counters:
//     idle_ttft_ms, flood_ttft_ms, ratio = flood / idle.
//
//   cmake --build build/release --target tenant_fairness_bench
//   MINIMIND_BENCH_THREADS=2 build/release/bench/tenant_fairness_bench --benchmark_repetitions=5
// MINIMIND_BENCH_THREADS=T sets EngineOptions::forward_threads (default: every usable CPU, as the
// server's --threads default).

#include <cstdint>
#include <cstdlib>
#include <memory>
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
#include "engine/runtime/usable_cpus.h"
#include "engine/scheduler/engine.h"

namespace minimind {
namespace {

constexpr int64_t kPromptLength = 128;
constexpr int32_t kVictimNewTokens = 16;
constexpr int32_t kFloodNewTokens = 128;
constexpr int kFloodRequests = 64;

const ModelBundle& SmallBundle() {
  static const ModelBundle* bundle = [] {
    RandomCheckpointOptions options = MiniMind2SmallShape();
    options.max_position_embeddings = 4096;
    options.seed = 1;
    return new ModelBundle(bench::LoadRandomBundle(options, "tenant_fairness_bench"));
  }();
  return *bundle;
}

std::unique_ptr<Engine> MakeEngine(bool fair) {
  EngineOptions options;
  options.kv.element_type = KvElementType::kF32;
  options.kv.memory_bytes = int64_t{256} << 20;
  options.fair_tenants = fair;
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

std::vector<int32_t> Prompt(uint64_t seed) { return bench::Prompt(seed, kPromptLength); }

// Tells when the first token arrived and when the request finished.
class FloodSink : public GenerationSink {
 public:
  void OnDelta(const TokenDelta&) override {
    absl::MutexLock lock(&mutex_);
    first_token_ = true;
  }
  void OnFinish(absl::StatusOr<GenerationResult> result) override {
    absl::MutexLock lock(&mutex_);
    if (!result.ok()) std::abort();
    result_ = *std::move(result);
    first_token_ = true;
    done_ = true;
  }
  void WaitFirstToken() {
    absl::MutexLock lock(&mutex_);
    mutex_.Await(absl::Condition(&first_token_));
  }
  GenerationResult Wait() {
    absl::MutexLock lock(&mutex_);
    mutex_.Await(absl::Condition(&done_));
    return result_;
  }

 private:
  absl::Mutex mutex_;
  bool first_token_ = false;
  bool done_ = false;
  GenerationResult result_;
};

GenerationRequest Request(std::string tenant, std::string id, uint64_t seed, int32_t max_tokens) {
  GenerationRequest request;
  request.request_id = std::move(id);
  request.tenant = std::move(tenant);
  request.prompt_tokens = Prompt(seed);
  request.params.temperature = 0.0f;
  request.params.seed = 1;
  request.params.max_tokens = max_tokens;
  request.params.ignore_eos = true;
  request.use_prefix_cache = false;
  return request;
}

// B's time to first token for one request.
double VictimTtftSeconds(Engine& engine, const std::string& id, uint64_t seed) {
  auto sink = std::make_shared<FloodSink>();
  if (!engine.Submit(Request("b", id, seed, kVictimNewTokens), sink).ok()) std::abort();
  return absl::ToDoubleSeconds(sink->Wait().time_to_first_token);
}

void BM_TenantTtft(benchmark::State& state) {
  const bool fair = state.range(0) == 1;
  const bool burst = state.range(1) == 1;
  std::unique_ptr<Engine> engine = MakeEngine(fair);
  double idle_seconds = 0, flood_seconds = 0;
  int64_t iteration = 0;
  for (auto _ : state) {
    const std::string prefix = absl::StrCat(iteration, "-");
    idle_seconds += VictimTtftSeconds(*engine, prefix + "idle", 1000 * iteration + 999);
    std::vector<std::shared_ptr<FloodSink>> flood;
    for (int i = 0; i < kFloodRequests; ++i) {
      flood.push_back(std::make_shared<FloodSink>());
      GenerationRequest request =
          Request("a", absl::StrCat(prefix, "a", i), 1000 * iteration + i, kFloodNewTokens);
      if (!engine->Submit(std::move(request), flood.back()).ok()) std::abort();
    }
    if (!burst) {
      for (const auto& sink : flood) sink->WaitFirstToken();
    }
    const double seconds = VictimTtftSeconds(*engine, prefix + "b", 1000 * iteration + 998);
    state.SetIterationTime(seconds);
    flood_seconds += seconds;
    engine->CancelAll();
    for (const auto& sink : flood) sink->Wait();
    ++iteration;
  }
  state.counters["idle_ttft_ms"] = 1e3 * idle_seconds / static_cast<double>(iteration);
  state.counters["flood_ttft_ms"] = 1e3 * flood_seconds / static_cast<double>(iteration);
  state.counters["ratio"] = flood_seconds / idle_seconds;
}
BENCHMARK(BM_TenantTtft)
    ->ArgNames({"fair", "burst"})
    ->ArgsProduct({{1, 0}, {0, 1}})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

}  // namespace
}  // namespace minimind
