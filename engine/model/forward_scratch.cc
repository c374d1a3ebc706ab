#include "engine/model/forward_scratch.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "engine/model/model_config.h"

namespace minimind {
namespace {

template <typename T>
void Grow(std::vector<T>& buffer, int64_t size) {
  if (static_cast<int64_t>(buffer.size()) < size) buffer.resize(size);
}

}  // namespace

void ForwardScratch::Reserve(const ModelConfig& config, int64_t max_mlp_width, int64_t num_tokens,
                             int64_t num_logits_rows, int64_t max_keys, int64_t batch_size,
                             int64_t num_workers) {
  const int64_t n = num_tokens;
  const int64_t hidden_size = config.hidden_size;
  const int64_t top_k = std::max<int64_t>(config.experts_per_token, 1);
  const int64_t mlp_rows = config.num_experts > 0 ? n * (top_k + config.num_shared_experts) : n;
  Grow(tokens, n);
  Grow(positions, n);
  Grow(sequence_rows, batch_size + 1);
  Grow(hidden, n * hidden_size);
  Grow(normed, n * hidden_size);
  Grow(q, n * config.q_dim());
  Grow(k, n * config.kv_dim());
  Grow(v, n * config.kv_dim());
  Grow(attention, n * config.q_dim());
  Grow(projected, n * hidden_size);
  Grow(gate, mlp_rows * max_mlp_width);
  Grow(up, mlp_rows * max_mlp_width);
  if (config.num_experts > 0) {
    Grow(router_probs, n * config.num_experts);
    Grow(expert_ids, n * top_k);
    Grow(expert_weights, n * top_k);
    Grow(expert_begin, config.num_experts + 1);
    Grow(expert_slots, n * top_k);
    Grow(slot_gathered, n * top_k);
    Grow(expert_input, n * top_k * hidden_size);
    Grow(expert_output, mlp_rows * hidden_size);
  }
  Grow(run_begin, batch_size * config.num_kv_heads + 1);
  if (static_cast<int64_t>(attention_workers.size()) < num_workers) {
    attention_workers.resize(num_workers);
  }
  const int64_t queries_per_task = kAttentionTokensPerTask * config.heads_per_kv_head();
  for (AttentionWorker& worker : attention_workers) {
    if (static_cast<int64_t>(worker.queries.size()) < queries_per_task) {
      worker.queries.resize(queries_per_task);
    }
    Grow(worker.scratch, AttendQueriesScratchSize(queries_per_task, max_keys, config.head_dim));
  }
  Grow(logits_rows, batch_size + 1);
  Grow(logits_source, num_logits_rows);
  Grow(logits_hidden, num_logits_rows * hidden_size);
  Grow(logits, num_logits_rows * config.vocab_size);
}

}  // namespace minimind
