// KvCacheConfig: how a server's paged KV cache is sized and stored — the model's KV geometry,
// the element type, the block size (positions per block) and the memory budget in bytes — plus
// the sizes derived from them. A plain value; thread-safe to read.
//
// Bytes per cached position (token), counting keys and values of every layer:
//   2 · layers · kv_heads · head_dim · element_bytes  (+ 2 · layers · kv_heads · 4 for int8's
//   f32 scale per position per kv head, for keys and for values)
// A block holds block_size positions; the pool holds floor(memory_bytes / bytes_per_block) blocks.
#ifndef MINIMIND_ENGINE_KV_KV_CACHE_CONFIG_H_
#define MINIMIND_ENGINE_KV_KV_CACHE_CONFIG_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/kernels/attention.h"
#include "engine/model/kv_sequence.h"

namespace minimind {

// "f32", "bf16", "f16" or "int8" (exactly; lower case); InvalidArgument naming the accepted
// values otherwise.
absl::StatusOr<KvElementType> ParseKvElementType(absl::string_view name);
// The name ParseKvElementType accepts for `type`.
absl::string_view KvElementTypeName(KvElementType type);
// Bytes of one stored element (key or value component): 4, 2, 2 or 1.
int64_t KvElementBytes(KvElementType type);

struct KvCacheConfig {
  KvShape shape;
  KvElementType element_type = KvElementType::kF32;
  int64_t block_size = 16;   // Positions per block.
  int64_t memory_bytes = 0;  // Budget for block storage (codes and int8 scales).

  // InvalidArgument (naming the field) unless the shape's sizes and block_size are positive,
  // memory_bytes ≥ 0, and the budget holds at least one block and fewer than 2^31 blocks.
  absl::Status Validate() const;

  // Everything stored for one position: all layers, keys and values, int8 scales (see the
  // header comment for the formula).
  int64_t BytesPerToken() const;
  // block_size · BytesPerToken().
  int64_t BytesPerBlock() const;
  // floor(memory_bytes / BytesPerBlock()); 0 for an invalid config.
  int64_t NumBlocks() const;
  // Blocks needed to hold `num_positions` positions: ceil(num_positions / block_size).
  int64_t BlocksFor(int64_t num_positions) const;
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_KV_KV_CACHE_CONFIG_H_
