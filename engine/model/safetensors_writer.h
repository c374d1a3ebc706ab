// Writes tensors as a safetensors file, in the same layout tools/reference/safetensors_io.py
// writes: compact JSON header with "__metadata__": {"format": "pt"} first and then the tensors in
// name order, space-padded so the data section starts at a multiple of 8, tensor data back to back
// in name order. The output is a pure function of the input (bit-identical across runs), which the
// random checkpoint generator relies on. Used by that generator and by tests that craft
// checkpoints. Thread-safe (no shared state).
#ifndef MINIMIND_ENGINE_MODEL_SAFETENSORS_WRITER_H_
#define MINIMIND_ENGINE_MODEL_SAFETENSORS_WRITER_H_

#include <string>

#include "absl/status/status.h"
#include "engine/model/tensor.h"

namespace minimind {

// The complete file contents.
std::string SerializeSafetensors(const TensorMap& tensors);

// Writes SerializeSafetensors(tensors) to `path`, replacing any existing file. The error names
// the path and the system's reason.
absl::Status WriteSafetensors(const std::string& path, const TensorMap& tensors);

}  // namespace minimind

#endif  // MINIMIND_ENGINE_MODEL_SAFETENSORS_WRITER_H_
