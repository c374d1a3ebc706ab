#include "engine/kv/prefix_cache.h"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/types/span.h"

namespace minimind {
namespace {

// wyhash's constants and its multiply-fold: the 128-bit product of the two operands, high half
// xor low half.
constexpr uint64_t kP0 = 0xa0761d6478bd642full;
constexpr uint64_t kP1 = 0xe7037ed1a0b428dbull;
constexpr uint64_t kP2 = 0x8ebc6af09c88c6e3ull;
constexpr uint64_t kP3 = 0x589965cc75374cc3ull;

uint64_t MultiplyFold(uint64_t a, uint64_t b) {
  const unsigned __int128 product = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(product) ^ static_cast<uint64_t>(product >> 64);
}

uint64_t TokenWord(absl::Span<const int32_t> tokens, size_t i) {
  const uint64_t low = i < tokens.size() ? static_cast<uint32_t>(tokens[i]) : 0;
  const uint64_t high = i + 1 < tokens.size() ? static_cast<uint32_t>(tokens[i + 1]) : 0;
  return low | (high << 32);
}

}  // namespace

uint64_t PrefixCache::ChainHash(uint64_t parent, absl::Span<const int32_t> block_tokens,
                                uint64_t salt) {
  uint64_t state = MultiplyFold(parent ^ kP0, salt ^ kP1);
  // Four tokens (two 64-bit words) per multiply, as wyhash consumes 16 bytes.
  for (size_t i = 0; i < block_tokens.size(); i += 4) {
    state = MultiplyFold(TokenWord(block_tokens, i) ^ kP1, TokenWord(block_tokens, i + 2) ^ state);
  }
  return MultiplyFold(state ^ kP2, static_cast<uint64_t>(block_tokens.size()) ^ kP3);
}

PrefixCache::PrefixCache(int64_t num_blocks, int64_t block_size, HashFunction hash)
    : block_size_(block_size),
      hash_(hash),
      serial_of_block_(static_cast<size_t>(num_blocks), kNoEntry),
      hash_of_block_(static_cast<size_t>(num_blocks), 0),
      lru_prev_(static_cast<size_t>(num_blocks), kNoBlock),
      lru_next_(static_cast<size_t>(num_blocks), kNoBlock) {}

const PrefixCache::Entry* PrefixCache::FindExact(uint64_t hash, uint64_t parent_serial,
                                                 uint64_t salt,
                                                 absl::Span<const int32_t> tokens) const {
  const auto it = entries_.find(hash);
  if (it == entries_.end()) return nullptr;
  const Entry& entry = it->second;
  if (entry.parent_serial != parent_serial || entry.salt != salt ||
      !std::equal(entry.tokens.begin(), entry.tokens.end(), tokens.begin(), tokens.end())) {
    return nullptr;
  }
  return &entry;
}

std::vector<BlockId> PrefixCache::Lookup(absl::Span<const int32_t> tokens, uint64_t salt,
                                         int64_t max_blocks) const {
  std::vector<BlockId> blocks;
  const int64_t limit = std::min(max_blocks, static_cast<int64_t>(tokens.size()) / block_size_);
  uint64_t parent_hash = kRootHash;
  uint64_t parent_serial = 0;
  for (int64_t i = 0; i < limit; ++i) {
    const absl::Span<const int32_t> block_tokens = tokens.subspan(i * block_size_, block_size_);
    const uint64_t hash = hash_(parent_hash, block_tokens, salt);
    const Entry* entry = FindExact(hash, parent_serial, salt, block_tokens);
    if (entry == nullptr) break;
    blocks.push_back(entry->block);
    parent_hash = hash;
    parent_serial = entry->serial;
  }
  return blocks;
}

int64_t PrefixCache::Publish(absl::Span<const BlockId> blocks, absl::Span<const int32_t> tokens,
                             uint64_t salt) {
  const int64_t limit = std::min(static_cast<int64_t>(blocks.size()),
                                 static_cast<int64_t>(tokens.size()) / block_size_);
  int64_t created = 0;
  uint64_t parent_hash = kRootHash;
  uint64_t parent_serial = 0;
  for (int64_t i = 0; i < limit; ++i) {
    const absl::Span<const int32_t> block_tokens = tokens.subspan(i * block_size_, block_size_);
    const uint64_t hash = hash_(parent_hash, block_tokens, salt);
    uint64_t serial = 0;
    if (entries_.contains(hash)) {
      const Entry* existing = FindExact(hash, parent_serial, salt, block_tokens);
      if (existing == nullptr) break;  // A collision: this prefix cannot be published.
      serial = existing->serial;
    } else {
      const BlockId block = blocks[i];
      if (IsPublished(block)) break;  // Cached as another prefix; never index a block twice.
      serial = next_serial_++;
      entries_.emplace(hash, Entry{.block = block,
                                   .serial = serial,
                                   .parent_serial = parent_serial,
                                   .salt = salt,
                                   .tokens = {block_tokens.begin(), block_tokens.end()}});
      serial_of_block_[block] = serial;
      hash_of_block_[block] = hash;
      ++created;
    }
    parent_hash = hash;
    parent_serial = serial;
  }
  return created;
}

void PrefixCache::MarkIdle(BlockId block) {
  assert(IsPublished(block));
  LinkAsNewest(block);
  ++num_idle_;
}

void PrefixCache::MarkInUse(BlockId block) {
  assert(IsPublished(block));
  Unlink(block);
  --num_idle_;
}

std::optional<BlockId> PrefixCache::EvictLeastRecentlyUsed() {
  if (lru_head_ == kNoBlock) return std::nullopt;
  const BlockId block = lru_head_;
  Unlink(block);
  --num_idle_;
  entries_.erase(hash_of_block_[block]);
  serial_of_block_[block] = kNoEntry;
  return block;
}

void PrefixCache::LinkAsNewest(BlockId block) {
  lru_prev_[block] = lru_tail_;
  lru_next_[block] = kNoBlock;
  if (lru_tail_ != kNoBlock) {
    lru_next_[lru_tail_] = block;
  } else {
    lru_head_ = block;
  }
  lru_tail_ = block;
}

void PrefixCache::Unlink(BlockId block) {
  const BlockId prev = lru_prev_[block];
  const BlockId next = lru_next_[block];
  if (prev != kNoBlock) {
    lru_next_[prev] = next;
  } else {
    lru_head_ = next;
  }
  if (next != kNoBlock) {
    lru_prev_[next] = prev;
  } else {
    lru_tail_ = prev;
  }
  lru_prev_[block] = kNoBlock;
  lru_next_[block] = kNoBlock;
}

}  // namespace minimind
