// PagedKvSequence: a KvSequence stored in blocks of a KvCache's pool. It owns a block table —
// block i holds positions [i·B, (i+1)·B) — that grows one block at a time; existing data is
// never moved. Elements are stored as the cache's element type (kv_row_codec.h: f32 exact;
// bf16/f16 round to nearest even; int8 with a scale per position per kv head), converted row by
// row, so a position reads back the same bits however it was written.
//
// Sharing: blocks may be shared with other sequences (ShareFrom, a prefix-cache hit) or
// published in the prefix cache; such blocks are read-only. Resize growing makes exclusive
// (copy-on-write) every block that will receive new positions — the partial last block — before
// allocating new ones, so the Writes that follow (ModelRunner::Forward writes positions from the
// old length on) never touch shared data. Contract beyond KvSequence's: a Write must target
// positions ≥ the length the sequence had before its latest growing Resize — i.e. to overwrite
// positions, first truncate to the first one (Resize(start)), then grow. ModelRunner::Forward
// with start_position == num_positions() (the normal case) satisfies this.
//
// RAII: the destructor releases every block (shared ones lose one reference; published ones
// become reclaimable cache entries). The sequence points at its KvCache's allocator: the KvCache
// must outlive it. Not copyable or movable (hold it by std::unique_ptr; KvCache hands out
// unique_ptrs). Thread-safety: none; owned by the one engine thread.
#ifndef MINIMIND_ENGINE_KV_PAGED_KV_SEQUENCE_H_
#define MINIMIND_ENGINE_KV_PAGED_KV_SEQUENCE_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "engine/kernels/attention.h"
#include "engine/kv/block_allocator.h"
#include "engine/kv/block_pool.h"
#include "engine/model/kv_sequence.h"

namespace minimind {

class PagedKvSequence final : public KvSequence {
 public:
  ~PagedKvSequence() override;
  PagedKvSequence(const PagedKvSequence&) = delete;
  PagedKvSequence& operator=(const PagedKvSequence&) = delete;

  KvShape shape() const override;
  int64_t num_positions() const override { return num_positions_; }
  // Growing: ResourceExhausted (stating the need and what is available) when the pool, after
  // reclaiming idle cached blocks, cannot supply the blocks (new ones plus copies of shared
  // ones); the sequence is then unchanged. InvalidArgument for a negative length. Truncating
  // releases blocks no longer covering any position and never fails.
  absl::Status Resize(int64_t num_positions) override;
  void Write(int64_t layer, int64_t first_position, int64_t count, const float* keys,
             const float* values) override;
  KvRun Run(int64_t layer, int64_t kv_head, int64_t position) const override;

  int64_t block_size() const { return block_size_; }
  int64_t num_blocks() const { return static_cast<int64_t>(blocks_.size()); }
  absl::Span<const BlockId> block_table() const { return blocks_; }
  // Blocks a Resize(num_positions) would have to acquire: new blocks plus a copy of the partial
  // last block if it is shared or published and would receive new positions.
  int64_t BlocksToGrow(int64_t num_positions) const;
  // True if this sequence belongs to the cache owning `allocator` (KvCache checks it).
  bool BelongsTo(const BlockAllocator* allocator) const { return allocator_ == allocator; }

 private:
  friend class KvCache;
  explicit PagedKvSequence(BlockAllocator* allocator);

  // Makes an empty sequence hold `blocks` (already referenced on its behalf) and be
  // `num_positions` long (covered by them); KvCache's prefix attach and sharing.
  void AdoptBlocks(absl::Span<const BlockId> blocks, int64_t num_positions);

  BlockAllocator* allocator_;  // Not owned; the KvCache's.
  KvShape shape_;
  KvElementType element_type_;
  int64_t block_size_;
  int64_t num_positions_ = 0;
  std::vector<BlockId> blocks_;  // [ceil(num_positions / block_size)]
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_KV_PAGED_KV_SEQUENCE_H_
