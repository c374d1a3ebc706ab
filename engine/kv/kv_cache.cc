#include "engine/kv/kv_cache.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "engine/base/status_macros.h"

namespace minimind {

absl::StatusOr<KvCache> KvCache::Create(const KvCacheConfig& config) {
  MINIMIND_ASSIGN_OR_RETURN(BlockPool pool, BlockPool::Create(config));
  return KvCache(std::make_unique<BlockAllocator>(std::move(pool)));
}

KvCache::KvCache(std::unique_ptr<BlockAllocator> allocator) : allocator_(std::move(allocator)) {}

std::unique_ptr<PagedKvSequence> KvCache::NewSequence() {
  return std::unique_ptr<PagedKvSequence>(new PagedKvSequence(allocator_.get()));
}

int64_t KvCache::CachedPrefixLength(absl::Span<const int32_t> tokens, uint64_t salt) const {
  if (tokens.empty()) return 0;
  const int64_t block_size = config().block_size;
  // Leave at least one token to compute: at most (n - 1) / B full blocks.
  const int64_t max_blocks = (static_cast<int64_t>(tokens.size()) - 1) / block_size;
  return static_cast<int64_t>(allocator_->prefix_cache().Lookup(tokens, salt, max_blocks).size()) *
         block_size;
}

int64_t KvCache::AttachCachedPrefix(PagedKvSequence& seq, absl::Span<const int32_t> tokens,
                                    uint64_t salt) {
  if (seq.num_positions() != 0 || seq.num_blocks() != 0 || !seq.BelongsTo(allocator_.get()) ||
      tokens.empty()) {
    return 0;
  }
  ++allocator_->counters().lookups;
  allocator_->counters().lookup_tokens += static_cast<int64_t>(tokens.size());
  const int64_t block_size = config().block_size;
  const int64_t max_blocks = (static_cast<int64_t>(tokens.size()) - 1) / block_size;
  const std::vector<BlockId> blocks = allocator_->prefix_cache().Lookup(tokens, salt, max_blocks);
  for (const BlockId block : blocks) allocator_->Share(block);
  const int64_t positions = static_cast<int64_t>(blocks.size()) * block_size;
  seq.AdoptBlocks(blocks, positions);
  allocator_->counters().hit_tokens += positions;
  return positions;
}

void KvCache::PublishFullBlocks(const PagedKvSequence& seq, absl::Span<const int32_t> tokens,
                                uint64_t salt) {
  if (!seq.BelongsTo(allocator_.get())) return;
  const int64_t n = std::min(static_cast<int64_t>(tokens.size()), seq.num_positions());
  allocator_->counters().published +=
      allocator_->prefix_cache().Publish(seq.block_table(), tokens.subspan(0, n), salt);
}

std::unique_ptr<PagedKvSequence> KvCache::ShareFrom(const PagedKvSequence& source,
                                                    int64_t num_positions) {
  std::unique_ptr<PagedKvSequence> seq = NewSequence();
  if (!source.BelongsTo(allocator_.get())) return seq;
  const int64_t positions = std::clamp<int64_t>(num_positions, 0, source.num_positions());
  const absl::Span<const BlockId> blocks =
      source.block_table().subspan(0, config().BlocksFor(positions));
  for (const BlockId block : blocks) allocator_->Share(block);
  seq->AdoptBlocks(blocks, positions);
  return seq;
}

int64_t KvCache::ExportedBlockBytes() const {
  const BlockPool& pool = allocator_->pool();
  return pool.code_bytes_per_block() +
         pool.scales_per_block() * static_cast<int64_t>(sizeof(float));
}

std::vector<std::byte> KvCache::ExportBlocks(const PagedKvSequence& seq) const {
  std::vector<std::byte> out(seq.block_table().size() * ExportedBlockBytes());
  const absl::Status exported = ExportBlocksInto(seq, absl::MakeSpan(out));
  (void)exported;  // the size is right by construction
  return out;
}

absl::Status KvCache::ExportBlocksInto(const PagedKvSequence& seq,
                                       absl::Span<std::byte> out) const {
  const BlockPool& pool = allocator_->pool();
  const int64_t code_bytes = pool.code_bytes_per_block();
  const int64_t scale_bytes = pool.scales_per_block() * static_cast<int64_t>(sizeof(float));
  const int64_t want = static_cast<int64_t>(seq.block_table().size()) * ExportedBlockBytes();
  if (static_cast<int64_t>(out.size()) != want) {
    return absl::InvalidArgumentError(absl::StrCat("exporting ", seq.block_table().size(),
                                                   " KV blocks needs ", want, " bytes, got ",
                                                   out.size()));
  }
  std::byte* cursor = out.data();
  for (const BlockId block : seq.block_table()) {
    std::memcpy(cursor, pool.Codes(block), code_bytes);
    cursor += code_bytes;
    if (scale_bytes > 0) {
      std::memcpy(cursor, pool.Scales(block), scale_bytes);
      cursor += scale_bytes;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<PagedKvSequence>> KvCache::ImportBlocks(
    absl::Span<const std::byte> bytes, int64_t num_positions) {
  const int64_t num_blocks = num_positions < 0 ? -1 : config().BlocksFor(num_positions);
  const int64_t block_bytes = ExportedBlockBytes();
  if (num_blocks < 0 || static_cast<int64_t>(bytes.size()) != num_blocks * block_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("KV blocks of ", bytes.size(), " bytes do not hold ", num_positions,
                     " positions (", num_blocks, " blocks of ", block_bytes, " bytes)"));
  }
  if (allocator_->available() < num_blocks) {
    return absl::ResourceExhaustedError(
        absl::StrCat("importing ", num_positions, " positions needs ", num_blocks, " KV blocks; ",
                     allocator_->available(), " are available"));
  }
  BlockPool& pool = allocator_->pool();
  const int64_t code_bytes = pool.code_bytes_per_block();
  const int64_t scale_bytes = pool.scales_per_block() * static_cast<int64_t>(sizeof(float));
  std::vector<BlockId> blocks;
  blocks.reserve(num_blocks);
  const std::byte* cursor = bytes.data();
  for (int64_t b = 0; b < num_blocks; ++b) {
    std::optional<BlockId> block = allocator_->Acquire();
    if (!block.has_value()) {  // available() said otherwise; give back what was taken
      for (const BlockId taken : blocks) allocator_->Release(taken);
      return absl::ResourceExhaustedError("the KV pool ran out of blocks during an import");
    }
    std::memcpy(pool.Codes(*block), cursor, code_bytes);
    cursor += code_bytes;
    if (scale_bytes > 0) {
      std::memcpy(pool.Scales(*block), cursor, scale_bytes);
      cursor += scale_bytes;
    }
    blocks.push_back(*block);
  }
  std::unique_ptr<PagedKvSequence> seq = NewSequence();
  seq->AdoptBlocks(blocks, num_positions);  // The references taken by Acquire are the sequence's.
  return seq;
}

int64_t KvCache::BlocksNeeded(int64_t from_positions, int64_t to_positions) const {
  if (to_positions <= from_positions) return 0;
  return config().BlocksFor(to_positions) - config().BlocksFor(from_positions);
}

}  // namespace minimind
