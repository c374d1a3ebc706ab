// ModelWeights: every weight tensor of a model, grouped by layer, in its stored dtype (F32, F16
// or BF16; compute converts to f32 on the fly). Tensors view memory-mapped checkpoint files or
// heap buffers and keep them alive. Linear weights are Hugging Face's [out_features, in_features],
// row-major. Immutable after loading; safe to read from any thread.
#ifndef MINIMIND_ENGINE_MODEL_MODEL_WEIGHTS_H_
#define MINIMIND_ENGINE_MODEL_MODEL_WEIGHTS_H_

#include <vector>

#include "engine/model/model_config.h"
#include "engine/model/tensor.h"

namespace minimind {

struct AttentionWeights {
  Tensor q_proj;  // [q_dim, hidden]
  Tensor k_proj;  // [kv_dim, hidden]
  Tensor v_proj;  // [kv_dim, hidden]
  Tensor o_proj;  // [hidden, q_dim]
  Tensor q_bias;  // [q_dim], empty unless config.attention_bias
  Tensor k_bias;  // [kv_dim]
  Tensor v_bias;  // [kv_dim]
  Tensor o_bias;  // [hidden], empty unless config.o_proj_bias
  Tensor q_norm;  // [head_dim], empty unless config.qk_norm
  Tensor k_norm;  // [head_dim]
};

// A SwiGLU feed-forward: down(silu(gate(x)) * up(x)).
struct MlpWeights {
  Tensor gate_proj;  // [width, hidden]
  Tensor up_proj;    // [width, hidden]
  Tensor down_proj;  // [hidden, width]
};

struct MoeWeights {
  Tensor router;                           // [num_experts, hidden]
  std::vector<MlpWeights> experts;         // num_experts, width moe_intermediate_size
  std::vector<MlpWeights> shared_experts;  // num_shared_experts
};

struct LayerWeights {
  Tensor input_norm;           // [hidden]
  Tensor post_attention_norm;  // [hidden]
  AttentionWeights attention;
  MlpWeights mlp;  // Dense layers only.
  MoeWeights moe;  // MoE layers only (config.is_moe_layer).
};

struct ModelWeights {
  Tensor embed_tokens;  // [vocab, hidden]
  std::vector<LayerWeights> layers;
  Tensor final_norm;  // [hidden]
  Tensor lm_head;     // [vocab, hidden]; views embed_tokens when embeddings are tied.
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_MODEL_MODEL_WEIGHTS_H_
