#include "engine/kv/block_pool.h"

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "engine/base/status_macros.h"

namespace minimind {

absl::StatusOr<BlockPool> BlockPool::Create(const KvCacheConfig& config) {
  MINIMIND_RETURN_IF_ERROR(config.Validate());
  BlockPool pool;
  pool.config_ = config;
  pool.num_blocks_ = config.NumBlocks();
  const KvShape& shape = config.shape;
  const int64_t rows = shape.num_layers * 2 * shape.num_kv_heads * config.block_size;
  pool.code_bytes_per_block_ = rows * shape.head_dim * KvElementBytes(config.element_type);
  pool.scales_per_block_ = config.element_type == KvElementType::kInt8 ? rows : 0;
  try {
    // Left uninitialised: the OS maps pages only as blocks are first written.
    pool.codes_ = std::make_unique_for_overwrite<std::byte[]>(
        static_cast<size_t>(pool.num_blocks_ * pool.code_bytes_per_block_));
    if (pool.scales_per_block_ > 0) {
      pool.scales_ = std::make_unique_for_overwrite<float[]>(
          static_cast<size_t>(pool.num_blocks_ * pool.scales_per_block_));
    }
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot reserve ", pool.num_blocks_ * config.BytesPerBlock(),
                     " bytes for a KV cache of ", pool.num_blocks_, " blocks"));
  }
  pool.ref_counts_.assign(static_cast<size_t>(pool.num_blocks_), 0);
  pool.is_free_.assign(static_cast<size_t>(pool.num_blocks_), true);
  pool.free_list_.reserve(static_cast<size_t>(pool.num_blocks_));
  for (int64_t b = pool.num_blocks_ - 1; b >= 0; --b) {
    pool.free_list_.push_back(static_cast<BlockId>(b));
  }
  return pool;
}

std::optional<BlockId> BlockPool::Acquire() {
  if (free_list_.empty()) return std::nullopt;
  const BlockId block = free_list_.back();
  free_list_.pop_back();
  is_free_[block] = false;
  ref_counts_[block] = 1;
  ++num_referenced_;
  return block;
}

void BlockPool::AddRef(BlockId block) {
  assert(!is_free_[block]);
  if (ref_counts_[block]++ == 0) ++num_referenced_;
}

bool BlockPool::Release(BlockId block) {
  assert(!is_free_[block] && ref_counts_[block] > 0);
  if (--ref_counts_[block] > 0) return false;
  --num_referenced_;
  return true;
}

void BlockPool::Free(BlockId block) {
  assert(!is_free_[block] && ref_counts_[block] == 0);
  is_free_[block] = true;
  free_list_.push_back(block);
}

void BlockPool::CopyBlock(BlockId from, BlockId to) {
  std::memcpy(Codes(to), Codes(from), static_cast<size_t>(code_bytes_per_block_));
  if (scales_) {
    std::memcpy(Scales(to), Scales(from), static_cast<size_t>(scales_per_block_) * sizeof(float));
  }
}

}  // namespace minimind
