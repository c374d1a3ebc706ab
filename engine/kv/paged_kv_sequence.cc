#include "engine/kv/paged_kv_sequence.h"

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "engine/kv/kv_row_codec.h"

namespace minimind {

PagedKvSequence::PagedKvSequence(BlockAllocator* allocator)
    : allocator_(allocator),
      shape_(allocator->config().shape),
      element_type_(allocator->config().element_type),
      block_size_(allocator->config().block_size) {}

PagedKvSequence::~PagedKvSequence() {
  // Back to front, so the tail of a cached chain becomes idle (and evictable) before its head.
  for (auto it = blocks_.rbegin(); it != blocks_.rend(); ++it) allocator_->Release(*it);
}

KvShape PagedKvSequence::shape() const { return shape_; }

int64_t PagedKvSequence::BlocksToGrow(int64_t num_positions) const {
  if (num_positions <= num_positions_) return 0;
  const int64_t blocks_after = (num_positions + block_size_ - 1) / block_size_;
  int64_t needed = blocks_after - num_blocks();
  if (num_positions_ % block_size_ != 0 && !allocator_->IsExclusive(blocks_.back())) ++needed;
  return needed;
}

absl::Status PagedKvSequence::Resize(int64_t num_positions) {
  if (num_positions < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("KV sequence length must not be negative, got ", num_positions));
  }
  if (num_positions <= num_positions_) {
    const int64_t keep = (num_positions + block_size_ - 1) / block_size_;
    while (num_blocks() > keep) {
      allocator_->Release(blocks_.back());
      blocks_.pop_back();
    }
    num_positions_ = num_positions;
    return absl::OkStatus();
  }

  const int64_t needed = BlocksToGrow(num_positions);
  if (needed > allocator_->available()) {
    return absl::ResourceExhaustedError(
        absl::StrCat("KV cache out of blocks: growing a sequence from ", num_positions_, " to ",
                     num_positions, " positions needs ", needed, " more blocks of ", block_size_,
                     " positions, but only ", allocator_->available(), " of the pool's ",
                     allocator_->pool().num_blocks(), " blocks are free or reclaimable"));
  }
  if (num_positions_ % block_size_ != 0 && !allocator_->IsExclusive(blocks_.back())) {
    // The partial last block is shared or cached: copy it before it receives new positions.
    const std::optional<BlockId> copy = allocator_->Acquire();
    assert(copy.has_value());
    allocator_->pool().CopyBlock(blocks_.back(), *copy);
    allocator_->Release(blocks_.back());
    blocks_.back() = *copy;
    ++allocator_->counters().copy_on_write;
  }
  const int64_t blocks_after = (num_positions + block_size_ - 1) / block_size_;
  while (num_blocks() < blocks_after) {
    const std::optional<BlockId> block = allocator_->Acquire();
    assert(block.has_value());
    blocks_.push_back(*block);
  }
  num_positions_ = num_positions;
  return absl::OkStatus();
}

void PagedKvSequence::Write(int64_t layer, int64_t first_position, int64_t count, const float* keys,
                            const float* values) {
  const int64_t head_dim = shape_.head_dim;
  const int64_t heads = shape_.num_kv_heads;
  const int64_t row_bytes = head_dim * KvElementBytes(element_type_);
  BlockPool& pool = allocator_->pool();
  for (int64_t t = 0; t < count; ++t) {
    const int64_t position = first_position + t;
    const BlockId block = blocks_[position / block_size_];
    assert(allocator_->IsExclusive(block));
    const int64_t slot = position % block_size_;
    std::byte* codes = pool.Codes(block);
    float* scales = pool.Scales(block);
    for (int64_t h = 0; h < heads; ++h) {
      // Rows of block storage: [layer, keys|values, kv head, slot] (block_pool.h).
      const int64_t key_row = ((layer * 2) * heads + h) * block_size_ + slot;
      const int64_t value_row = ((layer * 2 + 1) * heads + h) * block_size_ + slot;
      const int64_t column = t * shape_.row_size() + h * head_dim;
      EncodeKvRow(element_type_, keys + column, head_dim, codes + key_row * row_bytes,
                  scales ? scales + key_row : nullptr);
      EncodeKvRow(element_type_, values + column, head_dim, codes + value_row * row_bytes,
                  scales ? scales + value_row : nullptr);
    }
  }
}

KvRun PagedKvSequence::Run(int64_t layer, int64_t kv_head, int64_t position) const {
  const int64_t heads = shape_.num_kv_heads;
  const int64_t row_bytes = shape_.head_dim * KvElementBytes(element_type_);
  const BlockId block = blocks_[position / block_size_];
  const int64_t slot = position % block_size_;
  const int64_t key_row = ((layer * 2) * heads + kv_head) * block_size_ + slot;
  const int64_t value_row = ((layer * 2 + 1) * heads + kv_head) * block_size_ + slot;
  const BlockPool& pool = allocator_->pool();
  const std::byte* codes = pool.Codes(block);
  const float* scales = pool.Scales(block);
  KvRun run{.num_positions = std::min(block_size_ - slot, num_positions_ - position),
            .type = element_type_,
            .keys = codes + key_row * row_bytes,
            .values = codes + value_row * row_bytes,
            .stride = shape_.head_dim};
  if (scales != nullptr) {
    run.key_scales = scales + key_row;
    run.value_scales = scales + value_row;
    run.scale_stride = 1;
  }
  return run;
}

void PagedKvSequence::AdoptBlocks(absl::Span<const BlockId> blocks, int64_t num_positions) {
  assert(blocks_.empty());
  blocks_.assign(blocks.begin(), blocks.end());
  num_positions_ = num_positions;
}

}  // namespace minimind
