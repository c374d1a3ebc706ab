// BlockAllocator: the one place KV blocks change hands — the BlockPool together with the
// PrefixCache whose idle blocks it may reclaim, and the cache counters. Sequences
// (PagedKvSequence) and the KvCache facade call it; nothing else touches the pool's counts.
//
//   Acquire: a free block, else the least recently used idle cached block (evicted from the
//            prefix cache: one eviction), else none.
//   Share:   one more reference to a referenced block, or revives an idle cached block.
//   Release: one reference less; at zero a published block goes idle into the LRU, any other
//            block back to the free list.
// Invariant: blocks_used + blocks_free + blocks_cached == blocks_total, where used = count ≥ 1,
// free = on the free list, cached = idle published blocks (in the LRU).
//
// Lives on the heap behind KvCache so its address is stable while sequences point at it.
// Thread-safety: none; owned and used by the one engine thread.
#ifndef MINIMIND_ENGINE_KV_BLOCK_ALLOCATOR_H_
#define MINIMIND_ENGINE_KV_BLOCK_ALLOCATOR_H_

#include <cstdint>
#include <optional>

#include "engine/kv/block_pool.h"
#include "engine/kv/prefix_cache.h"

namespace minimind {

// Counters of a KV cache (KvCache::stats()).
struct KvCacheStats {
  int64_t lookups = 0;        // AttachCachedPrefix calls.
  int64_t lookup_tokens = 0;  // Tokens those calls looked up (the prompts offered to the cache).
  int64_t hit_tokens = 0;     // Positions those calls attached from the cache.
  int64_t evictions = 0;      // Cached blocks reclaimed for reuse.
  int64_t published = 0;      // Prefix-cache entries created.
  int64_t copy_on_write = 0;  // Shared blocks copied before a write.
  int64_t blocks_total = 0;
  int64_t blocks_used = 0;       // Referenced by at least one sequence.
  int64_t blocks_free = 0;       // On the free list.
  int64_t blocks_cached = 0;     // Unreferenced blocks kept by the prefix cache (reclaimable).
  int64_t blocks_published = 0;  // Blocks with a prefix-cache entry, referenced or not.
};

class BlockAllocator {
 public:
  explicit BlockAllocator(BlockPool pool);

  BlockAllocator(const BlockAllocator&) = delete;
  BlockAllocator& operator=(const BlockAllocator&) = delete;

  std::optional<BlockId> Acquire();
  void Share(BlockId block);
  void Release(BlockId block);
  // A block exclusive to one sequence (count 1, unpublished) may be written in place.
  bool IsExclusive(BlockId block) const {
    return pool_.ref_count(block) == 1 && !prefix_cache_.IsPublished(block);
  }
  // Blocks Acquire can still return: free + idle cached.
  int64_t available() const { return pool_.num_free() + prefix_cache_.num_idle(); }

  BlockPool& pool() { return pool_; }
  const BlockPool& pool() const { return pool_; }
  PrefixCache& prefix_cache() { return prefix_cache_; }
  const PrefixCache& prefix_cache() const { return prefix_cache_; }
  const KvCacheConfig& config() const { return pool_.config(); }

  // Counters kept by the facade and sequences.
  KvCacheStats& counters() { return counters_; }
  // The counters plus the current block counts.
  KvCacheStats stats() const;

 private:
  BlockPool pool_;
  PrefixCache prefix_cache_;
  KvCacheStats counters_;
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_KV_BLOCK_ALLOCATOR_H_
