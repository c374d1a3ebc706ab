// Model: a loaded checkpoint — its architecture and its weights — as one value. Produced by
// LoadModel (checkpoint_loader.h); read by the forward pass. Immutable after loading and safe to
// share between threads; copying a Model copies tensor views, never weight data.
#ifndef MINIMIND_ENGINE_MODEL_MODEL_H_
#define MINIMIND_ENGINE_MODEL_MODEL_H_

#include <cstdint>

#include "engine/model/model_config.h"
#include "engine/model/model_weights.h"

namespace minimind {

struct Model {
  ModelConfig config;
  ModelWeights weights;
  // Distinct parameters (elements) the weights hold; tied embeddings count once.
  int64_t parameter_count = 0;
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_MODEL_MODEL_H_
