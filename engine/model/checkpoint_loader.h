// Loads a checkpoint from disk into a Model: parses the config, maps the weight files (never
// copies them unless a tensor is misaligned for its dtype) and checks every tensor against the
// architecture.
//
// Accepted layouts for `path`:
//   * a directory holding config.json and model.safetensors, or config.json and a sharded
//     checkpoint described by model.safetensors.index.json;
//   * a *.safetensors or *.safetensors.index.json file;
//   * a MiniMind-native *.pth file (a torch.save'd state dict).
// For files, the config comes from LoadOptions::config_path or else a config.json beside the file.
//
// The loader is strict, as the reference (tools/reference) is: the checkpoint must hold exactly
// the tensors the architecture names, with exactly the expected shapes, and no others — an extra
// tensor means the config does not describe the checkpoint (e.g. a qwen2 checkpoint with biases
// read as llama), which would otherwise run and produce silently wrong output. Two exceptions: a
// tied checkpoint may also carry `lm_head.weight` (MiniMind .pth files do; it is ignored), and
// the per-layer `rotary_emb.inv_freq` buffers old HF exports contain are ignored. Every weight is
// scanned for NaN/Inf. Errors name the file and tensor: NotFound (missing file), InvalidArgument
// (malformed file, missing/extra tensor, wrong shape, non-finite value), Unimplemented
// (unsupported model_type, dtype or feature).
//
// Thread-safety: LoadModel is a pure function of the files; concurrent calls are safe.
#ifndef MINIMIND_ENGINE_MODEL_CHECKPOINT_LOADER_H_
#define MINIMIND_ENGINE_MODEL_CHECKPOINT_LOADER_H_

#include <string>

#include "absl/status/statusor.h"
#include "engine/model/model.h"
#include "engine/model/model_config.h"
#include "engine/model/tensor.h"

namespace minimind {

struct LoadOptions {
  // The config.json to use; empty means config.json inside the directory or beside the file.
  std::string config_path;
};

absl::StatusOr<Model> LoadModel(const std::string& path, const LoadOptions& options = {});

// Builds a Model from already-read tensors, with the same checks as LoadModel (for callers that
// construct weights in memory). `tensors` are referenced, not copied.
absl::StatusOr<Model> AssembleModel(const ModelConfig& config, const TensorMap& tensors);

}  // namespace minimind

#endif  // MINIMIND_ENGINE_MODEL_CHECKPOINT_LOADER_H_
