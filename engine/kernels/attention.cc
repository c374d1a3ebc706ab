#include "engine/kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "absl/types/span.h"
#include "engine/kernels/float_convert.h"
#include "engine/kernels/reduction.h"
#include "engine/kernels/softmax.h"
#include "hwy/cache_control.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "engine/kernels/attention.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
// Per-target headers after highway.h.
#include "engine/kernels/lanes-inl.h"
#include "engine/kernels/simd_target.h"

#ifndef MINIMIND_ENGINE_KERNELS_ATTENTION_ONCE_
#define MINIMIND_ENGINE_KERNELS_ATTENTION_ONCE_
namespace minimind {
namespace {

// The f32 row of position `t` of a run's keys or values (`base`, with `scales` for kInt8):
// the stored row itself for kF32, else `row` after widening into it.
const float* RowAsF32(const KvRun& run, const void* base, const float* scales, int64_t t,
                      int64_t head_dim, float* row) {
  const int64_t offset = t * run.stride;
  switch (run.type) {
    case KvElementType::kF32:
      return static_cast<const float*>(base) + offset;
    case KvElementType::kBF16: {
      const uint16_t* bits = static_cast<const uint16_t*>(base) + offset;
      for (int64_t j = 0; j < head_dim; ++j) row[j] = BF16ToF32(bits[j]);
      return row;
    }
    case KvElementType::kF16: {
      const uint16_t* bits = static_cast<const uint16_t*>(base) + offset;
      for (int64_t j = 0; j < head_dim; ++j) row[j] = F16ToF32(bits[j]);
      return row;
    }
    case KvElementType::kInt8: {
      const int8_t* codes = static_cast<const int8_t*>(base) + offset;
      const float scale = scales[t * run.scale_stride];
      for (int64_t j = 0; j < head_dim; ++j) row[j] = static_cast<float>(codes[j]) * scale;
      return row;
    }
  }
  return row;
}

}  // namespace
}  // namespace minimind
#endif  // MINIMIND_ENGINE_KERNELS_ATTENTION_ONCE_

HWY_BEFORE_NAMESPACE();
namespace minimind {
namespace HWY_NAMESPACE {

// Widens rows [first, first + count) of a run's narrow keys or values (`base`, with `scales` for
// kInt8) into tile [count, head_dim]: the same bits as RowAsF32 (exact widening; for kInt8 one
// f32 multiply per element), eight lanes at a time when head_dim allows.
void WidenChunk(const KvRun& run, const void* base, const float* scales, int64_t first,
                int64_t count, int64_t head_dim, float* tile) {
  if (head_dim % kDotLanes != 0) {
    for (int64_t t = 0; t < count; ++t) {
      RowAsF32(run, base, scales, first + t, head_dim, tile + t * head_dim);
    }
    return;
  }
  for (int64_t t = 0; t < count; ++t) {
    const int64_t offset = (first + t) * run.stride;
    float* row = tile + t * head_dim;
    switch (run.type) {
      case KvElementType::kF32:
        RowAsF32(run, base, scales, first + t, head_dim, row);
        break;
      case KvElementType::kBF16: {
        const uint16_t* bits = static_cast<const uint16_t*>(base) + offset;
        for (int64_t j = 0; j < head_dim; j += kDotLanes) {
          StoreLanes(LoadLanesBF16(bits + j), row + j);
        }
        break;
      }
      case KvElementType::kF16: {
        const uint16_t* bits = static_cast<const uint16_t*>(base) + offset;
        for (int64_t j = 0; j < head_dim; j += kDotLanes) {
          StoreLanes(LoadLanesF16(bits + j), row + j);
        }
        break;
      }
      case KvElementType::kInt8: {
        const unsigned char* codes = static_cast<const unsigned char*>(base) + offset;
        const Lanes scale = SetLanes(scales[(first + t) * run.scale_stride]);
        for (int64_t j = 0; j < head_dim; j += kDotLanes) {
          StoreLanes(LoadLanesQ8(codes + j, scale), row + j);
        }
        break;
      }
    }
  }
}

// Paged runs are small (one block: 2-4 KB per head) and scattered, too short for the hardware
// prefetchers to learn; each run's rows are requested this many runs ahead.
inline constexpr size_t kPrefetchRunsAhead = 2;

// Asks for the cache lines of a run's keys (or values) and their int8 scales.
void PrefetchRun(const KvRun& run, bool values, int64_t head_dim) {
  const char* base = static_cast<const char*>(values ? run.values : run.keys);
  const int64_t element_bytes = run.type == KvElementType::kF32    ? 4
                                : run.type == KvElementType::kInt8 ? 1
                                                                   : 2;
  const int64_t bytes = ((run.num_positions - 1) * run.stride + head_dim) * element_bytes;
  for (int64_t offset = 0; offset < bytes; offset += 64) hwy::Prefetch(base + offset);
  const float* scales = values ? run.value_scales : run.key_scales;
  if (scales != nullptr) hwy::Prefetch(scales);
}

// Calls visit(position, count, rows, stride) for consecutive chunks of at most
// kAttentionKeyChunk positions covering [0, limit): rows [count, stride] are the chunk's keys
// (or values) in f32 — the stored rows themselves for kF32, else widened into `tile`
// [kAttentionKeyChunk, head_dim].
template <typename Visit>
void ForEachChunk(absl::Span<const KvRun> runs, bool values, int64_t limit, int64_t head_dim,
                  float* tile, Visit visit) {
  int64_t position = 0;
  for (size_t r = 0; r < runs.size(); ++r) {
    const KvRun& run = runs[r];
    const int64_t run_count = std::min(run.num_positions, limit - position);
    const void* base = values ? run.values : run.keys;
    const float* scales = values ? run.value_scales : run.key_scales;
    if (r + kPrefetchRunsAhead < runs.size()) {
      PrefetchRun(runs[r + kPrefetchRunsAhead], values, head_dim);
    }
    for (int64_t first = 0; first < run_count; first += kAttentionKeyChunk) {
      const int64_t count = std::min(kAttentionKeyChunk, run_count - first);
      if (run.type == KvElementType::kF32) {
        visit(position + first, count, static_cast<const float*>(base) + first * run.stride,
              run.stride);
      } else {
        WidenChunk(run, base, scales, first, count, head_dim, tile);
        visit(position + first, count, tile, head_dim);
      }
    }
    position += run_count;
    if (position == limit) break;
  }
}

// outs[q][k] = Dot(queries[q], rows + k * stride, n) * scale for k < 8 and q < kQueries, bit for
// bit: eight dot products per query in reduction.h's order, interleaved so that their dependency
// chains overlap, and their lanes combined together (lanes.h). Each key row loaded serves every
// query. n % 8 == 0.
template <int kQueries>
void ScaledDot8(const float* const (&queries)[kQueries], const float* rows, int64_t stride,
                int64_t n, float scale, float* const (&outs)[kQueries]) {
  Lanes sums[kQueries][kDotLanes];
  for (int q = 0; q < kQueries; ++q) {
    for (int k = 0; k < kDotLanes; ++k) sums[q][k] = ZeroLanes();
  }
  for (int64_t i = 0; i < n; i += kDotLanes) {
    Lanes query[kQueries];
    for (int q = 0; q < kQueries; ++q) query[q] = LoadLanes(queries[q] + i);
    for (int k = 0; k < kDotLanes; ++k) {
      const Lanes key = LoadLanes(rows + k * stride + i);
      for (int q = 0; q < kQueries; ++q) sums[q][k] = MulAdd(query[q], key, sums[q][k]);
    }
  }
  for (int q = 0; q < kQueries; ++q) {
    StoreLanes(Mul(CombineEightLaneVectors(sums[q]), SetLanes(scale)), outs[q]);
  }
}

// True where serving two queries per load pays: 32 vector registers hold both queries'
// accumulators.
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
inline constexpr bool kPairQueries = true;
#else
inline constexpr bool kPairQueries = false;
#endif

#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
// AVX-512: two queries in one 16-lane register, query 0's 8 lanes low and query 1's high, as the
// GEMM pairs two weight rows (matmul.cc): each half does exactly the 8-lane operations of the one-
// query kernels above, in their order (the same bits), one instruction for both.
HWY_INLINE __m512 LoadPair(const float* low, const float* high) {
  return _mm512_insertf32x8(_mm512_zextps256_ps512(_mm256_loadu_ps(low)), _mm256_loadu_ps(high), 1);
}
HWY_INLINE Lanes Half(__m512 pair, bool high) {
  Lanes lanes;
  lanes.v[0].raw = high ? _mm512_extractf32x8_ps(pair, 1) : _mm512_castps512_ps256(pair);
  return lanes;
}

// ScaledDot8<2>'s results for queries q0 and q1.
void ScaledDot8Pair(const float* q0, const float* q1, const float* rows, int64_t stride, int64_t n,
                    float scale, float* out0, float* out1) {
  __m512 sums[kDotLanes];
  for (__m512& sum : sums) sum = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += kDotLanes) {
    const __m512 query = LoadPair(q0 + i, q1 + i);
    for (int k = 0; k < kDotLanes; ++k) {
      const __m512 key = _mm512_broadcast_f32x8(_mm256_loadu_ps(rows + k * stride + i));
      sums[k] = _mm512_fmadd_ps(query, key, sums[k]);
    }
  }
  for (int h = 0; h < 2; ++h) {
    Lanes halves[kDotLanes];
    for (int k = 0; k < kDotLanes; ++k) halves[k] = Half(sums[k], h == 1);
    StoreLanes(Mul(CombineEightLaneVectors(halves), SetLanes(scale)), h == 0 ? out0 : out1);
  }
}

// AddWeightedRowsSlice<kVectors, 2>'s results for two queries.
template <int kVectors>
void AddWeightedRowsPairSlice(const float* probs0, const float* probs1, const float* rows,
                              int64_t stride, int64_t count, int64_t j, float* out0, float* out1) {
  __m512 sums[kVectors];
  for (int v = 0; v < kVectors; ++v) {
    sums[v] = LoadPair(out0 + j + v * kDotLanes, out1 + j + v * kDotLanes);
  }
  for (int64_t t = 0; t < count; ++t) {
    const float* row = rows + t * stride + j;
    const __m512 prob = _mm512_insertf32x8(_mm512_set1_ps(probs0[t]), _mm256_set1_ps(probs1[t]), 1);
    for (int v = 0; v < kVectors; ++v) {
      const __m512 value = _mm512_broadcast_f32x8(_mm256_loadu_ps(row + v * kDotLanes));
      sums[v] = _mm512_fmadd_ps(prob, value, sums[v]);
    }
  }
  for (int v = 0; v < kVectors; ++v) {
    _mm256_storeu_ps(out0 + j + v * kDotLanes, _mm512_castps512_ps256(sums[v]));
    _mm256_storeu_ps(out1 + j + v * kDotLanes, _mm512_extractf32x8_ps(sums[v], 1));
  }
}
#endif

// outs[q][j .. j + 8·kVectors) += probs[q][t] * rows[t * stride + j ..] for t = 0, 1, ...,
// count - 1 in that order, for q < kQueries: AttendQuery's weighted sum for a slice of each
// output, held in registers across the chunk instead of loaded and stored at every position; each
// value row loaded serves every query.
template <int kVectors, int kQueries>
void AddWeightedRowsSlice(const float* const (&probs)[kQueries], const float* rows, int64_t stride,
                          int64_t count, int64_t j, float* const (&outs)[kQueries]) {
  Lanes sums[kQueries][kVectors];
  for (int q = 0; q < kQueries; ++q) {
    for (int v = 0; v < kVectors; ++v) sums[q][v] = LoadLanes(outs[q] + j + v * kDotLanes);
  }
  for (int64_t t = 0; t < count; ++t) {
    const float* row = rows + t * stride + j;
    Lanes prob[kQueries];
    for (int q = 0; q < kQueries; ++q) prob[q] = SetLanes(probs[q][t]);
    for (int v = 0; v < kVectors; ++v) {
      const Lanes value = LoadLanes(row + v * kDotLanes);
      for (int q = 0; q < kQueries; ++q) sums[q][v] = MulAdd(prob[q], value, sums[q][v]);
    }
  }
  for (int q = 0; q < kQueries; ++q) {
    for (int v = 0; v < kVectors; ++v) StoreLanes(sums[q][v], outs[q] + j + v * kDotLanes);
  }
}

// out[j] += probs[t] * rows[t * stride + j] for t = 0, 1, ..., count - 1 in that order, for
// j < head_dim. Eight independent accumulators where head_dim allows (enough additions in flight
// to cover their latency), then four, one, and scalars for what is left.
void AddWeightedRows(const float* probs, const float* rows, int64_t stride, int64_t count,
                     int64_t head_dim, float* out) {
  int64_t j = 0;
  for (; j + 8 * kDotLanes <= head_dim; j += 8 * kDotLanes) {
    AddWeightedRowsSlice<8, 1>({probs}, rows, stride, count, j, {out});
  }
  for (; j + 4 * kDotLanes <= head_dim; j += 4 * kDotLanes) {
    AddWeightedRowsSlice<4, 1>({probs}, rows, stride, count, j, {out});
  }
  for (; j + kDotLanes <= head_dim; j += kDotLanes) {
    AddWeightedRowsSlice<1, 1>({probs}, rows, stride, count, j, {out});
  }
  for (; j < head_dim; ++j) {
    float sum = out[j];
    for (int64_t t = 0; t < count; ++t) sum = std::fma(probs[t], rows[t * stride + j], sum);
    out[j] = sum;
  }
}

// AddWeightedRows for two queries over the same `count` value rows, where head_dim is a multiple
// of 32 (both in the same order as alone); false (nothing done) otherwise.
bool AddWeightedRowsPair(const float* probs0, const float* probs1, const float* rows,
                         int64_t stride, int64_t count, int64_t head_dim, float* out0,
                         float* out1) {
  if (head_dim % (4 * kDotLanes) != 0) return false;
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
  // 8 accumulators where head_dim allows: enough fused adds in flight to cover their latency.
  int64_t j = 0;
  for (; j + 8 * kDotLanes <= head_dim; j += 8 * kDotLanes) {
    AddWeightedRowsPairSlice<8>(probs0, probs1, rows, stride, count, j, out0, out1);
  }
  for (; j < head_dim; j += 4 * kDotLanes) {
    AddWeightedRowsPairSlice<4>(probs0, probs1, rows, stride, count, j, out0, out1);
  }
#else
  for (int64_t j = 0; j < head_dim; j += 4 * kDotLanes) {
    AddWeightedRowsSlice<4, 2>({probs0, probs1}, rows, stride, count, j, {out0, out1});
  }
#endif
  return true;
}

void AttendQueriesImpl(absl::Span<const AttentionQuery> queries, int64_t head_dim,
                       absl::Span<const KvRun> runs, float scale, float* scratch) {
  int64_t max_keys = 0;
  for (const AttentionQuery& query : queries) max_keys = std::max(max_keys, query.num_keys);
  float* scores = scratch;  // [queries, max_keys]
  float* tile = scratch + static_cast<int64_t>(queries.size()) * max_keys;

  ForEachChunk(
      runs, /*values=*/false, max_keys, head_dim, tile,
      [&](int64_t position, int64_t count, const float* keys, int64_t stride) {
        // Query q's scores for keys [from, its count) of the chunk, one query at a time.
        auto score_rest = [&](size_t q, int64_t from) {
          const int64_t n = std::min(count, queries[q].num_keys - position);
          float* row_scores = scores + q * max_keys + position;
          int64_t t = from;
          for (; head_dim % kDotLanes == 0 && t + kDotLanes <= n; t += kDotLanes) {
            ScaledDot8<1>({queries[q].query}, keys + t * stride, stride, head_dim, scale,
                          {row_scores + t});
          }
          for (; t < n; ++t) {
            row_scores[t] = Dot(queries[q].query, keys + t * stride, head_dim) * scale;
          }
        };
        // Two queries at a time over the keys both see (each score computed exactly as alone),
        // then each query's own rest.
        size_t q = 0;
        for (; kPairQueries && head_dim % kDotLanes == 0 && q + 1 < queries.size(); q += 2) {
          const int64_t both =
              std::min({count, queries[q].num_keys - position, queries[q + 1].num_keys - position});
          int64_t t = 0;
          for (; t + kDotLanes <= both; t += kDotLanes) {
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
            ScaledDot8Pair(queries[q].query, queries[q + 1].query, keys + t * stride, stride,
                           head_dim, scale, scores + q * max_keys + position + t,
                           scores + (q + 1) * max_keys + position + t);
#else
            ScaledDot8<2>(
                {queries[q].query, queries[q + 1].query}, keys + t * stride, stride, head_dim,
                scale,
                {scores + q * max_keys + position + t, scores + (q + 1) * max_keys + position + t});
#endif
          }
          score_rest(q, t);
          score_rest(q + 1, t);
        }
        for (; q < queries.size(); ++q) score_rest(q, 0);
      });

  for (size_t q = 0; q < queries.size(); ++q) {
    SoftmaxInPlace(scores + q * max_keys, queries[q].num_keys);
    std::fill(queries[q].out, queries[q].out + head_dim, 0.0f);
  }

  ForEachChunk(
      runs, /*values=*/true, max_keys, head_dim, tile,
      [&](int64_t position, int64_t count, const float* values, int64_t stride) {
        // Two queries at a time over the positions both see, each query's own rest
        // after (each output still sums its positions in order).
        size_t q = 0;
        for (; kPairQueries && q + 1 < queries.size(); q += 2) {
          const int64_t n0 = std::min(count, queries[q].num_keys - position);
          const int64_t n1 = std::min(count, queries[q + 1].num_keys - position);
          const int64_t both = std::max<int64_t>(0, std::min(n0, n1));
          const float* probs0 = scores + q * max_keys + position;
          const float* probs1 = scores + (q + 1) * max_keys + position;
          int64_t first = 0;
          if (both > 0 && AddWeightedRowsPair(probs0, probs1, values, stride, both, head_dim,
                                              queries[q].out, queries[q + 1].out)) {
            first = both;
          }
          if (n0 > first) {
            AddWeightedRows(probs0 + first, values + first * stride, stride, n0 - first, head_dim,
                            queries[q].out);
          }
          if (n1 > first) {
            AddWeightedRows(probs1 + first, values + first * stride, stride, n1 - first, head_dim,
                            queries[q + 1].out);
          }
        }
        for (; q < queries.size(); ++q) {
          const int64_t n = std::min(count, queries[q].num_keys - position);
          if (n <= 0) continue;
          AddWeightedRows(scores + q * max_keys + position, values, stride, n, head_dim,
                          queries[q].out);
        }
      });
}

}  // namespace HWY_NAMESPACE
}  // namespace minimind
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace minimind {

HWY_EXPORT(AttendQueriesImpl);

void AttendQueries(absl::Span<const AttentionQuery> queries, int64_t head_dim,
                   absl::Span<const KvRun> runs, float scale, float* scratch) {
  ChooseSimdTargetOnce();
  HWY_DYNAMIC_DISPATCH(AttendQueriesImpl)(queries, head_dim, runs, scale, scratch);
}

// The plain reference (scalar code, the same on every target).
void AttendQuery(const float* query, int64_t head_dim, absl::Span<const KvRun> runs,
                 int64_t num_keys, float scale, float* scores, float* row, float* out) {
  int64_t position = 0;
  for (const KvRun& run : runs) {
    const int64_t count = std::min(run.num_positions, num_keys - position);
    for (int64_t t = 0; t < count; ++t) {
      const float* key = RowAsF32(run, run.keys, run.key_scales, t, head_dim, row);
      scores[position + t] = Dot(query, key, head_dim) * scale;
    }
    position += count;
    if (position == num_keys) break;
  }

  SoftmaxInPlace(scores, num_keys);

  std::fill(out, out + head_dim, 0.0f);
  position = 0;
  for (const KvRun& run : runs) {
    const int64_t count = std::min(run.num_positions, num_keys - position);
    for (int64_t t = 0; t < count; ++t) {
      const float* value = RowAsF32(run, run.values, run.value_scales, t, head_dim, row);
      const float prob = scores[position + t];
      for (int64_t j = 0; j < head_dim; ++j) out[j] = std::fma(prob, value[j], out[j]);
    }
    position += count;
    if (position == num_keys) break;
  }
}

}  // namespace minimind
#endif  // HWY_ONCE
