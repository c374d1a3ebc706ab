#include "engine/model/checkpoint_layout.h"

#include "absl/strings/str_cat.h"

namespace minimind {
namespace {

void AddMlp(const std::string& prefix, int64_t width, int64_t hidden, MlpWeights& mlp,
            std::vector<WeightSlot>& slots) {
  slots.push_back({absl::StrCat(prefix, ".gate_proj.weight"), {width, hidden}, &mlp.gate_proj});
  slots.push_back({absl::StrCat(prefix, ".up_proj.weight"), {width, hidden}, &mlp.up_proj});
  slots.push_back({absl::StrCat(prefix, ".down_proj.weight"), {hidden, width}, &mlp.down_proj});
}

}  // namespace

std::vector<WeightSlot> CheckpointLayout(const ModelConfig& config, ModelWeights& weights) {
  const int64_t hidden = config.hidden_size;
  const int64_t head_dim = config.head_dim;
  std::vector<WeightSlot> slots;
  slots.push_back(
      {"model.embed_tokens.weight", {config.vocab_size, hidden}, &weights.embed_tokens});
  slots.push_back({"model.norm.weight", {hidden}, &weights.final_norm});
  if (!config.tie_word_embeddings) {
    slots.push_back({"lm_head.weight", {config.vocab_size, hidden}, &weights.lm_head});
  }

  weights.layers.assign(config.num_layers, LayerWeights{});
  for (int64_t index = 0; index < config.num_layers; ++index) {
    LayerWeights& layer = weights.layers[index];
    AttentionWeights& attention = layer.attention;
    const std::string prefix = absl::StrCat("model.layers.", index);
    const std::string attn = absl::StrCat(prefix, ".self_attn");
    slots.push_back({absl::StrCat(prefix, ".input_layernorm.weight"), {hidden}, &layer.input_norm});
    slots.push_back({absl::StrCat(prefix, ".post_attention_layernorm.weight"),
                     {hidden},
                     &layer.post_attention_norm});
    slots.push_back(
        {absl::StrCat(attn, ".q_proj.weight"), {config.q_dim(), hidden}, &attention.q_proj});
    slots.push_back(
        {absl::StrCat(attn, ".k_proj.weight"), {config.kv_dim(), hidden}, &attention.k_proj});
    slots.push_back(
        {absl::StrCat(attn, ".v_proj.weight"), {config.kv_dim(), hidden}, &attention.v_proj});
    slots.push_back(
        {absl::StrCat(attn, ".o_proj.weight"), {hidden, config.q_dim()}, &attention.o_proj});
    if (config.attention_bias) {
      slots.push_back({absl::StrCat(attn, ".q_proj.bias"), {config.q_dim()}, &attention.q_bias});
      slots.push_back({absl::StrCat(attn, ".k_proj.bias"), {config.kv_dim()}, &attention.k_bias});
      slots.push_back({absl::StrCat(attn, ".v_proj.bias"), {config.kv_dim()}, &attention.v_bias});
    }
    if (config.o_proj_bias) {
      slots.push_back({absl::StrCat(attn, ".o_proj.bias"), {hidden}, &attention.o_bias});
    }
    if (config.qk_norm) {
      slots.push_back({absl::StrCat(attn, ".q_norm.weight"), {head_dim}, &attention.q_norm});
      slots.push_back({absl::StrCat(attn, ".k_norm.weight"), {head_dim}, &attention.k_norm});
    }
    if (config.is_moe_layer(index)) {
      MoeWeights& moe = layer.moe;
      slots.push_back(
          {absl::StrCat(prefix, ".mlp.gate.weight"), {config.num_experts, hidden}, &moe.router});
      moe.experts.assign(config.num_experts, MlpWeights{});
      for (int64_t expert = 0; expert < config.num_experts; ++expert) {
        AddMlp(absl::StrCat(prefix, ".mlp.experts.", expert), config.moe_intermediate_size, hidden,
               moe.experts[expert], slots);
      }
      moe.shared_experts.assign(config.num_shared_experts, MlpWeights{});
      for (int64_t expert = 0; expert < config.num_shared_experts; ++expert) {
        AddMlp(absl::StrCat(prefix, ".mlp.shared_experts.", expert), config.moe_intermediate_size,
               hidden, moe.shared_experts[expert], slots);
      }
    } else {
      AddMlp(absl::StrCat(prefix, ".mlp"), config.intermediate_size, hidden, layer.mlp, slots);
    }
  }
  return slots;
}

}  // namespace minimind
