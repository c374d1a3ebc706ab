// Reads safetensors checkpoints — one file, or a sharded set described by
// model.safetensors.index.json — by memory-mapping them read-only and returning Tensor views into
// the mappings (each Tensor keeps its file mapped). Nothing is copied except a tensor whose data
// is misaligned for its dtype.
//
// File layout: [u64 LE header length N][N bytes of JSON][data section]. The header maps each
// tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the data
// section) plus an optional "__metadata__" object, which is ignored. Everything is validated
// before any tensor is handed out, with HF safetensors' rules: header length within the file and
// at most 100 MB, JSON object, known dtype, non-negative integer shape, offsets inside the data
// section with end - begin == elements * dtype size, and tensors packed without gaps or overlaps
// covering the whole data section. F32, F16 and BF16 are supported; other dtypes (I64, F64, ...)
// are Unimplemented. Malformed input is InvalidArgument, a missing file NotFound; every message
// names the file and, where there is one, the tensor. Never crashes on bad input.
//
// Thread-safety: pure functions of the files; concurrent calls are safe.
#ifndef MINIMIND_ENGINE_MODEL_SAFETENSORS_READER_H_
#define MINIMIND_ENGINE_MODEL_SAFETENSORS_READER_H_

#include <string>

#include "absl/status/statusor.h"
#include "engine/model/tensor.h"

namespace minimind {

// Reads every tensor of one .safetensors file.
absl::StatusOr<TensorMap> ReadSafetensors(const std::string& path);

// Reads a sharded checkpoint from its index ({"weight_map": {tensor name: shard file name}},
// shards in the index's directory). The index and the shards must agree exactly: a tensor the
// index places in a shard must be there, a tensor in a shard must be listed for that shard, and
// no name may appear in two shards. Shard names must be plain file names (no directories).
absl::StatusOr<TensorMap> ReadShardedSafetensors(const std::string& index_path);

}  // namespace minimind

#endif  // MINIMIND_ENGINE_MODEL_SAFETENSORS_READER_H_
