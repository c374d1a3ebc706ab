// Sampling cost per token: Sampler::Sample on one row of logits, for MiniMind's vocabulary (6400)
// and Qwen's (151936), greedy / top-k 50 / top-p 0.9, plus logprobs and a flat-distribution
// worst case for top-p.
//
//   cmake --build build/<dir> --target sampling_bench && build/<dir>/bench/sampling_bench
//
// "Peaked" rows imitate a language model's output: Gaussian noise (sigma 2) with 32 tokens
// lifted by 8..16, so a handful of tokens hold most of the mass. "Flat" rows are Gaussian noise
// (sigma 1) only: top-p 0.9 must then keep most of the vocabulary (the worst case).
#include <cstdint>
#include <random>
#include <vector>

#include "benchmark/benchmark.h"
#include "engine/sampling/sampler.h"

namespace minimind {
namespace {

enum class Shape { kPeaked, kFlat };

std::vector<float> MakeLogits(int vocab_size, Shape shape) {
  std::mt19937 generator(1234);
  std::normal_distribution<float> noise(0.0f, shape == Shape::kPeaked ? 2.0f : 1.0f);
  std::vector<float> logits(vocab_size);
  for (float& logit : logits) logit = noise(generator);
  if (shape == Shape::kPeaked) {
    std::uniform_int_distribution<int> token(0, vocab_size - 1);
    std::uniform_real_distribution<float> lift(8.0f, 16.0f);
    for (int i = 0; i < 32; ++i) logits[token(generator)] += lift(generator);
  }
  return logits;
}

void RunSampler(benchmark::State& state, SamplingParams params, Shape shape) {
  const int vocab_size = static_cast<int>(state.range(0));
  const std::vector<float> logits = MakeLogits(vocab_size, shape);
  params.seed = 42;
  absl::StatusOr<Sampler> sampler = Sampler::Create(params);
  if (!sampler.ok()) {
    state.SkipWithError(std::string(sampler.status().message()).c_str());
    return;
  }
  std::vector<TokenId> prompt(200);
  for (int i = 0; i < 200; ++i) prompt[i] = (i * 7919) % vocab_size;
  const TokenHistory history(prompt);
  SamplingWorkspace workspace;
  for (auto _ : state) {
    absl::StatusOr<SampledToken> token = sampler->Sample(logits, history, workspace);
    benchmark::DoNotOptimize(token);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Greedy(benchmark::State& state) {
  RunSampler(state, {.temperature = 0.0f}, Shape::kPeaked);
}
void BM_TopK50(benchmark::State& state) {
  RunSampler(state, {.temperature = 0.8f, .top_k = 50}, Shape::kPeaked);
}
void BM_TopP09(benchmark::State& state) {
  RunSampler(state, {.temperature = 0.8f, .top_p = 0.9f}, Shape::kPeaked);
}
void BM_TopP09Flat(benchmark::State& state) {
  RunSampler(state, {.temperature = 0.8f, .top_p = 0.9f}, Shape::kFlat);
}
void BM_PureSamplingFlat(benchmark::State& state) {
  RunSampler(state, {.temperature = 1.0f}, Shape::kFlat);
}
void BM_TopP09PenaltiesLogprobs(benchmark::State& state) {
  RunSampler(state,
             {.temperature = 0.8f,
              .top_p = 0.9f,
              .repetition_penalty = 1.1f,
              .presence_penalty = 0.5f,
              .logprobs = true,
              .top_logprobs = 20},
             Shape::kPeaked);
}

BENCHMARK(BM_Greedy)->Arg(6400)->Arg(151936);
BENCHMARK(BM_TopK50)->Arg(6400)->Arg(151936);
BENCHMARK(BM_TopP09)->Arg(6400)->Arg(151936);
BENCHMARK(BM_TopP09Flat)->Arg(6400)->Arg(151936);
BENCHMARK(BM_PureSamplingFlat)->Arg(6400)->Arg(151936);
BENCHMARK(BM_TopP09PenaltiesLogprobs)->Arg(6400)->Arg(151936);

}  // namespace
}  // namespace minimind
