// Reads a MiniMind-native .pth checkpoint — a state dict of tensors written by torch.save in its
// zip format (torch >= 1.6) — by memory-mapping the file and returning Tensor views into it
// (each Tensor keeps the mapping alive).
//
// The archive holds `<prefix>/data.pkl` (the pickled dict, read by the safe interpreter in
// torch_pickle.h, which never executes anything) and one `<prefix>/data/<key>` entry per storage.
// Entries must be STORED (torch never compresses them); a compressed one needed for loading is an
// error naming it. Tensors may start at an offset into their storage (shared storages); they must
// be contiguous (row-major strides; a size-1 dimension's stride is irrelevant), else
// Unimplemented. Storages must be F32, F16 or BF16. A .pth carries no config: the architecture
// comes from MiniMind's config.json, which checkpoint_loader finds beside the file.
//
// Malformed input is InvalidArgument (NotFound for a missing file) naming the file and the
// entry or tensor; never a crash. Thread-safety: a pure function of the file.
#ifndef MINIMIND_ENGINE_MODEL_PTH_READER_H_
#define MINIMIND_ENGINE_MODEL_PTH_READER_H_

#include <string>

#include "absl/status/statusor.h"
#include "engine/model/tensor.h"

namespace minimind {

absl::StatusOr<TensorMap> ReadPth(const std::string& path);

}  // namespace minimind

#endif  // MINIMIND_ENGINE_MODEL_PTH_READER_H_
