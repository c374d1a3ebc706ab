// BlockPool: the fixed set of KV blocks of one server, their storage and their reference
// counts. Created once from a KvCacheConfig; never grows. Allocation is lazy at the OS level
// (pages are touched only when blocks are written).
//
// Block layout (element type T = the config's element type; B = block_size; D = head_dim;
// H = num_kv_heads; L = num_layers). Block b's codes, at Codes(b):
//   for each layer l: keys [H, B, D] T, then values [H, B, D] T
// so one (layer, kv head) run is B rows of D elements, stride D (what KvRun describes). For int8
// the f32 scales are kept apart (float-aligned whatever the sizes), at Scales(b):
//   for each layer l: key scales [H, B] f32, then value scales [H, B] f32
// Block storage is counted in full against the budget (codes + scales = BytesPerBlock()).
//
// Reference counts: a block is free (on the free list), referenced (count ≥ 1: owned by one or
// more sequences), or idle (count 0 but kept off the free list by its owner — the prefix cache
// keeps its unreferenced blocks idle in an LRU). Acquire takes a free block to count 1; AddRef
// also revives an idle block; Release drops a count and reports when it reaches 0, after which
// the caller either keeps the block idle or calls Free. Misuse (releasing a free block, freeing
// a referenced one) is a programming error caught by assert in debug builds.
//
// Thread-safety: none; owned and used by the one engine thread.
#ifndef MINIMIND_ENGINE_KV_BLOCK_POOL_H_
#define MINIMIND_ENGINE_KV_BLOCK_POOL_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/kv/kv_cache_config.h"

namespace minimind {

using BlockId = int32_t;

class BlockPool {
 public:
  // InvalidArgument for an invalid config (KvCacheConfig::Validate: e.g. a budget below one
  // block); ResourceExhausted if the memory cannot be reserved.
  static absl::StatusOr<BlockPool> Create(const KvCacheConfig& config);

  BlockPool(BlockPool&&) = default;
  BlockPool& operator=(BlockPool&&) = default;

  const KvCacheConfig& config() const { return config_; }
  int64_t num_blocks() const { return num_blocks_; }
  int64_t num_free() const { return static_cast<int64_t>(free_list_.size()); }
  int64_t num_referenced() const { return num_referenced_; }
  // Blocks with count 0 that are not free (kept by an owner such as the prefix cache).
  int64_t num_idle() const { return num_blocks_ - num_free() - num_referenced_; }

  // A free block with count 1, or nullopt when the free list is empty.
  std::optional<BlockId> Acquire();
  // Count + 1 (a referenced or idle block; not a free one).
  void AddRef(BlockId block);
  // Count - 1 (of a referenced block); true when it reached 0: the block is then idle until
  // the caller calls Free or AddRef.
  bool Release(BlockId block);
  // Puts an idle block (count 0) back on the free list.
  void Free(BlockId block);
  int32_t ref_count(BlockId block) const { return ref_counts_[block]; }
  bool is_free(BlockId block) const { return is_free_[block]; }

  // Storage of block `block` (see the layout above). Codes: BytesPerBlock minus the scales;
  // Scales: [L, 2, H, B] f32, nullptr unless the element type is int8.
  std::byte* Codes(BlockId block) { return codes_.get() + block * code_bytes_per_block_; }
  const std::byte* Codes(BlockId block) const {
    return codes_.get() + block * code_bytes_per_block_;
  }
  float* Scales(BlockId block) {
    return scales_ ? scales_.get() + block * scales_per_block_ : nullptr;
  }
  const float* Scales(BlockId block) const {
    return scales_ ? scales_.get() + block * scales_per_block_ : nullptr;
  }
  // Copies all of `from`'s storage (codes and scales) into `to`.
  void CopyBlock(BlockId from, BlockId to);

  int64_t code_bytes_per_block() const { return code_bytes_per_block_; }
  int64_t scales_per_block() const { return scales_per_block_; }

 private:
  BlockPool() = default;

  KvCacheConfig config_;
  int64_t num_blocks_ = 0;
  int64_t code_bytes_per_block_ = 0;    // L · 2 · H · B · D · element bytes
  int64_t scales_per_block_ = 0;        // L · 2 · H · B (int8), else 0
  std::unique_ptr<std::byte[]> codes_;  // [num_blocks, code_bytes_per_block]
  std::unique_ptr<float[]> scales_;     // [num_blocks, scales_per_block] (int8 only)
  std::vector<int32_t> ref_counts_;     // [num_blocks]
  std::vector<bool> is_free_;           // [num_blocks]
  std::vector<BlockId> free_list_;      // Stack; lowest ids on top initially.
  int64_t num_referenced_ = 0;
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_KV_BLOCK_POOL_H_
