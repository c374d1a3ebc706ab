// Causal attention of one query head over the cached keys and values of one kv head, read as
// runs of consecutive positions (`KvRun`) in whatever element type the KV store keeps. The store
// decides the runs (one run for a contiguous cache, one per block for a paged one); narrow
// elements are widened to f32 as they are read.
//
// Math (f32), for positions p < num_keys:
//   score_p = Dot(query, key_p) * scale                    (reduction.h's order over head_dim)
//   prob_p  = exp(score_p - max_q score_q) / Σ_q exp(...)   (softmax.h)
//   out[j]  = Σ_p prob_p * value_p[j], added in increasing p starting from +0, each term fused:
//             out[j] = fma(prob_p, value_p[j], out[j]) (one rounding, on every SIMD target)
// Determinism: the result depends only on the query and the cached values of positions
// [0, num_keys) — never on how the runs split those positions, or on whether the keys were
// written by one prefill or one token at a time (the stored rows are bitwise the same).
// Thread-safety: pure function of its inputs; concurrent calls need distinct scratch and outputs
// (a worker pool can split attention over sequences × heads).
#ifndef MINIMIND_ENGINE_KERNELS_ATTENTION_H_
#define MINIMIND_ENGINE_KERNELS_ATTENTION_H_

#include <cstdint>

#include "absl/types/span.h"

namespace minimind {

// How a KV store keeps cached keys and values. kInt8 elements are int8 codes times a per-token,
// per-head f32 scale.
enum class KvElementType : uint8_t { kF32, kBF16, kF16, kInt8 };

// A view of cached positions [first, first + num_positions) of one (layer, kv head), where
// `first` is implied by the run's place in a sequence of runs. The head_dim elements of position
// first + t start at element t * stride of `keys` (and of `values`).
struct KvRun {
  int64_t num_positions = 0;
  KvElementType type = KvElementType::kF32;
  const void* keys = nullptr;
  const void* values = nullptr;
  int64_t stride = 0;  // Elements between consecutive positions' rows.
  // kInt8 only: the scales of position first + t are key_scales[t * scale_stride] and
  // value_scales[t * scale_stride].
  const float* key_scales = nullptr;
  const float* value_scales = nullptr;
  int64_t scale_stride = 0;
};

// out = attention of `query` over positions [0, num_keys), num_keys ≥ 1 (causal attention
// always sees the query's own position); see the header comment.
//   query:  [head_dim]
//   runs:   in position order, together covering at least num_keys positions
//   scale:  usually 1 / sqrt(head_dim)
//   scores: scratch [num_keys];  row: scratch [head_dim] (holds widened rows of narrow types)
//   out:    [head_dim]
// The reference form: AttendQueries computes the same bits for many queries at once.
void AttendQuery(const float* query, int64_t head_dim, absl::Span<const KvRun> runs,
                 int64_t num_keys, float scale, float* scores, float* row, float* out);

// One query row of a group that attends over the same kv head (the query heads that share it,
// for one or more consecutive tokens of a sequence).
struct AttentionQuery {
  const float* query = nullptr;  // [head_dim]
  int64_t num_keys = 0;          // ≥ 1: attends to positions [0, num_keys)
  float* out = nullptr;          // [head_dim]
};

// Positions AttendQueries reads (and widens, for narrow types) at a time.
inline constexpr int64_t kAttentionKeyChunk = 32;

// Floats of scratch AttendQueries needs: every query's scores, then one widened chunk of rows.
inline int64_t AttendQueriesScratchSize(int64_t num_queries, int64_t max_keys, int64_t head_dim) {
  return num_queries * max_keys + kAttentionKeyChunk * head_dim;
}

// For every q in `queries`: q.out = AttendQuery(q.query, ..., q.num_keys, ...), bit for bit.
// Faster than one AttendQuery per query: each chunk of cached rows is read (and widened) once
// for the whole group while it sits in L1, and several keys' dot products run interleaved.
//   runs:    in position order, covering at least the largest num_keys
//   scratch: [AttendQueriesScratchSize(queries.size(), largest num_keys, head_dim)]
// Outputs must not overlap each other or the inputs.
void AttendQueries(absl::Span<const AttentionQuery> queries, int64_t head_dim,
                   absl::Span<const KvRun> runs, float scale, float* scratch);

}  // namespace minimind

#endif  // MINIMIND_ENGINE_KERNELS_ATTENTION_H_
