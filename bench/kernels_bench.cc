// Microbenchmarks of the forward-pass kernels (engine/kernels) at MiniMind2-Small sizes.
//
//   cmake --build build/release --target kernels_bench && cd build/release
//   bench/kernels_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// MatMul reports multiply-adds per second ("MAC/s") for 1 row (decode) and 128 rows (prefill)
// against a [1408, 512] weight (an MLP gate projection) stored as F32, F16 or BF16.
// MatVecFromMemory: 1 row against a 512 MiB weight matrix ([65536, 4096] of 16-bit elements,
// larger than any cache here), so the weights stream from DRAM as a large model's do.
// MultiplyAddRate: one core's multiply-adds per second on the 512-bit instructions a matmul can
// be built from (registers only): vfmadd231ps (f32, 16 per instruction), vdpbf16ps (AVX512_BF16,
// 32 bf16 products), vpdpbusd (AVX512_VNNI, 64 byte products); skipped where the CPU lacks one.
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "benchmark/benchmark.h"
#include "engine/kernels/attention.h"
#include "engine/kernels/float_convert.h"
#include "engine/kernels/matmul.h"
#include "engine/kernels/rms_norm.h"
#include "engine/kernels/softmax.h"
#include "engine/model/tensor.h"
#include "tests/support/random_vectors.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace minimind {
namespace {

using ::minimind::testing::RandomVector;

void BM_MatMul(benchmark::State& state) {
  const DType dtype = static_cast<DType>(state.range(0));
  const int64_t rows = state.range(1);
  constexpr int64_t kOut = 1408;
  constexpr int64_t kIn = 512;
  const std::vector<float> weights_f32 = RandomVector(kOut * kIn, 1);
  std::vector<uint16_t> weights_16(weights_f32.size());
  for (size_t i = 0; i < weights_f32.size(); ++i) {
    weights_16[i] = dtype == DType::kF16 ? F32ToF16(weights_f32[i]) : F32ToBF16(weights_f32[i]);
  }
  const WeightMatrix weight{.dtype = dtype,
                            .data = dtype == DType::kF32
                                        ? static_cast<const void*>(weights_f32.data())
                                        : weights_16.data(),
                            .rows = kOut,
                            .cols = kIn};
  const std::vector<float> x = RandomVector(rows * kIn, 2);
  std::vector<float> out(rows * kOut);
  for (auto _ : state) {
    MatMul(x.data(), rows, weight, nullptr, out.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.counters["MAC/s"] = benchmark::Counter(static_cast<double>(rows * kOut * kIn),
                                               benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(dtype == DType::kF32 ? "F32" : dtype == DType::kF16 ? "F16" : "BF16");
}
BENCHMARK(BM_MatMul)
    ->ArgNames({"dtype", "rows"})
    ->ArgsProduct({{static_cast<int64_t>(DType::kF32), static_cast<int64_t>(DType::kF16),
                    static_cast<int64_t>(DType::kBF16)},
                   {1, 128}});

void BM_MatVecFromMemory(benchmark::State& state) {
  const DType dtype = static_cast<DType>(state.range(0));
  constexpr int64_t kOut = 65536;
  constexpr int64_t kIn = 4096;
  std::vector<uint16_t> weights(kOut * kIn);
  std::mt19937 rng(7);
  for (uint16_t& bits : weights) {
    const float value = static_cast<float>(static_cast<int>(rng() % 2001) - 1000) / 1000.0f;
    bits = dtype == DType::kF16 ? F32ToF16(value) : F32ToBF16(value);
  }
  const WeightMatrix weight{.dtype = dtype, .data = weights.data(), .rows = kOut, .cols = kIn};
  const std::vector<float> x = RandomVector(kIn, 2);
  std::vector<float> out(kOut);
  for (auto _ : state) {
    MatMul(x.data(), 1, weight, nullptr, out.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.counters["MAC/s"] = benchmark::Counter(static_cast<double>(kOut * kIn),
                                               benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(kOut * kIn * 2) / 1e9,
                                              benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(dtype == DType::kF16 ? "F16" : "BF16");
}
BENCHMARK(BM_MatVecFromMemory)
    ->ArgName("dtype")
    ->Arg(static_cast<int64_t>(DType::kF16))
    ->Arg(static_cast<int64_t>(DType::kBF16))
    ->Unit(benchmark::kMillisecond);

// One query head over `keys` cached positions (head_dim 64, f32 contiguous KV).
void BM_AttendQuery(benchmark::State& state) {
  const int64_t keys = state.range(0);
  constexpr int64_t kHeadDim = 64;
  const std::vector<float> cache_keys = RandomVector(keys * kHeadDim, 3);
  const std::vector<float> cache_values = RandomVector(keys * kHeadDim, 4);
  const std::vector<float> query = RandomVector(kHeadDim, 5);
  const KvRun run{.num_positions = keys,
                  .type = KvElementType::kF32,
                  .keys = cache_keys.data(),
                  .values = cache_values.data(),
                  .stride = kHeadDim};
  std::vector<float> scores(keys), row(kHeadDim), out(kHeadDim);
  for (auto _ : state) {
    AttendQuery(query.data(), kHeadDim, {&run, 1}, keys, 0.125f, scores.data(), row.data(),
                out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["keys/s"] =
      benchmark::Counter(static_cast<double>(keys), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_AttendQuery)->Arg(128)->Arg(1024)->Arg(2048);

// A group of 16 queries (4 tokens x the 4 query heads of one kv head, MiniMind2-Small's GQA) over
// `keys` cached positions in 16-position blocks (head_dim 64, f32), as the forward pass runs them.
// keys/s counts (query, key) pairs: compare with BM_AttendQuery, which attends one query at a time.
void BM_AttendQueries(benchmark::State& state) {
  const int64_t keys = state.range(0);
  constexpr int64_t kHeadDim = 64;
  constexpr int64_t kQueries = 16;
  constexpr int64_t kBlock = 16;
  const std::vector<float> cache_keys = RandomVector(keys * kHeadDim, 3);
  const std::vector<float> cache_values = RandomVector(keys * kHeadDim, 4);
  const std::vector<float> queries = RandomVector(kQueries * kHeadDim, 5);
  std::vector<KvRun> runs;
  for (int64_t first = 0; first < keys; first += kBlock) {
    runs.push_back({.num_positions = std::min(kBlock, keys - first),
                    .type = KvElementType::kF32,
                    .keys = &cache_keys[first * kHeadDim],
                    .values = &cache_values[first * kHeadDim],
                    .stride = kHeadDim});
  }
  std::vector<float> outs(kQueries * kHeadDim);
  std::vector<AttentionQuery> group;
  for (int64_t q = 0; q < kQueries; ++q) {
    group.push_back(
        {.query = &queries[q * kHeadDim], .num_keys = keys, .out = &outs[q * kHeadDim]});
  }
  std::vector<float> scratch(AttendQueriesScratchSize(kQueries, keys, kHeadDim));
  for (auto _ : state) {
    AttendQueries(group, kHeadDim, runs, 0.125f, scratch.data());
    benchmark::DoNotOptimize(outs.data());
  }
  state.counters["keys/s"] = benchmark::Counter(static_cast<double>(keys * kQueries),
                                                benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_AttendQueries)->Arg(128)->Arg(2048);

void BM_RmsNorm(benchmark::State& state) {
  const int64_t n = state.range(0);
  const std::vector<float> x = RandomVector(n, 6);
  const std::vector<float> weight = RandomVector(n, 7);
  std::vector<float> out(n);
  for (auto _ : state) {
    RmsNorm(x.data(), weight.data(), n, 1e-6f, out.data());
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_RmsNorm)->Arg(512)->Arg(768);

void BM_LogSoftmax(benchmark::State& state) {
  const int64_t n = state.range(0);
  const std::vector<float> logits = RandomVector(n, 8);
  std::vector<float> out(n);
  for (auto _ : state) {
    LogSoftmax(logits.data(), n, out.data());
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_LogSoftmax)->Arg(6400);

#if defined(__x86_64__)
// 12 independent accumulators (enough to cover each instruction's latency), `steps` rounds; the
// empty asm keeps the accumulators live in registers without adding work.
#define MINIMIND_TWELVE(step) \
  step(0) step(1) step(2) step(3) step(4) step(5) step(6) step(7) step(8) step(9) step(10) step(11)
#define MINIMIND_KEEP(i) asm volatile("" : "+v"(acc[i]));

__attribute__((target("avx512f"))) float FmaRounds(int64_t steps) {
  __m512 acc[12];
  for (__m512& a : acc) a = _mm512_set1_ps(0.5f);
  const __m512 x = _mm512_set1_ps(0.999f);
  const __m512 y = _mm512_set1_ps(0.001f);
#define MINIMIND_STEP(i) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
  for (int64_t s = 0; s < steps; ++s) {
    MINIMIND_TWELVE(MINIMIND_STEP)
    MINIMIND_TWELVE(MINIMIND_KEEP)
  }
#undef MINIMIND_STEP
  return _mm512_cvtss_f32(acc[0]);
}

__attribute__((target("avx512f,avx512bf16"))) float Dpbf16Rounds(int64_t steps) {
  __m512 acc[12];
  for (__m512& a : acc) a = _mm512_set1_ps(0.5f);
  const __m512bh x = (__m512bh)_mm512_set1_epi32(0x3f803f80);  // bf16 1.0 pairs
  const __m512bh y = (__m512bh)_mm512_set1_epi32(0x3a833a83);  // bf16 0.001 pairs
#define MINIMIND_STEP(i) acc[i] = _mm512_dpbf16_ps(acc[i], x, y);
  for (int64_t s = 0; s < steps; ++s) {
    MINIMIND_TWELVE(MINIMIND_STEP)
    MINIMIND_TWELVE(MINIMIND_KEEP)
  }
#undef MINIMIND_STEP
  return _mm512_cvtss_f32(acc[0]);
}

__attribute__((target("avx512f,avx512vnni"))) float DpbusdRounds(int64_t steps) {
  __m512i acc[12];
  for (__m512i& a : acc) a = _mm512_setzero_si512();
  const __m512i x = _mm512_set1_epi8(3);
  const __m512i y = _mm512_set1_epi8(-2);
#define MINIMIND_STEP(i) acc[i] = _mm512_dpbusd_epi32(acc[i], x, y);
  for (int64_t s = 0; s < steps; ++s) {
    MINIMIND_TWELVE(MINIMIND_STEP)
    MINIMIND_TWELVE(MINIMIND_KEEP)
  }
#undef MINIMIND_STEP
  return static_cast<float>(_mm_cvtsi128_si32(_mm512_castsi512_si128(acc[0])));
}
#undef MINIMIND_KEEP
#undef MINIMIND_TWELVE

// Arg: 0 = vfmadd231ps, 1 = vdpbf16ps, 2 = vpdpbusd.
void BM_MultiplyAddRate(benchmark::State& state) {
  constexpr int64_t kSteps = 1 << 20;
  const int which = static_cast<int>(state.range(0));
  const bool supported = which == 0   ? __builtin_cpu_supports("avx512f")
                         : which == 1 ? __builtin_cpu_supports("avx512bf16")
                                      : __builtin_cpu_supports("avx512vnni");
  if (!supported) {
    state.SkipWithError("this CPU lacks the instruction");
    return;
  }
  const int64_t per_instruction = which == 0 ? 16 : which == 1 ? 32 : 64;
  for (auto _ : state) {
    const float result = which == 0   ? FmaRounds(kSteps)
                         : which == 1 ? Dpbf16Rounds(kSteps)
                                      : DpbusdRounds(kSteps);
    benchmark::DoNotOptimize(result);
  }
  state.SetLabel(which == 0 ? "vfmadd231ps" : which == 1 ? "vdpbf16ps" : "vpdpbusd");
  state.counters["MAC/s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * kSteps * 12 * per_instruction),
                         benchmark::Counter::kIsRate);
}
BENCHMARK(BM_MultiplyAddRate)->DenseRange(0, 2)->UseRealTime();
#endif

}  // namespace
}  // namespace minimind
