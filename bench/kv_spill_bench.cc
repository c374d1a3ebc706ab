// Resuming a 2,000-token session whose KV was spilled (the KV spill tier, issue 26): time to the
// first token of its next turn when the KV comes back from the spill file, against prefilling the
// whole history again. Shapes: MiniMind2-Small and minimind-3 (random F16 weights, 4,096-token
// context), f32 KV in 16-token blocks, 512 MB pool, every usable CPU.
//
// Setup per benchmark: one turn of a 1,990-token prompt and 10 new tokens retains its KV (1,999
// positions); KvSpillStore spills it to a file in a temporary directory (the server's path: the
// engine exports the blocks, the writer encodes and writes them) and the handle is dropped.
// Each iteration then runs the session's next turn (the history + 10 new tokens, 1 new token):
//   /restored:   KvSpillStore::Restore (read the file, check every CRC, import into the pool) then
//                the turn resuming from the imported handle; manual time = restore + TTFT.
//   /recomputed: the turn with no KV at all (prefix cache off); manual time = TTFT.
// Both must produce the same token (checked: the run aborts otherwise).
//
//   cmake --build build/release --target kv_spill_bench && cd build/release
//   bench/kv_spill_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
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
#include "service/sessions/kv_spill_store.h"

namespace minimind {
namespace {

constexpr int64_t kHistoryPrompt = 1990;
constexpr int32_t kHistoryReply = 10;
constexpr int64_t kNewTokens = 10;

const ModelBundle& Bundle(int64_t shape) {
  static const ModelBundle* bundles[2] = {nullptr, nullptr};
  if (bundles[shape] == nullptr) {
    RandomCheckpointOptions options = shape == 0 ? MiniMind2SmallShape() : Minimind3Shape();
    options.max_position_embeddings = 4096;
    options.seed = 1;
    bundles[shape] =
        new ModelBundle(bench::LoadRandomBundle(options, absl::StrCat("kv_spill_bench_", shape)));
  }
  return *bundles[shape];
}

using bench::Prompt;
using bench::ResultSink;

GenerationResult Run(Engine& engine, GenerationRequest request) {
  auto sink = std::make_shared<ResultSink>();
  if (!engine.Submit(std::move(request), sink).ok()) std::abort();
  return sink->Wait();
}

GenerationRequest Request(std::string id, std::vector<int32_t> prompt, int32_t max_tokens) {
  GenerationRequest request;
  request.request_id = std::move(id);
  request.prompt_tokens = std::move(prompt);
  request.params.temperature = 0.0f;
  request.params.max_tokens = max_tokens;
  request.params.ignore_eos = true;
  request.use_prefix_cache = false;
  return request;
}

void BM_ResumeTimeToFirstToken(benchmark::State& state) {
  const int64_t shape = state.range(0);
  const bool restored = state.range(1) == 1;
  EngineOptions options;
  options.kv.element_type = KvElementType::kF32;
  options.kv.memory_bytes = int64_t{512} << 20;
  options.eos_token_ids = Bundle(shape).eos_token_ids;
  options.forward_threads = UsableCpuCount();
  absl::StatusOr<std::unique_ptr<Engine>> created =
      Engine::Create(Bundle(shape).model, Bundle(shape).tokenizer, options);
  if (!created.ok()) std::abort();
  Engine& engine = **created;

  // The session's history, its KV spilled to a file.
  GenerationRequest first = Request("history", Prompt(1, kHistoryPrompt), kHistoryReply);
  first.retain_kv = true;
  GenerationResult history = Run(engine, first);
  std::vector<int32_t> turn = first.prompt_tokens;
  turn.insert(turn.end(), history.output_tokens.begin(), history.output_tokens.end());
  for (int32_t id : Prompt(2, kNewTokens)) turn.push_back(id);

  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    absl::StrCat("minimind_kv_spill_bench_dir_", getpid());
  std::filesystem::remove_all(dir);
  const KvCacheConfig& kv = engine.kv_config();
  absl::StatusOr<std::unique_ptr<KvSpillStore>> spill = KvSpillStore::Open(
      {.dir = dir.string(),
       .budget_bytes = int64_t{1} << 30,
       .layout = {.model_fingerprint = 1,
                  .element_type = kv.element_type,
                  .block_size = kv.block_size,
                  .shape = kv.shape,
                  .bytes_per_block = kv.BytesPerBlock()},
       .export_kv = [&engine](const KvHandle& handle) { return engine.ExportKv(handle); },
       .import_kv = [&engine](KvSpill data) { return engine.ImportKv(std::move(data)); }});
  if (!spill.ok()) std::abort();
  // The export (on the spill writer's thread, not the engine's): allocating the buffer and copying
  // the held blocks into it.
  std::vector<double> export_ms;
  for (int i = 0; i < 5; ++i) {
    const absl::Time start = absl::Now();
    if (!engine.ExportKv(*history.kv).ok()) std::abort();
    export_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
  }
  std::sort(export_ms.begin(), export_ms.end());
  (*spill)->Spill("session", std::move(history.kv));
  if (!(*spill)->Flush(absl::Seconds(60)) || (*spill)->stats().spilled_files != 1) std::abort();

  const std::vector<int32_t> expected = Run(engine, Request("reference", turn, 1)).output_tokens;
  int64_t iteration = 0;
  int64_t cached = 0;
  double restore_seconds = 0;
  for (auto _ : state) {
    GenerationRequest request = Request(absl::StrCat("turn-", iteration++), turn, 1);
    absl::Duration restore;
    if (restored) {
      const absl::Time start = absl::Now();
      request.resume = (*spill)->Restore("session", turn);
      restore = absl::Now() - start;
      if (request.resume == nullptr) std::abort();
    }
    const GenerationResult result = Run(engine, std::move(request));
    if (result.output_tokens != expected) std::abort();  // restored = recomputed, bit for bit
    state.SetIterationTime(absl::ToDoubleSeconds(restore + result.time_to_first_token));
    restore_seconds += absl::ToDoubleSeconds(restore);
    cached = result.cached_prompt_tokens;
  }
  state.counters["cached_prompt_tokens"] = static_cast<double>(cached);
  state.counters["restore_ms"] = 1000.0 * restore_seconds / static_cast<double>(iteration);
  state.counters["export_ms"] = export_ms[export_ms.size() / 2];
  state.counters["file_MB"] = static_cast<double>((*spill)->stats().bytes) / 1e6;
  spill->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_ResumeTimeToFirstToken)
    ->ArgNames({"minimind3", "restored"})
    ->ArgsProduct({{0, 1}, {0, 1}})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace minimind
