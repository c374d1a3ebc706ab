// ForwardScratch: every buffer a forward call works in, sized for the largest batch seen so far
// and reused by later calls (buffers only grow, so steady-state decoding allocates nothing).
// Owned by one ModelRunner; not thread-safe as a whole. Under the runner's worker pool, workers
// write disjoint parts of the shared buffers, and attention's per-query scratch is per worker
// (`attention_workers[worker]`).
//
// Shape names: N = new tokens in the batch (all sequences, in batch order), R = logits rows
// requested, K = experts per token, E = experts, X = shared experts, M = rows all MLPs of one
// layer run (N for a dense layer, N · (K + X) for a MoE one), W = widest MLP (dense or expert),
// S = most positions one query attends to, B = sequences in the batch, H = kv heads,
// T = worker threads.
#ifndef MINIMIND_ENGINE_MODEL_FORWARD_SCRATCH_H_
#define MINIMIND_ENGINE_MODEL_FORWARD_SCRATCH_H_

#include <cstdint>
#include <vector>

#include "engine/kernels/attention.h"
#include "engine/model/model_config.h"

namespace minimind {

// Tokens of one sequence per attention task: each task attends that many tokens times the query
// heads sharing one kv head, so every chunk of cached rows it reads serves all of them.
inline constexpr int64_t kAttentionTokensPerTask = 4;
// Below this many grouped tasks per thread, attention splits per query head instead, trading the
// shared reads of a kv head's rows for work enough to keep every thread busy.
inline constexpr int64_t kAttentionTasksPerThread = 4;

struct ForwardScratch {
  // Grows every buffer to hold a batch of these sizes.
  void Reserve(const ModelConfig& config, int64_t max_mlp_width, int64_t num_tokens,
               int64_t num_logits_rows, int64_t max_keys, int64_t batch_size,
               int64_t num_workers = 1);

  // Token bookkeeping.
  std::vector<int32_t> tokens;         // [N] token id of each row
  std::vector<int64_t> positions;      // [N] absolute position of each token row
  std::vector<int64_t> sequence_rows;  // [B + 1] first token row of each sequence, then N

  // Residual stream and its per-layer derivatives.
  std::vector<float> hidden;     // [N, hidden]  the residual stream
  std::vector<float> normed;     // [N, hidden]  RMSNorm of `hidden` feeding attention or MLP
  std::vector<float> q;          // [N, num_heads · head_dim]  after bias, q_norm and RoPE
  std::vector<float> k;          // [N, num_kv_heads · head_dim]  after bias, k_norm and RoPE
  std::vector<float> v;          // [N, num_kv_heads · head_dim]
  std::vector<float> attention;  // [N, num_heads · head_dim]  heads concatenated
  std::vector<float> projected;  // [N, hidden]  o_proj or MLP output, added to `hidden`

  // Feed-forward. A MoE layer runs all its experts at once, each on its own rows of these.
  std::vector<float> gate;  // [M, W]  gate projection, then silu(gate) · up
  std::vector<float> up;    // [M, W]

  // Mixture of experts. A slot is (row · K + rank); gathered rows are grouped by expert.
  std::vector<float> router_probs;     // [N, E]  router logits, then their softmax
  std::vector<int64_t> expert_ids;     // [N, K]  chosen experts by descending probability
  std::vector<float> expert_weights;   // [N, K]  their weights (renormalised if configured)
  std::vector<int64_t> expert_begin;   // [E + 1]  first gathered row of each expert, then N · K
  std::vector<int64_t> expert_slots;   // [N · K]  the slot of each gathered row
  std::vector<int64_t> slot_gathered;  // [N · K]  the gathered row of each slot
  std::vector<float> expert_input;     // [N · K, hidden]  the gathered rows of `normed`
  std::vector<float> expert_output;    // [N · (K + X), hidden]  routed rows in gathered order,
                                       // then each shared expert's N rows

  // Attention. The runs of every (sequence, kv head) of the current layer are gathered on the
  // calling thread (KvSequence promises no thread-safety), then read by the workers.
  std::vector<KvRun> runs;         // the runs of each (sequence, kv head), in position order
  std::vector<int64_t> run_begin;  // [B · H + 1] first run of (sequence s, kv head h) at s · H + h
  // One attention task: query heads [first_head, first_head + num_heads), all sharing kv head
  // `kv_head`, for tokens [first_token, first_token + num_tokens) of sequence `sequence` (token
  // indices within the sequence's rows).
  struct AttentionTask {
    int64_t sequence = 0;
    int64_t kv_head = 0;
    int64_t first_head = 0;
    int64_t num_heads = 0;
    int64_t first_token = 0;
    int64_t num_tokens = 0;
  };
  std::vector<AttentionTask> attention_tasks;  // rebuilt every layer call; capacity reused
  struct AttentionWorker {
    std::vector<AttentionQuery> queries;  // [Q]  Q = tokens per task · query heads per kv head
    std::vector<float> scratch;           // [AttendQueriesScratchSize(Q, S, head_dim)]
  };
  std::vector<AttentionWorker> attention_workers;  // [T]  one per worker of the pool

  // Output.
  std::vector<int64_t> logits_rows;    // [B + 1] first logits row of each sequence, then R
  std::vector<int64_t> logits_source;  // [R]  the token row each logits row is computed from
  std::vector<float> logits_hidden;    // [R, hidden]  final-normed rows that want logits
  std::vector<float> logits;           // [R, vocab]
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_MODEL_FORWARD_SCRATCH_H_
