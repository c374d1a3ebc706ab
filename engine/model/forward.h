// ModelRunner: the batched forward pass of a MiniMind-family decoder (llama, qwen2, qwen3,
// qwen3_moe, minimind; tools/reference/README.md is the specification). One Forward call
// processes several sequences at once, each with its own new tokens, start position and KV
// cache, and computes logits (the lm_head product) only for the positions asked for.
//
// Determinism: every kernel fixes its reduction order (engine/kernels/reduction.h), and no value
// of one token depends on which other tokens share its batch. So a sequence's logits and KV
// entries are bitwise the same whether it runs alone or in a batch (at any place), whether its
// prompt is prefilled at once or in chunks, and whether it is decoded token by token or
// recomputed in full.
//
// Ownership: the runner holds the model's config and tensor views (sharing the weight memory)
// and its scratch buffers; KV sequences belong to the caller. Thread-safety: none — one engine
// thread calls Forward.
//
// Parallelism: a runner made with ModelRunnerOptions::num_threads = T owns a ThreadPool of T
// threads (the caller's included) and splits each step of Forward over it: matmuls over output
// features (MatMulOutputs on disjoint slices; an MLP's SwiGLU runs inside its gate/up slices, and
// all experts of a MoE layer share the same regions), attention over (sequence, query head)
// pairs, and the row-wise steps (embedding, norms, q/k norms with RoPE, residual adds, MoE
// routing, gathering and mixing, the final norm) over ranges of rows — each residual add fused
// with the norm that follows it. Row-wise steps too small to pay for a parallel region
// (kMinElementsPerRowTask in forward.cc) run on the calling thread. Only the assignment of whole
// rows or output elements to threads changes; every value is computed by the same code in the
// same reduction order, so logits and KV are bitwise the same for any T. What stays serial: KV
// writes and run gathering (KvSequence is not thread-safe), building attention tasks and grouping
// MoE slots by expert, all O(rows) bookkeeping.
#ifndef MINIMIND_ENGINE_MODEL_FORWARD_H_
#define MINIMIND_ENGINE_MODEL_FORWARD_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "engine/kernels/matmul.h"
#include "engine/model/forward_scratch.h"
#include "engine/model/kv_sequence.h"
#include "engine/model/model.h"
#include "engine/model/model_config.h"
#include "engine/model/model_weights.h"
#include "engine/model/rope_table.h"
#include "engine/runtime/thread_pool.h"

namespace minimind {

struct ModelRunnerOptions {
  // Threads one Forward call uses, the calling thread included: in [1, ThreadPool::kMaxThreads].
  // More threads than cores only adds contention.
  int num_threads = 1;
};

// Which positions of a sequence go through lm_head.
enum class LogitsMode {
  kNone,          // None (e.g. a prefill chunk that is not the last).
  kLastPosition,  // The last new token: what sampling the next token needs.
  kAllPositions,  // Every new token (prompt logprobs).
};

struct ForwardSequence {
  absl::Span<const int32_t> tokens;  // The new tokens; at least one.
  // Position of tokens[0]. `kv` must hold positions [0, start_position); positions from
  // start_position on are overwritten, and the cache is left exactly start_position +
  // tokens.size() long.
  int64_t start_position = 0;
  KvSequence* kv = nullptr;  // Not owned; distinct for each sequence of a batch.
  LogitsMode logits = LogitsMode::kLastPosition;
};

// The logits of one Forward call. Views the runner's buffers: valid until its next Forward.
class ForwardLogits {
 public:
  int64_t vocab_size() const { return vocab_size_; }
  // Rows of sequence `sequence` (its index in the batch): 0, 1 or tokens.size().
  int64_t num_rows(int64_t sequence) const {
    return row_begin_[sequence + 1] - row_begin_[sequence];
  }
  // [vocab_size] logits predicting the token after one new token: row i of a kAllPositions
  // sequence follows tokens[i]; the single row of a kLastPosition sequence follows the last.
  absl::Span<const float> Row(int64_t sequence, int64_t row) const {
    return logits_.subspan((row_begin_[sequence] + row) * vocab_size_, vocab_size_);
  }

 private:
  friend class ModelRunner;
  ForwardLogits(absl::Span<const float> logits, absl::Span<const int64_t> row_begin,
                int64_t vocab_size)
      : logits_(logits), row_begin_(row_begin), vocab_size_(vocab_size) {}

  absl::Span<const float> logits_;       // [rows, vocab_size]
  absl::Span<const int64_t> row_begin_;  // [batch + 1]
  int64_t vocab_size_;
};

class ModelRunner {
 public:
  // Checks that the weights have the shapes `model.config` implies (InvalidArgument naming the
  // tensor otherwise), precomputes the RoPE table and starts the worker threads
  // (InvalidArgument for a thread count out of range).
  static absl::StatusOr<ModelRunner> Create(const Model& model,
                                            const ModelRunnerOptions& options = {});

  ModelRunner(ModelRunner&&) = default;
  ModelRunner& operator=(ModelRunner&&) = default;

  const ModelConfig& config() const { return config_; }
  int num_threads() const { return pool_->num_threads(); }
  // The KV geometry sequences passed to Forward must have.
  KvShape kv_shape() const;

  // Runs the batch. InvalidArgument (naming the sequence and the problem) for an empty batch, a
  // sequence without tokens or KV, a token id outside [0, vocab_size), a start position past
  // what the KV holds, positions beyond max_position_embeddings, a KV of the wrong shape, or two
  // sequences sharing a KV. A KV that cannot grow returns its error (ResourceExhausted from a
  // paged pool). On any error, no KV sequence is changed.
  absl::StatusOr<ForwardLogits> Forward(absl::Span<const ForwardSequence> batch);

 private:
  // f32 copies of a layer's vector-shaped weights (norms and biases); empty when absent.
  struct LayerVectors {
    std::vector<float> input_norm;           // [hidden]
    std::vector<float> post_attention_norm;  // [hidden]
    std::vector<float> q_bias;               // [q_dim]
    std::vector<float> k_bias;               // [kv_dim]
    std::vector<float> v_bias;               // [kv_dim]
    std::vector<float> o_bias;               // [hidden]
    std::vector<float> q_norm;               // [head_dim]
    std::vector<float> k_norm;               // [head_dim]
  };

  // One SwiGLU MLP of a RunMlps call: output[r, :] = down(silu(gate(input[r, :])) · up(...)) for
  // r < num_rows, with gate/up [num_rows, width] scratch of its own. input, output: [num_rows,
  // hidden], distinct from the scratch.
  struct MlpJob {
    const MlpWeights* weights;
    const float* input;
    int64_t num_rows;
    float* gate;
    float* up;
    float* output;
  };

  // One product out[r, :] = x[r, :] · weightᵀ + bias of a ParallelMatMuls call.
  struct Product {
    const float* x;
    WeightMatrix weight;
    const float* bias;  // Null for none.
    float* out;
  };

  ModelRunner(const Model& model, RopeTable rope, std::unique_ptr<ThreadPool> pool);

  // Every product over `num_rows` rows, each split over the pool by output features.
  void ParallelMatMuls(int64_t num_rows, absl::Span<const Product> products);
  // x's rows quantized for Q8A8 weights (matmul_q8a8.h) into q8a8_inputs_[slot], over the pool
  // when there are enough rows: every slice of the products that read x then shares them.
  const unsigned char* QuantizeForQ8A8(const float* x, int64_t num_rows, int64_t cols, size_t slot);
  // fn(begin, end) over row ranges that partition [0, num_rows), over the pool when the rows hold
  // enough work (num_rows · elements_per_row) to pay for a parallel region, else in one call.
  void ParallelRows(int64_t num_rows, int64_t elements_per_row,
                    absl::FunctionRef<void(int64_t begin, int64_t end)> fn);

  absl::Status Validate(absl::Span<const ForwardSequence> batch) const;
  absl::Status ResizeKv(absl::Span<const ForwardSequence> batch);
  // hidden = the embeddings of scratch_.tokens; normed = layer 0's input norm of them.
  void Embed();
  // hidden += projected, then normed = RmsNorm(hidden) with `norm` (none when null), row by row.
  void ResidualAndNorm(const float* norm);
  void AttentionLayer(int64_t layer, absl::Span<const ForwardSequence> batch);
  // Gathers the KV runs of every (sequence, kv head) of `layer` into scratch_.runs.
  void GatherRuns(int64_t layer, absl::Span<const ForwardSequence> batch);
  // Runs scratch_.attention_tasks[task] (all query heads of one kv head, for a few tokens of one
  // sequence) with worker's scratch.
  void AttendTask(const ForwardScratch::AttentionTask& task, int worker);
  void MlpLayer(int64_t layer);
  // Every job, in two parallel regions for all of them.
  void RunMlps(absl::Span<const MlpJob> jobs);
  void RunMoe(const MoeWeights& moe, int64_t num_rows);
  void ComputeLogits(absl::Span<const ForwardSequence> batch);

  ModelConfig config_;
  ModelWeights weights_;
  RopeTable rope_;
  std::vector<LayerVectors> layer_vectors_;  // [num_layers]
  std::vector<float> final_norm_;            // [hidden]
  int64_t max_mlp_width_ = 0;                // Widest dense or expert MLP.
  int64_t num_tokens_ = 0;                   // N of the current call.
  ForwardScratch scratch_;
  std::vector<std::vector<unsigned char>> q8a8_inputs_;
  std::vector<MlpJob> mlp_jobs_;      // A MoE layer's experts; rebuilt per layer, capacity reused.
  std::unique_ptr<ThreadPool> pool_;  // Never null.
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_MODEL_FORWARD_H_
