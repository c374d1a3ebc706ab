// Paged KV cache costs and accuracy.
//
// Bookkeeping (KV geometry of MiniMind2-Small: 8 layers, 2 kv heads, head_dim 64; block 16):
//   BM_GrowAndRelease:     grow a sequence block by block to 64 blocks (1,024 positions), then
//                          destroy it ("blocks/s").
//   BM_CachedPrefixLength: longest cached prefix of a 2,000-token prompt whose first 1,984
//                          tokens are cached (124 blocks; hash + exact compare per block).
//   BM_AttachAndRelease:   AttachCachedPrefix of the same prompt into a new sequence, then release.
//   BM_PublishFullBlocks:  publishing 124 full blocks that are already cached (the re-publish
//                          every finished request does).
//   BM_WritePosition/T:    storing one position (all layers, keys and values) as element type T.
//   BM_BytesPerToken/T:    counters only: bytes_per_token (from the pool) against the formula
//                          2 · layers · kv_heads · head_dim · bytes (+ int8 scales), and the
//                          measured waste of 100 sequences of random length (≤ 1 block each).
// Accuracy (BM_Accuracy/T, one iteration each): a random MiniMind2-Small checkpoint (llama,
// hidden 512, 8 layers, 8/2 heads, FFN 1408, vocab 6400, f16 weights, seed 42) prefills 1,000
// uniformly random tokens with logits for every position, once with f32 KV (the reference) and
// once with element type T. Counters: max_dlogprob = max over the 1,000 positions and the whole
// vocabulary of |logprob_T - logprob_f32|; max_dlogprob_greedy = the same for the reference's
// argmax token only; greedy_agree = fraction of positions whose argmax equals the reference's.
//
//   cmake --build build/release --target kv_bench && cd build/release
//   bench/kv_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "benchmark/benchmark.h"
#include "engine/kernels/softmax.h"
#include "engine/kv/kv_cache.h"
#include "engine/model/checkpoint_loader.h"
#include "engine/model/forward.h"
#include "engine/model/random_checkpoint.h"

namespace minimind {
namespace {

constexpr KvShape kSmallShape{.num_layers = 8, .num_kv_heads = 2, .head_dim = 64};
constexpr KvElementType kTypes[] = {KvElementType::kF32, KvElementType::kBF16, KvElementType::kF16,
                                    KvElementType::kInt8};

KvCache MakeCache(KvElementType type, int64_t num_blocks) {
  KvCacheConfig config{.shape = kSmallShape, .element_type = type, .block_size = 16};
  config.memory_bytes = num_blocks * config.BytesPerBlock();
  return *KvCache::Create(config);
}

std::vector<int32_t> RandomTokens(int64_t n, int32_t vocab, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int32_t> token(0, vocab - 1);
  std::vector<int32_t> tokens(n);
  for (int32_t& t : tokens) t = token(rng);
  return tokens;
}

void BM_GrowAndRelease(benchmark::State& state) {
  KvCache cache = MakeCache(KvElementType::kBF16, 128);
  for (auto _ : state) {
    std::unique_ptr<PagedKvSequence> seq = cache.NewSequence();
    for (int64_t n = 16; n <= 1024; n += 16) {
      if (!seq->Resize(n).ok()) state.SkipWithError("out of blocks");
    }
    benchmark::DoNotOptimize(seq->num_blocks());
  }
  state.counters["blocks/s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * 64), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_GrowAndRelease);

// A cache holding the first 1,984 tokens of a 2,000-token prompt, published.
struct CachedPrompt {
  CachedPrompt() : cache(MakeCache(KvElementType::kBF16, 256)) {
    prompt = RandomTokens(2000, 6400, 1);
    std::unique_ptr<PagedKvSequence> writer = cache.NewSequence();
    (void)writer->Resize(2000);
    cache.PublishFullBlocks(*writer, prompt, 0);
    keep = std::move(writer);
  }
  KvCache cache;
  std::vector<int32_t> prompt;
  std::unique_ptr<PagedKvSequence> keep;  // Declared after the cache: destroyed first.
};

void BM_CachedPrefixLength(benchmark::State& state) {
  CachedPrompt cached;
  for (auto _ : state) {
    benchmark::DoNotOptimize(cached.cache.CachedPrefixLength(cached.prompt, 0));
  }
  state.counters["hit_tokens"] =
      static_cast<double>(cached.cache.CachedPrefixLength(cached.prompt, 0));
}
BENCHMARK(BM_CachedPrefixLength);

void BM_AttachAndRelease(benchmark::State& state) {
  CachedPrompt cached;
  for (auto _ : state) {
    std::unique_ptr<PagedKvSequence> seq = cached.cache.NewSequence();
    benchmark::DoNotOptimize(cached.cache.AttachCachedPrefix(*seq, cached.prompt, 0));
  }
}
BENCHMARK(BM_AttachAndRelease);

void BM_PublishFullBlocks(benchmark::State& state) {
  CachedPrompt cached;
  for (auto _ : state) cached.cache.PublishFullBlocks(*cached.keep, cached.prompt, 0);
}
BENCHMARK(BM_PublishFullBlocks);

void BM_WritePosition(benchmark::State& state) {
  const KvElementType type = kTypes[state.range(0)];
  state.SetLabel(std::string(KvElementTypeName(type)));
  KvCache cache = MakeCache(type, 8);
  std::unique_ptr<PagedKvSequence> seq = cache.NewSequence();
  (void)seq->Resize(128);
  std::vector<float> row(kSmallShape.row_size());
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (float& x : row) x = normal(rng);
  int64_t position = 0;
  for (auto _ : state) {
    for (int64_t layer = 0; layer < kSmallShape.num_layers; ++layer) {
      seq->Write(layer, position, 1, row.data(), row.data());
    }
    position = (position + 1) % 128;
    benchmark::ClobberMemory();
  }
  state.counters["positions/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_WritePosition)->DenseRange(0, 3);

void BM_BytesPerToken(benchmark::State& state) {
  const KvElementType type = kTypes[state.range(0)];
  state.SetLabel(std::string(KvElementTypeName(type)));
  const int64_t element_bytes = KvElementBytes(type);
  const int64_t heads = kSmallShape.num_layers * kSmallShape.num_kv_heads;
  const int64_t formula = 2 * heads * kSmallShape.head_dim * element_bytes +
                          (type == KvElementType::kInt8 ? 2 * heads * 4 : 0);
  double waste_blocks_per_sequence = 0.0;
  int64_t pool_bytes_per_token = 0;
  for (auto _ : state) {
    KvCache cache = MakeCache(type, 8192);
    const BlockPool& pool = cache.allocator().pool();
    pool_bytes_per_token =
        (pool.code_bytes_per_block() + pool.scales_per_block() * 4) / cache.config().block_size;
    std::mt19937 rng(5);
    std::uniform_int_distribution<int64_t> length(1, 1000);
    std::vector<std::unique_ptr<PagedKvSequence>> sequences;
    int64_t positions = 0;
    for (int s = 0; s < 100; ++s) {
      sequences.push_back(cache.NewSequence());
      const int64_t n = length(rng);
      (void)sequences.back()->Resize(n);
      positions += n;
    }
    const int64_t used = cache.stats().blocks_used * cache.config().BytesPerBlock();
    waste_blocks_per_sequence = static_cast<double>(used - positions * formula) /
                                static_cast<double>(cache.config().BytesPerBlock()) / 100.0;
    sequences.clear();
  }
  state.counters["bytes_per_token"] = static_cast<double>(pool_bytes_per_token);
  state.counters["formula"] = static_cast<double>(formula);
  state.counters["waste_blocks_per_seq"] = waste_blocks_per_sequence;
}
BENCHMARK(BM_BytesPerToken)->DenseRange(0, 3)->Iterations(1);

// ---------------------------------------------------------------------------------------------
// Accuracy against f32 KV.

constexpr int64_t kAccuracyTokens = 1000;

// Log-probabilities of every position of `tokens` with KV stored as `type`.
std::vector<float> LogProbs(ModelRunner& runner, KvElementType type,
                            absl::Span<const int32_t> tokens) {
  KvCacheConfig config{.shape = runner.kv_shape(), .element_type = type, .block_size = 16};
  config.memory_bytes =
      config.BlocksFor(static_cast<int64_t>(tokens.size())) * config.BytesPerBlock();
  KvCache cache = *KvCache::Create(config);
  std::unique_ptr<PagedKvSequence> seq = cache.NewSequence();
  const ForwardSequence input{
      .tokens = tokens, .start_position = 0, .kv = seq.get(), .logits = LogitsMode::kAllPositions};
  const absl::StatusOr<ForwardLogits> logits = runner.Forward({&input, 1});
  std::vector<float> out;
  if (!logits.ok()) return out;
  const int64_t vocab = logits->vocab_size();
  out.resize(tokens.size() * vocab);
  for (int64_t r = 0; r < logits->num_rows(0); ++r) {
    LogSoftmax(logits->Row(0, r).data(), vocab, &out[r * vocab]);
  }
  return out;
}

// The random MiniMind2-Small checkpoint, written to a temporary directory and loaded (the
// weights stay memory-mapped after the files are removed).
absl::StatusOr<ModelRunner> MakeSmallRunner() {
  RandomCheckpointOptions options = MiniMind2SmallShape();
  options.max_position_embeddings = 32768;
  options.seed = 42;
  const std::filesystem::path directory =
      std::filesystem::temp_directory_path() / absl::StrCat("minimind_kv_bench_", getpid());
  const absl::Status written = WriteRandomCheckpoint(options, directory.string());
  absl::StatusOr<Model> loaded =
      written.ok() ? LoadModel(directory.string()) : absl::StatusOr<Model>(written);
  std::error_code ignored;
  std::filesystem::remove_all(directory, ignored);
  if (!loaded.ok()) return loaded.status();
  return ModelRunner::Create(*loaded);
}

void BM_Accuracy(benchmark::State& state) {
  const KvElementType type = kTypes[state.range(0)];
  state.SetLabel(std::string(KvElementTypeName(type)));
  absl::StatusOr<ModelRunner> runner = MakeSmallRunner();
  if (!runner.ok()) {
    state.SkipWithError(std::string(runner.status().message()).c_str());
    return;
  }
  const int64_t vocab = runner->config().vocab_size;
  const std::vector<int32_t> tokens =
      RandomTokens(kAccuracyTokens, static_cast<int32_t>(vocab), 2026);
  const std::vector<float> reference_logprobs = LogProbs(*runner, KvElementType::kF32, tokens);
  std::vector<float> logprobs;
  for (auto _ : state) logprobs = LogProbs(*runner, type, tokens);
  if (logprobs.empty() || reference_logprobs.empty()) {
    state.SkipWithError("forward pass failed");
    return;
  }
  double max_delta = 0.0;
  double max_delta_greedy = 0.0;
  int64_t agree = 0;
  for (int64_t r = 0; r < kAccuracyTokens; ++r) {
    const float* reference = &reference_logprobs[r * vocab];
    const float* actual = &logprobs[r * vocab];
    const int64_t reference_argmax = std::max_element(reference, reference + vocab) - reference;
    const int64_t actual_argmax = std::max_element(actual, actual + vocab) - actual;
    agree += reference_argmax == actual_argmax ? 1 : 0;
    for (int64_t v = 0; v < vocab; ++v) {
      max_delta = std::max(max_delta, std::fabs(static_cast<double>(actual[v]) - reference[v]));
    }
    max_delta_greedy = std::max(
        max_delta_greedy,
        std::fabs(static_cast<double>(actual[reference_argmax]) - reference[reference_argmax]));
  }
  state.counters["max_dlogprob"] = max_delta;
  state.counters["max_dlogprob_greedy"] = max_delta_greedy;
  state.counters["greedy_agree"] = static_cast<double>(agree) / kAccuracyTokens;
}
BENCHMARK(BM_Accuracy)->DenseRange(0, 3)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace minimind
