// KvCache: the paged KV cache of one server — the block pool, the prefix cache and the counters
// behind one facade. It hands out PagedKvSequences (each a fresh, isolated cache for one
// generation unless it explicitly reuses cached or shared blocks) and implements prefix reuse
// and sharing on top of them.
//
// Ownership: the KvCache owns the pool (on the heap, so moving the KvCache keeps sequences
// valid); sequences hold references to its blocks and return them in their destructors (RAII),
// so every sequence must be destroyed before its KvCache. Movable, not copyable.
// Thread-safety: none. The one engine thread owns the cache and every sequence of it.
#ifndef MINIMIND_ENGINE_KV_KV_CACHE_H_
#define MINIMIND_ENGINE_KV_KV_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "engine/kv/block_allocator.h"
#include "engine/kv/kv_cache_config.h"
#include "engine/kv/paged_kv_sequence.h"

namespace minimind {

class KvCache {
 public:
  // InvalidArgument for an invalid config (a budget below one block names both sizes).
  static absl::StatusOr<KvCache> Create(const KvCacheConfig& config);

  KvCache(KvCache&&) = default;
  KvCache& operator=(KvCache&&) = default;

  const KvCacheConfig& config() const { return allocator_->config(); }

  // A fresh, empty, isolated sequence whose blocks come from this cache.
  std::unique_ptr<PagedKvSequence> NewSequence();

  // Attaches to an EMPTY sequence of this cache the longest cached prefix of `tokens` under
  // `salt`, never all of `tokens` (at least one token must remain to compute logits from), and
  // returns the number of positions now present (a multiple of block_size). Returns 0 without
  // change for a non-empty sequence or one of another cache. Counts a lookup and the hit tokens.
  int64_t AttachCachedPrefix(PagedKvSequence& seq, absl::Span<const int32_t> tokens, uint64_t salt);
  // What AttachCachedPrefix would attach now, without attaching or counting (for admission).
  int64_t CachedPrefixLength(absl::Span<const int32_t> tokens, uint64_t salt) const;

  // Publishes the sequence's full blocks covering tokens[0, n), n = min(tokens.size(),
  // seq.num_positions()) — `tokens` are the tokens whose KV the sequence holds, in order — so
  // later requests can reuse them. Blocks already cached for the same prefix stay as they are.
  void PublishFullBlocks(const PagedKvSequence& seq, absl::Span<const int32_t> tokens,
                         uint64_t salt);

  // A new sequence sharing `source`'s blocks (including a partial last block) for its first
  // min(num_positions, source.num_positions()) positions; writes past them copy-on-write. For
  // session fork and for resuming a session's retained KV. Needs no free block.
  std::unique_ptr<PagedKvSequence> ShareFrom(const PagedKvSequence& source, int64_t num_positions);

  // The storage of `seq`'s blocks, bit for bit, in block-table order: per block its codes, then
  // (int8) its scales as f32 — ExportedBlockBytes() each, positions past num_positions included.
  // For moving a sequence's KV out of the pool (the KV spill tier) and back with ImportBlocks.
  std::vector<std::byte> ExportBlocks(const PagedKvSequence& seq) const;
  // The same into `out`, which holds exactly ExportedBlockBytes() per block of `seq`
  // (InvalidArgument otherwise). Reads only the pool's geometry and `seq`'s blocks, so it may run
  // on any thread while no one writes those blocks (KvReleaseQueue::ExportHeld).
  absl::Status ExportBlocksInto(const PagedKvSequence& seq, absl::Span<std::byte> out) const;
  // Bytes per block in ExportBlocks' layout.
  int64_t ExportedBlockBytes() const;
  // A new sequence of `num_positions` positions holding `bytes` (ExportBlocks' layout, from a
  // cache of the same config): reads back exactly the bits exported. InvalidArgument when the
  // size is not BlocksFor(num_positions) blocks; ResourceExhausted when the pool, after
  // reclaiming idle cached blocks, cannot supply them (nothing is held then).
  absl::StatusOr<std::unique_ptr<PagedKvSequence>> ImportBlocks(absl::Span<const std::byte> bytes,
                                                                int64_t num_positions);

  // Blocks available to new allocations: free + idle cached (reclaimable) blocks.
  int64_t FreeBlocks() const { return allocator_->available(); }
  // Blocks a sequence needs to grow from `from_positions` to `to_positions` when its partial
  // last block is exclusive: ceil(to / B) - ceil(from / B) (0 when to ≤ from). A sequence whose
  // partial block is shared needs one more (PagedKvSequence::BlocksToGrow is exact).
  int64_t BlocksNeeded(int64_t from_positions, int64_t to_positions) const;

  KvCacheStats stats() const { return allocator_->stats(); }
  // Read-only view of the pool and prefix cache (per-block counts), for accounting tests.
  const BlockAllocator& allocator() const { return *allocator_; }

 private:
  explicit KvCache(std::unique_ptr<BlockAllocator> allocator);

  std::unique_ptr<BlockAllocator> allocator_;
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_KV_KV_CACHE_H_
