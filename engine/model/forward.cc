#include "engine/model/forward.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "engine/base/status_macros.h"
#include "engine/kernels/activation.h"
#include "engine/kernels/attention.h"
#include "engine/kernels/matmul.h"
#include "engine/kernels/matmul_q8a8.h"
#include "engine/kernels/rms_norm.h"
#include "engine/kernels/rope.h"
#include "engine/kernels/softmax.h"
#include "engine/model/kv_sequence.h"
#include "engine/model/model_config.h"
#include "engine/model/model_weights.h"
#include "engine/model/rope_table.h"
#include "engine/model/tensor.h"
#include "engine/model/weight_view.h"
#include "engine/runtime/thread_pool.h"

namespace minimind {
namespace {

// ---------------------------------------------------------------------------------------------
// Weight checks.

absl::Status CheckShape(const Tensor& tensor, std::vector<int64_t> expected,
                        const std::string& name) {
  if (tensor.empty()) return absl::InvalidArgumentError(absl::StrCat(name, " is missing"));
  if (!std::equal(tensor.shape().begin(), tensor.shape().end(), expected.begin(), expected.end())) {
    return absl::InvalidArgumentError(absl::StrCat(name, " has shape ", FormatShape(tensor.shape()),
                                                   ", expected ", FormatShape(expected)));
  }
  return absl::OkStatus();
}

absl::Status CheckAbsent(const Tensor& tensor, const std::string& name, const char* reason) {
  if (tensor.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(name, " is present although ", reason));
}

// An MLP of any width: gate/up [width, hidden], down [hidden, width]. Returns the width.
absl::StatusOr<int64_t> CheckMlp(const MlpWeights& mlp, int64_t hidden, const std::string& name) {
  if (mlp.gate_proj.empty() || mlp.gate_proj.rank() != 2) {
    return absl::InvalidArgumentError(absl::StrCat(name, ".gate_proj is missing or not a matrix"));
  }
  const int64_t width = mlp.gate_proj.dim(0);
  MINIMIND_RETURN_IF_ERROR(CheckShape(mlp.gate_proj, {width, hidden}, name + ".gate_proj"));
  MINIMIND_RETURN_IF_ERROR(CheckShape(mlp.up_proj, {width, hidden}, name + ".up_proj"));
  MINIMIND_RETURN_IF_ERROR(CheckShape(mlp.down_proj, {hidden, width}, name + ".down_proj"));
  return width;
}

absl::Status CheckConfig(const ModelConfig& config) {
  if (config.vocab_size <= 0 || config.hidden_size <= 0 || config.num_layers <= 0 ||
      config.num_heads <= 0 || config.num_kv_heads <= 0 || config.head_dim <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model dimensions must be positive: vocab_size ", config.vocab_size, ", hidden_size ",
        config.hidden_size, ", num_layers ", config.num_layers, ", num_heads ", config.num_heads,
        ", num_kv_heads ", config.num_kv_heads, ", head_dim ", config.head_dim));
  }
  if (config.num_heads % config.num_kv_heads != 0) {
    return absl::InvalidArgumentError(absl::StrCat("num_heads ", config.num_heads,
                                                   " is not a multiple of num_kv_heads ",
                                                   config.num_kv_heads));
  }
  if (!(config.rms_norm_eps >= 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("rms_norm_eps must not be negative, got ", config.rms_norm_eps));
  }
  if (!config.layer_is_moe.empty() &&
      static_cast<int64_t>(config.layer_is_moe.size()) != config.num_layers) {
    return absl::InvalidArgumentError(absl::StrCat("layer_is_moe has ", config.layer_is_moe.size(),
                                                   " entries for ", config.num_layers, " layers"));
  }
  if (!config.layer_is_moe.empty() && (config.num_experts <= 0 || config.experts_per_token <= 0 ||
                                       config.experts_per_token > config.num_experts)) {
    return absl::InvalidArgumentError(
        absl::StrCat("MoE needs 1 ≤ experts_per_token ≤ num_experts, got experts_per_token ",
                     config.experts_per_token, " and num_experts ", config.num_experts));
  }
  return absl::OkStatus();
}

std::vector<float> VectorToF32(const Tensor& tensor) {
  if (tensor.empty()) return {};
  std::vector<float> values(tensor.num_elements());
  WeightRowToF32(ViewWeightMatrix(tensor), 0, values.data());
  return values;
}

const float* DataOrNull(const std::vector<float>& values) {
  return values.empty() ? nullptr : values.data();
}

// Matmul slices per thread: more than one, so that a thread the OS delays (or one that drew the
// expensive attention tasks) does not hold the others back; few, so each slice streams a long
// stretch of weight rows.
constexpr int64_t kSlicesPerThread = 4;
// Slice boundaries are multiples of this many output features (the f32 matmul's register tile is
// 4 outputs wide, q8_0's 16: a row group of dtype.h), so that slices run the tiled kernels rather
// than their remainders.
constexpr int64_t kSliceAlignment = 16;

// A row-wise step (norms, RoPE, residual adds, routing) is split over the pool only in tasks of at
// least this many elements: below it, the fork and join of a parallel region (a few µs) costs
// more than the work it spreads (decode steps of one or a few sequences stay on one thread).
constexpr int64_t kMinElementsPerRowTask = 8192;

// Output features [begin, end) of slice `slice` of `num_slices` over `num_outputs`.
std::pair<int64_t, int64_t> SliceBounds(int64_t num_outputs, int64_t num_slices, int64_t slice) {
  const auto boundary = [&](int64_t i) -> int64_t {
    if (i == num_slices) return num_outputs;
    return num_outputs * i / num_slices / kSliceAlignment * kSliceAlignment;
  };
  return {boundary(slice), boundary(slice + 1)};
}

std::string DescribeKvShape(const KvShape& shape) {
  return absl::StrCat("(layers ", shape.num_layers, ", kv heads ", shape.num_kv_heads,
                      ", head_dim ", shape.head_dim, ")");
}

}  // namespace

// -----------------------------------------------------------------------------------------------
// Construction.

absl::StatusOr<ModelRunner> ModelRunner::Create(const Model& model,
                                                const ModelRunnerOptions& options) {
  const ModelConfig& config = model.config;
  const ModelWeights& weights = model.weights;
  MINIMIND_RETURN_IF_ERROR(CheckConfig(config));
  const int64_t hidden = config.hidden_size;
  MINIMIND_RETURN_IF_ERROR(
      CheckShape(weights.embed_tokens, {config.vocab_size, hidden}, "embed_tokens"));
  MINIMIND_RETURN_IF_ERROR(CheckShape(weights.final_norm, {hidden}, "final norm"));
  MINIMIND_RETURN_IF_ERROR(CheckShape(weights.lm_head, {config.vocab_size, hidden}, "lm_head"));
  if (static_cast<int64_t>(weights.layers.size()) != config.num_layers) {
    return absl::InvalidArgumentError(absl::StrCat("weights hold ", weights.layers.size(),
                                                   " layers, config says ", config.num_layers));
  }
  int64_t max_mlp_width = 0;
  for (int64_t i = 0; i < config.num_layers; ++i) {
    const LayerWeights& layer = weights.layers[i];
    const AttentionWeights& attention = layer.attention;
    const std::string name = absl::StrCat("layer ", i, " ");
    MINIMIND_RETURN_IF_ERROR(CheckShape(layer.input_norm, {hidden}, name + "input_layernorm"));
    MINIMIND_RETURN_IF_ERROR(
        CheckShape(layer.post_attention_norm, {hidden}, name + "post_attention_layernorm"));
    MINIMIND_RETURN_IF_ERROR(
        CheckShape(attention.q_proj, {config.q_dim(), hidden}, name + "q_proj"));
    MINIMIND_RETURN_IF_ERROR(
        CheckShape(attention.k_proj, {config.kv_dim(), hidden}, name + "k_proj"));
    MINIMIND_RETURN_IF_ERROR(
        CheckShape(attention.v_proj, {config.kv_dim(), hidden}, name + "v_proj"));
    MINIMIND_RETURN_IF_ERROR(
        CheckShape(attention.o_proj, {hidden, config.q_dim()}, name + "o_proj"));
    if (config.attention_bias) {
      MINIMIND_RETURN_IF_ERROR(CheckShape(attention.q_bias, {config.q_dim()}, name + "q bias"));
      MINIMIND_RETURN_IF_ERROR(CheckShape(attention.k_bias, {config.kv_dim()}, name + "k bias"));
      MINIMIND_RETURN_IF_ERROR(CheckShape(attention.v_bias, {config.kv_dim()}, name + "v bias"));
    } else {
      const char* reason = "the config has no attention bias";
      MINIMIND_RETURN_IF_ERROR(CheckAbsent(attention.q_bias, name + "q bias", reason));
      MINIMIND_RETURN_IF_ERROR(CheckAbsent(attention.k_bias, name + "k bias", reason));
      MINIMIND_RETURN_IF_ERROR(CheckAbsent(attention.v_bias, name + "v bias", reason));
    }
    if (config.o_proj_bias) {
      MINIMIND_RETURN_IF_ERROR(CheckShape(attention.o_bias, {hidden}, name + "o bias"));
    } else {
      MINIMIND_RETURN_IF_ERROR(
          CheckAbsent(attention.o_bias, name + "o bias", "the config has no o_proj bias"));
    }
    if (config.qk_norm) {
      MINIMIND_RETURN_IF_ERROR(CheckShape(attention.q_norm, {config.head_dim}, name + "q_norm"));
      MINIMIND_RETURN_IF_ERROR(CheckShape(attention.k_norm, {config.head_dim}, name + "k_norm"));
    }
    if (config.is_moe_layer(i)) {
      const MoeWeights& moe = layer.moe;
      MINIMIND_RETURN_IF_ERROR(
          CheckShape(moe.router, {config.num_experts, hidden}, name + "router"));
      if (static_cast<int64_t>(moe.experts.size()) != config.num_experts ||
          static_cast<int64_t>(moe.shared_experts.size()) != config.num_shared_experts) {
        return absl::InvalidArgumentError(
            absl::StrCat(name, "has ", moe.experts.size(), " experts and ",
                         moe.shared_experts.size(), " shared experts, config says ",
                         config.num_experts, " and ", config.num_shared_experts));
      }
      for (size_t e = 0; e < moe.experts.size(); ++e) {
        MINIMIND_ASSIGN_OR_RETURN(const int64_t width, CheckMlp(moe.experts[e], hidden,
                                                                absl::StrCat(name, "expert ", e)));
        max_mlp_width = std::max(max_mlp_width, width);
      }
      for (size_t s = 0; s < moe.shared_experts.size(); ++s) {
        MINIMIND_ASSIGN_OR_RETURN(
            const int64_t width,
            CheckMlp(moe.shared_experts[s], hidden, absl::StrCat(name, "shared expert ", s)));
        max_mlp_width = std::max(max_mlp_width, width);
      }
    } else {
      MINIMIND_ASSIGN_OR_RETURN(const int64_t width, CheckMlp(layer.mlp, hidden, name + "mlp"));
      max_mlp_width = std::max(max_mlp_width, width);
    }
  }
  MINIMIND_ASSIGN_OR_RETURN(RopeTable rope, RopeTable::Create(config));
  absl::StatusOr<std::unique_ptr<ThreadPool>> pool = ThreadPool::Create(options.num_threads);
  if (!pool.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("ModelRunnerOptions.num_threads: ", pool.status().message()));
  }
  ModelRunner runner(model, std::move(rope), *std::move(pool));
  runner.max_mlp_width_ = max_mlp_width;
  return runner;
}

ModelRunner::ModelRunner(const Model& model, RopeTable rope, std::unique_ptr<ThreadPool> pool)
    : config_(model.config),
      weights_(model.weights),
      rope_(std::move(rope)),
      pool_(std::move(pool)) {
  layer_vectors_.reserve(config_.num_layers);
  for (const LayerWeights& layer : weights_.layers) {
    const AttentionWeights& attention = layer.attention;
    layer_vectors_.push_back(LayerVectors{
        .input_norm = VectorToF32(layer.input_norm),
        .post_attention_norm = VectorToF32(layer.post_attention_norm),
        .q_bias = VectorToF32(attention.q_bias),
        .k_bias = VectorToF32(attention.k_bias),
        .v_bias = VectorToF32(attention.v_bias),
        .o_bias = VectorToF32(attention.o_bias),
        .q_norm = VectorToF32(attention.q_norm),
        .k_norm = VectorToF32(attention.k_norm),
    });
  }
  final_norm_ = VectorToF32(weights_.final_norm);
}

KvShape ModelRunner::kv_shape() const {
  return KvShape{.num_layers = config_.num_layers,
                 .num_kv_heads = config_.num_kv_heads,
                 .head_dim = config_.head_dim};
}

// -----------------------------------------------------------------------------------------------
// Validation and KV preparation: everything that can fail happens before any state changes.

absl::Status ModelRunner::Validate(absl::Span<const ForwardSequence> batch) const {
  if (batch.empty()) return absl::InvalidArgumentError("forward batch is empty");
  absl::flat_hash_map<const KvSequence*, size_t> kv_owner;
  for (size_t s = 0; s < batch.size(); ++s) {
    const ForwardSequence& input = batch[s];
    const std::string where = absl::StrCat("sequence ", s, " of the batch: ");
    if (input.tokens.empty()) return absl::InvalidArgumentError(where + "no tokens");
    if (input.kv == nullptr) return absl::InvalidArgumentError(where + "no KV sequence");
    if (const auto [it, inserted] = kv_owner.emplace(input.kv, s); !inserted) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "shares its KV sequence with sequence ", it->second));
    }
    if (input.kv->shape() != kv_shape()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "KV shape ", DescribeKvShape(input.kv->shape()),
                       " differs from the model's ", DescribeKvShape(kv_shape())));
    }
    for (size_t i = 0; i < input.tokens.size(); ++i) {
      const int32_t token = input.tokens[i];
      if (token < 0 || token >= config_.vocab_size) {
        return absl::InvalidArgumentError(absl::StrCat(where, "token id ", token, " at index ", i,
                                                       " is outside the vocabulary of size ",
                                                       config_.vocab_size));
      }
    }
    if (input.start_position < 0 || input.start_position > input.kv->num_positions()) {
      return absl::InvalidArgumentError(absl::StrCat(where, "start position ", input.start_position,
                                                     " is outside the ", input.kv->num_positions(),
                                                     " positions its KV cache holds"));
    }
    const int64_t end = input.start_position + static_cast<int64_t>(input.tokens.size());
    if (end > config_.max_position_embeddings) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, input.tokens.size(), " tokens from position ", input.start_position,
                       " would reach position ", end - 1, ", past the model's context of ",
                       config_.max_position_embeddings, " positions (max_position_embeddings)"));
    }
  }
  return absl::OkStatus();
}

absl::Status ModelRunner::ResizeKv(absl::Span<const ForwardSequence> batch) {
  // Grow first, undoing the growth on failure; truncate (which cannot fail) only once every
  // sequence has grown, so a failure leaves all of them as they were.
  std::vector<int64_t> old_lengths;
  old_lengths.reserve(batch.size());
  for (const ForwardSequence& input : batch) old_lengths.push_back(input.kv->num_positions());
  for (size_t s = 0; s < batch.size(); ++s) {
    const int64_t end = batch[s].start_position + static_cast<int64_t>(batch[s].tokens.size());
    const absl::Status grown = batch[s].kv->Resize(std::max(end, old_lengths[s]));
    if (!grown.ok()) {
      for (size_t undo = 0; undo < s; ++undo) {
        batch[undo].kv->Resize(old_lengths[undo]).IgnoreError();  // Truncation cannot fail.
      }
      return grown;
    }
  }
  for (const ForwardSequence& input : batch) {
    input.kv->Resize(input.start_position + static_cast<int64_t>(input.tokens.size()))
        .IgnoreError();  // Truncation cannot fail.
  }
  return absl::OkStatus();
}

// -----------------------------------------------------------------------------------------------
// The pass.

absl::StatusOr<ForwardLogits> ModelRunner::Forward(absl::Span<const ForwardSequence> batch) {
  MINIMIND_RETURN_IF_ERROR(Validate(batch));

  int64_t num_tokens = 0;
  int64_t num_logits_rows = 0;
  int64_t max_keys = 0;
  for (const ForwardSequence& input : batch) {
    const int64_t count = static_cast<int64_t>(input.tokens.size());
    num_tokens += count;
    num_logits_rows += input.logits == LogitsMode::kAllPositions   ? count
                       : input.logits == LogitsMode::kLastPosition ? 1
                                                                   : 0;
    max_keys = std::max(max_keys, input.start_position + count);
  }
  scratch_.Reserve(config_, max_mlp_width_, num_tokens, num_logits_rows, max_keys,
                   static_cast<int64_t>(batch.size()), pool_->num_threads());
  MINIMIND_RETURN_IF_ERROR(ResizeKv(batch));

  num_tokens_ = num_tokens;
  int64_t row = 0;
  for (size_t s = 0; s < batch.size(); ++s) {
    scratch_.sequence_rows[s] = row;
    for (size_t i = 0; i < batch[s].tokens.size(); ++i) {
      scratch_.tokens[row] = batch[s].tokens[i];
      scratch_.positions[row++] = batch[s].start_position + static_cast<int64_t>(i);
    }
  }
  scratch_.sequence_rows[batch.size()] = row;

  // Each layer step leaves `normed` holding the norm the next step reads (see ResidualAndNorm).
  Embed();
  for (int64_t layer = 0; layer < config_.num_layers; ++layer) {
    AttentionLayer(layer, batch);
    MlpLayer(layer);
  }
  ComputeLogits(batch);
  return ForwardLogits(
      absl::MakeConstSpan(scratch_.logits.data(), num_logits_rows * config_.vocab_size),
      absl::MakeConstSpan(scratch_.logits_rows.data(), batch.size() + 1), config_.vocab_size);
}

void ModelRunner::ParallelMatMuls(int64_t num_rows, absl::Span<const Product> products) {
  const int64_t threads = pool_->num_threads();
  if (threads == 1) {
    for (const Product& product : products) {
      MatMul(product.x, num_rows, product.weight, product.bias, product.out);
    }
    return;
  }
  // Q8A8 products read their input quantized once (shared by products of the same input).
  absl::InlinedVector<const unsigned char*, 4> quantized(products.size(), nullptr);
  for (size_t p = 0; p < products.size(); ++p) {
    if (products[p].weight.dtype != DType::kQ8A8) continue;
    for (size_t q = 0; q < p && quantized[p] == nullptr; ++q) {
      if (quantized[q] != nullptr && products[q].x == products[p].x) quantized[p] = quantized[q];
    }
    if (quantized[p] == nullptr) {
      quantized[p] = QuantizeForQ8A8(products[p].x, num_rows, products[p].weight.cols, p);
    }
  }
  // Every product gets the same number of slices; task t is slice t % slices of product
  // t / slices. Each slice computes whole output columns with MatMulOutputs, bitwise as MatMul.
  const int64_t slices = threads * kSlicesPerThread;
  pool_->ParallelFor(static_cast<int64_t>(products.size()) * slices, [&](int64_t task, int) {
    const Product& product = products[task / slices];
    const auto [begin, end] = SliceBounds(product.weight.rows, slices, task % slices);
    if (begin >= end) return;
    if (const unsigned char* input = quantized[task / slices]; input != nullptr) {
      MatMulQ8A8Quantized(input, num_rows, product.weight, product.bias, begin, end, product.out);
    } else {
      MatMulOutputs(product.x, num_rows, product.weight, product.bias, begin, end, product.out);
    }
  });
}

const unsigned char* ModelRunner::QuantizeForQ8A8(const float* x, int64_t num_rows, int64_t cols,
                                                  size_t slot) {
  if (q8a8_inputs_.size() <= slot) q8a8_inputs_.resize(slot + 1);
  std::vector<unsigned char>& input = q8a8_inputs_[slot];
  input.resize(static_cast<size_t>(num_rows * Q8A8InputRowBytes(cols)));
  ParallelRows(num_rows, cols, [&](int64_t begin, int64_t end) {
    QuantizeQ8A8Input(x, cols, begin, end, input.data());
  });
  return input.data();
}

void ModelRunner::ParallelRows(int64_t num_rows, int64_t elements_per_row,
                               absl::FunctionRef<void(int64_t begin, int64_t end)> fn) {
  const int64_t threads = pool_->num_threads();
  const int64_t tasks = std::min(
      {num_rows, threads * kSlicesPerThread, num_rows * elements_per_row / kMinElementsPerRowTask});
  if (threads == 1 || tasks <= 1) {
    if (num_rows > 0) fn(0, num_rows);
    return;
  }
  pool_->ParallelFor(tasks, [&](int64_t task, int) {
    fn(num_rows * task / tasks, num_rows * (task + 1) / tasks);
  });
}

void ModelRunner::Embed() {
  const WeightMatrix embedding = ViewWeightMatrix(weights_.embed_tokens);
  const int64_t hidden = config_.hidden_size;
  const float eps = static_cast<float>(config_.rms_norm_eps);
  const float* norm = layer_vectors_[0].input_norm.data();
  ParallelRows(num_tokens_, 2 * hidden, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      float* row = &scratch_.hidden[r * hidden];
      WeightRowToF32(embedding, scratch_.tokens[r], row);
      RmsNorm(row, norm, hidden, eps, &scratch_.normed[r * hidden]);
    }
  });
}

void ModelRunner::ResidualAndNorm(const float* norm) {
  const int64_t hidden = config_.hidden_size;
  const float eps = static_cast<float>(config_.rms_norm_eps);
  ParallelRows(num_tokens_, 2 * hidden, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      float* row = &scratch_.hidden[r * hidden];
      const float* projected = &scratch_.projected[r * hidden];
      for (int64_t i = 0; i < hidden; ++i) row[i] += projected[i];
      if (norm != nullptr) RmsNorm(row, norm, hidden, eps, &scratch_.normed[r * hidden]);
    }
  });
}

void ModelRunner::AttentionLayer(int64_t layer, absl::Span<const ForwardSequence> batch) {
  const AttentionWeights& weights = weights_.layers[layer].attention;
  const LayerVectors& vectors = layer_vectors_[layer];
  const int64_t n = num_tokens_;
  const int64_t head_dim = config_.head_dim;
  const float eps = static_cast<float>(config_.rms_norm_eps);
  float* normed = scratch_.normed.data();
  float* q = scratch_.q.data();
  float* k = scratch_.k.data();

  const Product qkv[] = {
      {normed, ViewWeightMatrix(weights.q_proj), DataOrNull(vectors.q_bias), q},
      {normed, ViewWeightMatrix(weights.k_proj), DataOrNull(vectors.k_bias), k},
      {normed, ViewWeightMatrix(weights.v_proj), DataOrNull(vectors.v_bias), scratch_.v.data()},
  };
  ParallelMatMuls(n, qkv);

  // Per-head q/k norm (qwen3), then RoPE; keys are cached after RoPE.
  ParallelRows(n, config_.q_dim() + config_.kv_dim(), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* cos = rope_.cos(scratch_.positions[r]);
      const float* sin = rope_.sin(scratch_.positions[r]);
      for (int64_t h = 0; h < config_.num_heads; ++h) {
        float* head = &q[r * config_.q_dim() + h * head_dim];
        if (config_.qk_norm) RmsNorm(head, vectors.q_norm.data(), head_dim, eps, head);
        ApplyRope(cos, sin, head_dim, head);
      }
      for (int64_t h = 0; h < config_.num_kv_heads; ++h) {
        float* head = &k[r * config_.kv_dim() + h * head_dim];
        if (config_.qk_norm) RmsNorm(head, vectors.k_norm.data(), head_dim, eps, head);
        ApplyRope(cos, sin, head_dim, head);
      }
    }
  });

  for (size_t s = 0; s < batch.size(); ++s) {
    const int64_t first_row = scratch_.sequence_rows[s];
    batch[s].kv->Write(layer, batch[s].start_position, static_cast<int64_t>(batch[s].tokens.size()),
                       &k[first_row * config_.kv_dim()], &scratch_.v[first_row * config_.kv_dim()]);
  }
  GatherRuns(layer, batch);
  // One task per (sequence, kv head, run of kAttentionTokensPerTask tokens), covering the query
  // heads that share the kv head — or, when that gives too few tasks to keep every thread busy
  // (small decode batches), one task per query head. Each task writes only its own rows and
  // heads of `attention`, with its worker's scratch; how tasks split changes no result.
  int64_t num_token_runs = 0;
  for (const ForwardSequence& input : batch) {
    const int64_t count = static_cast<int64_t>(input.tokens.size());
    num_token_runs += (count + kAttentionTokensPerTask - 1) / kAttentionTokensPerTask;
  }
  const int64_t group = config_.heads_per_kv_head();
  const int64_t heads_per_task =
      num_token_runs * config_.num_kv_heads < kAttentionTasksPerThread * pool_->num_threads()
          ? 1
          : group;
  scratch_.attention_tasks.clear();
  for (size_t s = 0; s < batch.size(); ++s) {
    const int64_t count = static_cast<int64_t>(batch[s].tokens.size());
    for (int64_t head = 0; head < config_.num_heads; head += heads_per_task) {
      for (int64_t first = 0; first < count; first += kAttentionTokensPerTask) {
        scratch_.attention_tasks.push_back(
            {.sequence = static_cast<int64_t>(s),
             .kv_head = head / group,
             .first_head = head,
             .num_heads = heads_per_task,
             .first_token = first,
             .num_tokens = std::min(kAttentionTokensPerTask, count - first)});
      }
    }
  }
  pool_->ParallelFor(
      static_cast<int64_t>(scratch_.attention_tasks.size()),
      [&](int64_t task, int worker) { AttendTask(scratch_.attention_tasks[task], worker); });

  const Product o_proj[] = {{scratch_.attention.data(), ViewWeightMatrix(weights.o_proj),
                             DataOrNull(vectors.o_bias), scratch_.projected.data()}};
  ParallelMatMuls(n, o_proj);
  ResidualAndNorm(vectors.post_attention_norm.data());
}

void ModelRunner::GatherRuns(int64_t layer, absl::Span<const ForwardSequence> batch) {
  std::vector<KvRun>& runs = scratch_.runs;
  runs.clear();
  for (size_t s = 0; s < batch.size(); ++s) {
    const int64_t end = batch[s].start_position + static_cast<int64_t>(batch[s].tokens.size());
    for (int64_t kv_head = 0; kv_head < config_.num_kv_heads; ++kv_head) {
      scratch_.run_begin[s * config_.num_kv_heads + kv_head] = static_cast<int64_t>(runs.size());
      for (int64_t position = 0; position < end;) {
        runs.push_back(batch[s].kv->Run(layer, kv_head, position));
        position += runs.back().num_positions;
      }
    }
  }
  scratch_.run_begin[batch.size() * config_.num_kv_heads] = static_cast<int64_t>(runs.size());
}

void ModelRunner::AttendTask(const ForwardScratch::AttentionTask& task, int worker) {
  const int64_t head_dim = config_.head_dim;
  const int64_t first_row = scratch_.sequence_rows[task.sequence] + task.first_token;
  const int64_t start_position = scratch_.positions[first_row];
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  const int64_t run_index = task.sequence * config_.num_kv_heads + task.kv_head;
  const absl::Span<const KvRun> runs =
      absl::MakeConstSpan(scratch_.runs)
          .subspan(scratch_.run_begin[run_index],
                   scratch_.run_begin[run_index + 1] - scratch_.run_begin[run_index]);
  ForwardScratch::AttentionWorker& buffers = scratch_.attention_workers[worker];
  int64_t num_queries = 0;
  for (int64_t t = 0; t < task.num_tokens; ++t) {
    for (int64_t h = task.first_head; h < task.first_head + task.num_heads; ++h) {
      const int64_t offset = (first_row + t) * config_.q_dim() + h * head_dim;
      buffers.queries[num_queries++] = {.query = &scratch_.q[offset],
                                        .num_keys = start_position + t + 1,  // Causal.
                                        .out = &scratch_.attention[offset]};
    }
  }
  AttendQueries(absl::MakeConstSpan(buffers.queries.data(), num_queries), head_dim, runs, scale,
                buffers.scratch.data());
}

void ModelRunner::MlpLayer(int64_t layer) {
  const LayerWeights& weights = weights_.layers[layer];
  const int64_t n = num_tokens_;
  if (config_.is_moe_layer(layer)) {
    RunMoe(weights.moe, n);
  } else {
    const MlpJob mlp[] = {{.weights = &weights.mlp,
                           .input = scratch_.normed.data(),
                           .num_rows = n,
                           .gate = scratch_.gate.data(),
                           .up = scratch_.up.data(),
                           .output = scratch_.projected.data()}};
    RunMlps(mlp);
  }
  // The next layer's input norm; the final norm is ComputeLogits', for its rows only.
  const bool last = layer + 1 == config_.num_layers;
  ResidualAndNorm(last ? nullptr : layer_vectors_[layer + 1].input_norm.data());
}

void ModelRunner::RunMlps(absl::Span<const MlpJob> jobs) {
  // Two regions: gate and up over slices of the MLP width, each slice's SwiGLU right after its
  // products (SwiGLU is elementwise, so a slice of it is bitwise that part of the whole), then
  // down over slices of hidden. One thread runs each product whole.
  const int64_t threads = pool_->num_threads();
  const int64_t slices = threads == 1 ? 1 : threads * kSlicesPerThread;
  const int64_t num_tasks = static_cast<int64_t>(jobs.size()) * slices;
  // Q8A8 weights read each input quantized once for all slices and both products.
  absl::InlinedVector<const unsigned char*, 4> quantized(jobs.size(), nullptr);
  for (size_t j = 0; j < jobs.size(); ++j) {
    if (jobs[j].weights->gate_proj.dtype() == DType::kQ8A8 &&
        jobs[j].weights->up_proj.dtype() == DType::kQ8A8) {
      quantized[j] = QuantizeForQ8A8(jobs[j].input, jobs[j].num_rows,
                                     jobs[j].weights->gate_proj.dim(1), 2 * j);
    }
  }
  pool_->ParallelFor(num_tasks, [&](int64_t task, int) {
    const MlpJob& job = jobs[task / slices];
    const int64_t width = job.weights->gate_proj.dim(0);
    const auto [begin, end] = SliceBounds(width, slices, task % slices);
    if (begin >= end) return;
    const WeightMatrix gate_proj = ViewWeightMatrix(job.weights->gate_proj);
    const WeightMatrix up_proj = ViewWeightMatrix(job.weights->up_proj);
    if (const unsigned char* input = quantized[task / slices]; input != nullptr) {
      MatMulQ8A8Quantized(input, job.num_rows, gate_proj, nullptr, begin, end, job.gate);
      MatMulQ8A8Quantized(input, job.num_rows, up_proj, nullptr, begin, end, job.up);
    } else {
      MatMulOutputs(job.input, job.num_rows, gate_proj, nullptr, begin, end, job.gate);
      MatMulOutputs(job.input, job.num_rows, up_proj, nullptr, begin, end, job.up);
    }
    for (int64_t r = 0; r < job.num_rows; ++r) {
      float* gate = &job.gate[r * width + begin];
      SwiGlu(gate, &job.up[r * width + begin], end - begin, gate);
    }
  });
  for (size_t j = 0; j < jobs.size(); ++j) {
    quantized[j] = jobs[j].weights->down_proj.dtype() == DType::kQ8A8
                       ? QuantizeForQ8A8(jobs[j].gate, jobs[j].num_rows,
                                         jobs[j].weights->down_proj.dim(1), 2 * j + 1)
                       : nullptr;
  }
  pool_->ParallelFor(num_tasks, [&](int64_t task, int) {
    const MlpJob& job = jobs[task / slices];
    const WeightMatrix down = ViewWeightMatrix(job.weights->down_proj);
    const auto [begin, end] = SliceBounds(down.rows, slices, task % slices);
    if (begin >= end) return;
    if (const unsigned char* input = quantized[task / slices]; input != nullptr) {
      MatMulQ8A8Quantized(input, job.num_rows, down, nullptr, begin, end, job.output);
    } else {
      MatMulOutputs(job.gate, job.num_rows, down, nullptr, begin, end, job.output);
    }
  });
}

// Routes every row of `normed` to its top-k experts and writes the weighted sum of their outputs
// (plus the shared experts') to `projected`. Each expert runs once over all the rows it serves,
// all experts in the same two parallel regions (RunMlps); a row's result does not depend on
// which other rows an expert serves.
void ModelRunner::RunMoe(const MoeWeights& moe, int64_t num_rows) {
  const int64_t hidden = config_.hidden_size;
  const int64_t num_experts = config_.num_experts;
  const int64_t top_k = config_.experts_per_token;
  const int64_t num_slots = num_rows * top_k;
  float* probs = scratch_.router_probs.data();
  int64_t* ids = scratch_.expert_ids.data();
  float* expert_weights = scratch_.expert_weights.data();

  const Product router[] = {{scratch_.normed.data(), ViewWeightMatrix(moe.router), nullptr, probs}};
  ParallelMatMuls(num_rows, router);
  ParallelRows(num_rows, num_experts * top_k, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      float* row_probs = &probs[r * num_experts];
      SoftmaxInPlace(row_probs, num_experts);
      // Top-k by descending probability; among equal probabilities the lower expert id wins
      // (strict > keeps the first maximum).
      float total = 0.0f;
      for (int64_t j = 0; j < top_k; ++j) {
        int64_t best = -1;
        for (int64_t e = 0; e < num_experts; ++e) {
          const bool taken =
              std::find(&ids[r * top_k], &ids[r * top_k + j], e) != &ids[r * top_k + j];
          if (!taken && (best < 0 || row_probs[e] > row_probs[best])) best = e;
        }
        ids[r * top_k + j] = best;
        expert_weights[r * top_k + j] = row_probs[best];
        total += row_probs[best];
      }
      if (config_.norm_topk_prob) {
        for (int64_t j = 0; j < top_k; ++j) expert_weights[r * top_k + j] /= total;
      }
    }
  });

  // Group the slots by expert (a counting sort: O(N · K) on the calling thread), then gather the
  // rows in parallel.
  int64_t* expert_begin = scratch_.expert_begin.data();
  std::fill(expert_begin, expert_begin + num_experts + 1, 0);
  for (int64_t slot = 0; slot < num_slots; ++slot) ++expert_begin[ids[slot] + 1];
  for (int64_t e = 0; e < num_experts; ++e) expert_begin[e + 1] += expert_begin[e];
  for (int64_t slot = 0; slot < num_slots; ++slot) {
    const int64_t gathered = expert_begin[ids[slot]]++;
    scratch_.expert_slots[gathered] = slot;
    scratch_.slot_gathered[slot] = gathered;
  }
  for (int64_t e = num_experts; e > 0; --e) expert_begin[e] = expert_begin[e - 1];
  expert_begin[0] = 0;
  ParallelRows(num_slots, hidden, [&](int64_t begin, int64_t end) {
    for (int64_t gathered = begin; gathered < end; ++gathered) {
      std::memcpy(&scratch_.expert_input[gathered * hidden],
                  &scratch_.normed[scratch_.expert_slots[gathered] / top_k * hidden],
                  hidden * sizeof(float));
    }
  });

  // Every expert that serves a row, then every shared expert over all rows, each on its own rows
  // of gate/up/expert_output.
  const int64_t width = max_mlp_width_;
  std::vector<MlpJob>& jobs = mlp_jobs_;
  jobs.clear();
  for (int64_t e = 0; e < num_experts; ++e) {
    const int64_t served = expert_begin[e + 1] - expert_begin[e];
    if (served == 0) continue;
    const int64_t first = expert_begin[e];
    jobs.push_back({.weights = &moe.experts[e],
                    .input = &scratch_.expert_input[first * hidden],
                    .num_rows = served,
                    .gate = &scratch_.gate[first * width],
                    .up = &scratch_.up[first * width],
                    .output = &scratch_.expert_output[first * hidden]});
  }
  for (size_t shared = 0; shared < moe.shared_experts.size(); ++shared) {
    const int64_t first = num_slots + static_cast<int64_t>(shared) * num_rows;
    jobs.push_back({.weights = &moe.shared_experts[shared],
                    .input = scratch_.normed.data(),
                    .num_rows = num_rows,
                    .gate = &scratch_.gate[first * width],
                    .up = &scratch_.up[first * width],
                    .output = &scratch_.expert_output[first * hidden]});
  }
  RunMlps(jobs);

  // projected[r] = Σ_j w_j · (expert j's output for r) in rank order, then + each shared expert.
  const int64_t num_shared = static_cast<int64_t>(moe.shared_experts.size());
  ParallelRows(num_rows, hidden * (top_k + num_shared), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      float* projected = &scratch_.projected[r * hidden];
      std::fill(projected, projected + hidden, 0.0f);
      for (int64_t j = 0; j < top_k; ++j) {
        const float weight = expert_weights[r * top_k + j];
        const float* routed =
            &scratch_.expert_output[scratch_.slot_gathered[r * top_k + j] * hidden];
        for (int64_t i = 0; i < hidden; ++i) projected[i] += weight * routed[i];
      }
      for (int64_t shared = 0; shared < num_shared; ++shared) {
        const float* output =
            &scratch_.expert_output[((num_slots + shared * num_rows) + r) * hidden];
        for (int64_t i = 0; i < hidden; ++i) projected[i] += output[i];
      }
    }
  });
}

void ModelRunner::ComputeLogits(absl::Span<const ForwardSequence> batch) {
  const int64_t hidden = config_.hidden_size;
  const float eps = static_cast<float>(config_.rms_norm_eps);
  int64_t logits_row = 0;
  for (size_t s = 0; s < batch.size(); ++s) {
    scratch_.logits_rows[s] = logits_row;
    const int64_t first_row = scratch_.sequence_rows[s];
    const int64_t end_row = scratch_.sequence_rows[s + 1];
    const int64_t begin_row = batch[s].logits == LogitsMode::kAllPositions   ? first_row
                              : batch[s].logits == LogitsMode::kLastPosition ? end_row - 1
                                                                             : end_row;
    for (int64_t row = begin_row; row < end_row; ++row) {
      scratch_.logits_source[logits_row++] = row;
    }
  }
  scratch_.logits_rows[batch.size()] = logits_row;
  ParallelRows(logits_row, hidden, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      RmsNorm(&scratch_.hidden[scratch_.logits_source[row] * hidden], final_norm_.data(), hidden,
              eps, &scratch_.logits_hidden[row * hidden]);
    }
  });
  if (logits_row > 0) {
    const Product lm_head[] = {{scratch_.logits_hidden.data(), ViewWeightMatrix(weights_.lm_head),
                                nullptr, scratch_.logits.data()}};
    ParallelMatMuls(logits_row, lm_head);
  }
}

}  // namespace minimind
