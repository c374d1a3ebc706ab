#include "engine/kv/block_allocator.h"

#include <optional>
#include <utility>

namespace minimind {

BlockAllocator::BlockAllocator(BlockPool pool)
    : pool_(std::move(pool)), prefix_cache_(pool_.num_blocks(), pool_.config().block_size) {}

std::optional<BlockId> BlockAllocator::Acquire() {
  if (std::optional<BlockId> block = pool_.Acquire()) return block;
  const std::optional<BlockId> evicted = prefix_cache_.EvictLeastRecentlyUsed();
  if (!evicted) return std::nullopt;
  ++counters_.evictions;
  pool_.AddRef(*evicted);  // Idle -> referenced by the caller.
  return evicted;
}

void BlockAllocator::Share(BlockId block) {
  if (pool_.ref_count(block) == 0) prefix_cache_.MarkInUse(block);
  pool_.AddRef(block);
}

void BlockAllocator::Release(BlockId block) {
  if (!pool_.Release(block)) return;
  if (prefix_cache_.IsPublished(block)) {
    prefix_cache_.MarkIdle(block);
  } else {
    pool_.Free(block);
  }
}

KvCacheStats BlockAllocator::stats() const {
  KvCacheStats stats = counters_;
  stats.blocks_total = pool_.num_blocks();
  stats.blocks_used = pool_.num_referenced();
  stats.blocks_free = pool_.num_free();
  stats.blocks_cached = prefix_cache_.num_idle();
  stats.blocks_published = prefix_cache_.num_published();
  return stats;
}

}  // namespace minimind
