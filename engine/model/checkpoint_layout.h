// The tensors a checkpoint of a given architecture holds — their Hugging Face / MiniMind names and
// exact shapes (tools/reference/README.md, "Tensor names") — and the ModelWeights field each one
// fills. The single source of truth for naming, shared by the loader (which checks a checkpoint
// against it) and the random checkpoint generator (which writes one from it).
#ifndef MINIMIND_ENGINE_MODEL_CHECKPOINT_LAYOUT_H_
#define MINIMIND_ENGINE_MODEL_CHECKPOINT_LAYOUT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "engine/model/model_config.h"
#include "engine/model/model_weights.h"
#include "engine/model/tensor.h"

namespace minimind {

struct WeightSlot {
  std::string name;            // e.g. "model.layers.0.self_attn.q_proj.weight"
  std::vector<int64_t> shape;  // e.g. [q_dim, hidden]
  Tensor* destination;         // The field of the ModelWeights passed to CheckpointLayout.
};

// Sizes `weights` for `config` (layers, experts, shared experts) and returns one slot per tensor
// a checkpoint of that config must hold, in the reference's order. `lm_head.weight` is listed
// only when embeddings are untied. The destinations point into `weights`: valid while it lives
// and is not resized. `config` must be valid (as ParseModelConfig returns it).
std::vector<WeightSlot> CheckpointLayout(const ModelConfig& config, ModelWeights& weights);

}  // namespace minimind

#endif  // MINIMIND_ENGINE_MODEL_CHECKPOINT_LAYOUT_H_
