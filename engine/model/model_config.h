// ModelConfig: the architecture of a MiniMind-family model as a plain struct, parsed from a
// Hugging Face `config.json` (or a sidecar config for MiniMind's native .pth checkpoints).
// Derived sizes are methods. A value type; immutable once parsed.
#ifndef MINIMIND_ENGINE_MODEL_MODEL_CONFIG_H_
#define MINIMIND_ENGINE_MODEL_MODEL_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace minimind {

// Supported `model_type`s. `kMiniMind` is MiniMind2's own config (dense or MoE with shared
// experts); minimind-3 checkpoints are exported as qwen3 / qwen3_moe.
enum class Architecture { kLlama, kQwen2, kQwen3, kQwen3Moe, kMiniMind };

const char* ArchitectureName(Architecture architecture);  // The model_type string.

struct RopeScaling {
  enum class Type { kNone, kYarn };
  // kNone also when a minimind config asks for YaRN but its context does not exceed the
  // original one (MiniMind2 then leaves RoPE unscaled).
  Type type = Type::kNone;
  double factor = 1.0;
  int64_t original_max_position_embeddings = 0;
  double beta_fast = 32.0;
  double beta_slow = 1.0;
  // Multiplier applied to cos and sin (YaRN's mscale); 0.1 * ln(factor) + 1 unless given.
  double attention_factor = 1.0;
  // MiniMind2's own YaRN variant clamps the ramp's upper bound to head_dim / 2 - 1.
  bool clamp_high_to_half_dim = false;
  // Floor/ceil the correction range to whole dimensions (HF's `truncate`, default true).
  bool truncate = true;
};

struct ModelConfig {
  Architecture architecture = Architecture::kLlama;
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;           // From config when given (qwen3), else hidden / heads.
  int64_t intermediate_size = 0;  // Dense MLP width (MiniMind2 MoE: every expert's width).
  int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool tie_word_embeddings = false;
  bool attention_bias = false;  // q/k/v projections carry biases (qwen2).
  bool o_proj_bias = false;     // o_proj carries a bias too (llama/qwen3 `attention_bias: true`).
  bool qk_norm = false;         // Per-head RMSNorm on q and k before RoPE (qwen3).

  // Mixture of experts; `num_experts == 0` means dense.
  int64_t num_experts = 0;
  int64_t experts_per_token = 0;
  int64_t moe_intermediate_size = 0;  // Width of each routed expert.
  int64_t num_shared_experts = 0;     // Always-on experts added to the routed output.
  bool norm_topk_prob = false;        // Renormalise the top-k router probabilities.
  // Per layer: whether its MLP is a mixture of experts (qwen3_moe's decoder_sparse_step and
  // mlp_only_layers). Empty for dense models.
  std::vector<bool> layer_is_moe;

  int64_t q_dim() const { return num_heads * head_dim; }
  int64_t kv_dim() const { return num_kv_heads * head_dim; }
  int64_t heads_per_kv_head() const { return num_heads / num_kv_heads; }
  bool is_moe_layer(int64_t layer) const { return !layer_is_moe.empty() && layer_is_moe[layer]; }
};

// Parses config.json text. InvalidArgument names the key and the problem (missing, wrong type,
// inconsistent such as heads not dividing hidden); Unimplemented for an unsupported model_type.
absl::StatusOr<ModelConfig> ParseModelConfig(absl::string_view json_text);

}  // namespace minimind

#endif  // MINIMIND_ENGINE_MODEL_MODEL_CONFIG_H_
