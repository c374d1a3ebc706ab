// PrefixCache: an index from token prefixes to KV blocks holding them, so a request whose
// prompt starts like an earlier one reuses that KV instead of recomputing it.
//
// Only full blocks are published. Block i of a token sequence (tokens [i·B, (i+1)·B)) is keyed by
// a hash chain
//   h_0 = kRootHash,  h_{i+1} = ChainHash(h_i, tokens of block i, salt)
// so a key names the whole prefix up to and including that block, and different salts (tenants)
// never share an entry. ChainHash is a 64-bit multiply-xor-fold mix (wyhash-style), strong for
// non-adversarial inputs but not cryptographic — and correctness never depends on it: each
// entry also stores its salt, its block's tokens and the serial number of its parent entry, and
// Lookup/Publish compare all three, so a hash collision can only cost a miss, never return
// another prefix's KV. (Serials are never reused, so a child of an evicted-and-replaced parent
// can never match the replacement.)
//
// LRU: the cache does not own references. An entry's block is either referenced by sequences
// (not in the LRU) or idle; the owner (BlockAllocator) calls MarkIdle when the block's count
// drops to 0 and MarkInUse when it is referenced again. EvictLeastRecentlyUsed removes the
// least recently idled entry and hands its block back for reuse — the pool reclaims cached
// blocks only when it has no free block. Children are released before parents (sequences
// release blocks back to front) so a chain is evicted from its tail.
//
// Thread-safety: none; owned and used by the one engine thread.
#ifndef MINIMIND_ENGINE_KV_PREFIX_CACHE_H_
#define MINIMIND_ENGINE_KV_PREFIX_CACHE_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/types/span.h"
#include "engine/kv/block_pool.h"

namespace minimind {

class PrefixCache {
 public:
  static constexpr uint64_t kRootHash = 0x6d696e696d696e64ull;  // h_0 of every chain.

  // Hash of a block whose predecessor chain hashes to `parent`.
  static uint64_t ChainHash(uint64_t parent, absl::Span<const int32_t> block_tokens, uint64_t salt);

  using HashFunction = uint64_t (*)(uint64_t parent, absl::Span<const int32_t> block_tokens,
                                    uint64_t salt);

  // For a pool of `num_blocks` blocks of `block_size` positions. `hash` replaces ChainHash only
  // in tests (a degenerate hash proves collisions never return wrong blocks).
  PrefixCache(int64_t num_blocks, int64_t block_size, HashFunction hash = &ChainHash);

  PrefixCache(PrefixCache&&) = default;
  PrefixCache& operator=(PrefixCache&&) = default;

  // The blocks of the longest published chain that matches the full blocks of `tokens` under
  // `salt`, at most `max_blocks` of them, in order. Does not change the LRU or any count.
  std::vector<BlockId> Lookup(absl::Span<const int32_t> tokens, uint64_t salt,
                              int64_t max_blocks) const;

  // Publishes blocks[i] as holding tokens [i·B, (i+1)·B) for i < min(blocks.size(),
  // tokens.size() / B), walking the chain from the root: a block whose prefix is already
  // published under another block is skipped (the existing entry stays), and the walk stops at
  // a hash collision or at a block already published as some other prefix. The blocks must be
  // referenced (not idle). Returns how many entries were created.
  int64_t Publish(absl::Span<const BlockId> blocks, absl::Span<const int32_t> tokens,
                  uint64_t salt);

  bool IsPublished(BlockId block) const { return serial_of_block_[block] != kNoEntry; }
  // `block` (published) lost its last reference: it becomes the most recently used idle entry.
  void MarkIdle(BlockId block);
  // `block` (published, idle) is referenced again: it leaves the LRU.
  void MarkInUse(BlockId block);
  // Unpublishes the least recently used idle block and returns it (now an ordinary idle block
  // for the pool to reuse or free), or nullopt if no published block is idle.
  std::optional<BlockId> EvictLeastRecentlyUsed();

  int64_t num_published() const { return static_cast<int64_t>(entries_.size()); }
  int64_t num_idle() const { return num_idle_; }

 private:
  static constexpr uint64_t kNoEntry = 0;  // Serials start at 1; 0 is also the root's serial.
  static constexpr BlockId kNoBlock = -1;

  struct Entry {
    BlockId block = kNoBlock;
    uint64_t serial = 0;
    uint64_t parent_serial = 0;  // 0 for the first block of a chain.
    uint64_t salt = 0;
    std::vector<int32_t> tokens;  // [block_size]
  };

  // The entry under `hash` if it is exactly (parent_serial, salt, tokens), else nullptr.
  const Entry* FindExact(uint64_t hash, uint64_t parent_serial, uint64_t salt,
                         absl::Span<const int32_t> tokens) const;
  void LinkAsNewest(BlockId block);
  void Unlink(BlockId block);

  int64_t block_size_ = 0;
  HashFunction hash_ = &ChainHash;
  uint64_t next_serial_ = 1;
  absl::flat_hash_map<uint64_t, Entry> entries_;  // By chain hash.
  std::vector<uint64_t> serial_of_block_;         // [num_blocks] its entry's serial, or kNoEntry
  std::vector<uint64_t> hash_of_block_;           // [num_blocks] its entry's key (when published)
  // Intrusive doubly linked LRU of idle published blocks: oldest at lru_head_.
  std::vector<BlockId> lru_prev_;  // [num_blocks]
  std::vector<BlockId> lru_next_;  // [num_blocks]
  BlockId lru_head_ = kNoBlock;
  BlockId lru_tail_ = kNoBlock;
  int64_t num_idle_ = 0;
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_KV_PREFIX_CACHE_H_
