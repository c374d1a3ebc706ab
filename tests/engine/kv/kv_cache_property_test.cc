// Property test of the block pool, prefix cache and paged sequences (through KvCache) against a
// plain reference model: thousands of random operations (new sequences, prefix attaches, growth
// with copy-on-write, truncation, publishing, sharing, destruction), and after every one the
// per-block reference counts, free list membership, cache entries, counters, lookups and the
// stored contents of every live sequence must agree with the model.
#include <algorithm>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "engine/kv/kv_cache.h"
#include "gtest/gtest.h"

namespace minimind {
namespace {

constexpr int64_t kBlockSize = 4;
constexpr int64_t kNumBlocks = 14;
constexpr int64_t kMaxPositions = 44;
constexpr int64_t kMaxSequences = 8;
const KvShape kShape{.num_layers = 2, .num_kv_heads = 2, .head_dim = 2};

uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// What the KV of a position holds: a function of all tokens up to it (as real KV is), exactly
// representable in f32.
float Content(uint64_t prefix_hash, int64_t layer, int64_t head, int64_t j, int64_t is_value) {
  const uint64_t h = Mix(prefix_hash ^ Mix(layer * 1000 + head * 100 + j * 10 + is_value));
  return static_cast<float>(h >> 40);
}

std::vector<uint64_t> PrefixHashes(const std::vector<int32_t>& tokens) {
  std::vector<uint64_t> hashes;
  uint64_t h = 1;
  for (const int32_t token : tokens) {
    h = Mix(h ^ static_cast<uint64_t>(token + 7));
    hashes.push_back(h);
  }
  return hashes;
}

struct Sequence {
  std::unique_ptr<PagedKvSequence> impl;
  std::vector<BlockId> table;   // The model's expectation of the block table.
  std::vector<int32_t> tokens;  // Tokens of positions [0, num_positions).
  uint64_t salt = 0;
};

// The reference: exact prefix keys instead of hashes, std containers instead of intrusive lists.
class ReferenceModel {
 public:
  ReferenceModel() : ref_(kNumBlocks, 0) {
    for (BlockId b = 0; b < kNumBlocks; ++b) free_.insert(b);
  }

  int64_t available() const { return static_cast<int64_t>(free_.size() + lru_.size()); }
  bool published(BlockId b) const { return key_of_block_.contains(b); }
  bool exclusive(BlockId b) const { return ref_[b] == 1 && !published(b); }

  // The impl chose `block`: it must be a free block, or the LRU's oldest when none is free.
  void Acquire(BlockId block) {
    if (!free_.empty()) {
      ASSERT_TRUE(free_.contains(block)) << "acquired non-free block " << block;
      free_.erase(block);
    } else {
      ASSERT_FALSE(lru_.empty());
      ASSERT_EQ(lru_.front(), block) << "evicted a block that is not the least recently used";
      lru_.pop_front();
      entries_.erase(key_of_block_.at(block));
      key_of_block_.erase(block);
      ++stats.evictions;
    }
    ref_[block] = 1;
  }
  void Share(BlockId block) {
    if (ref_[block] == 0) {
      const auto it = std::find(lru_.begin(), lru_.end(), block);
      ASSERT_NE(it, lru_.end());
      lru_.erase(it);
    }
    ++ref_[block];
  }
  void Release(BlockId block) {
    ASSERT_GT(ref_[block], 0);
    if (--ref_[block] > 0) return;
    if (published(block)) {
      lru_.push_back(block);
    } else {
      free_.insert(block);
    }
  }

  std::vector<BlockId> Lookup(const std::vector<int32_t>& tokens, uint64_t salt,
                              int64_t max_blocks) const {
    std::vector<BlockId> blocks;
    int64_t parent = 0;
    const int64_t limit = std::min<int64_t>(max_blocks, tokens.size() / kBlockSize);
    for (int64_t i = 0; i < limit; ++i) {
      const auto it = entries_.find(Key(tokens, i, salt));
      if (it == entries_.end() || it->second.parent != parent) break;
      blocks.push_back(it->second.block);
      parent = it->second.generation;
    }
    return blocks;
  }
  void Publish(const std::vector<BlockId>& blocks, const std::vector<int32_t>& tokens,
               uint64_t salt) {
    int64_t parent = 0;
    const int64_t limit =
        std::min<int64_t>(blocks.size(), static_cast<int64_t>(tokens.size()) / kBlockSize);
    for (int64_t i = 0; i < limit; ++i) {
      const PrefixKey key = Key(tokens, i, salt);
      if (const auto it = entries_.find(key); it != entries_.end()) {
        if (it->second.parent != parent) break;  // A stale entry (its parent was evicted).
        parent = it->second.generation;
        continue;
      }
      if (published(blocks[i])) break;
      entries_[key] = Entry{.block = blocks[i], .generation = next_generation_, .parent = parent};
      key_of_block_[blocks[i]] = key;
      parent = next_generation_++;
      ++stats.published;
    }
  }

  void ExpectMatches(const KvCache& cache) const {
    const BlockAllocator& allocator = cache.allocator();
    for (BlockId b = 0; b < kNumBlocks; ++b) {
      ASSERT_EQ(allocator.pool().ref_count(b), ref_[b]) << "block " << b;
      ASSERT_EQ(allocator.pool().is_free(b), free_.contains(b)) << "block " << b;
      ASSERT_EQ(allocator.prefix_cache().IsPublished(b), published(b)) << "block " << b;
    }
    const KvCacheStats actual = cache.stats();
    int64_t used = 0;
    for (const int32_t count : ref_) used += count > 0 ? 1 : 0;
    ASSERT_EQ(actual.blocks_total, kNumBlocks);
    ASSERT_EQ(actual.blocks_used, used);
    ASSERT_EQ(actual.blocks_free, static_cast<int64_t>(free_.size()));
    ASSERT_EQ(actual.blocks_cached, static_cast<int64_t>(lru_.size()));
    ASSERT_EQ(actual.blocks_used + actual.blocks_free + actual.blocks_cached, kNumBlocks);
    ASSERT_EQ(actual.blocks_published, static_cast<int64_t>(entries_.size()));
    ASSERT_EQ(actual.lookups, stats.lookups);
    ASSERT_EQ(actual.hit_tokens, stats.hit_tokens);
    ASSERT_EQ(actual.evictions, stats.evictions);
    ASSERT_EQ(actual.published, stats.published);
    ASSERT_EQ(actual.copy_on_write, stats.copy_on_write);
    ASSERT_EQ(cache.FreeBlocks(), available());
  }

  KvCacheStats stats;

 private:
  using PrefixKey = std::pair<uint64_t, std::vector<int32_t>>;  // salt, tokens up to the block
  struct Entry {
    BlockId block;
    int64_t generation;
    int64_t parent;  // 0 for a first block.
  };
  static PrefixKey Key(const std::vector<int32_t>& tokens, int64_t block_index, uint64_t salt) {
    return {salt,
            std::vector<int32_t>(tokens.begin(), tokens.begin() + (block_index + 1) * kBlockSize)};
  }

  std::vector<int32_t> ref_;
  std::set<BlockId> free_;
  std::list<BlockId> lru_;  // Idle published blocks, oldest first.
  std::map<PrefixKey, Entry> entries_;
  std::map<BlockId, PrefixKey> key_of_block_;
  int64_t next_generation_ = 1;
};

class PropertyRun {
 public:
  explicit PropertyRun(uint64_t seed) : rng_(seed) {
    KvCacheConfig config{.shape = kShape,
                         .element_type = KvElementType::kF32,
                         .block_size = kBlockSize,
                         .memory_bytes = 0};
    config.memory_bytes = kNumBlocks * config.BytesPerBlock() + config.BytesPerBlock() / 2;
    cache_ = std::make_unique<KvCache>(*KvCache::Create(config));
  }

  ~PropertyRun() {
    sequences_.clear();  // Sequences before their cache.
  }

  void Step() {
    const int op = Uniform(0, 9);
    if (sequences_.empty() || (op == 0 && sequences_.size() < kMaxSequences)) {
      NewSequence();
    } else if (op == 1 && sequences_.size() < kMaxSequences) {
      ShareFrom();
    } else if (op <= 4) {
      Grow();
    } else if (op == 5) {
      Truncate();
    } else if (op == 6 || op == 7) {
      Publish();
    } else {
      Destroy();
    }
    if (::testing::Test::HasFatalFailure()) return;
    Check();
  }

  KvCacheStats stats() const { return cache_->stats(); }

  void DestroyAll() {
    while (!sequences_.empty()) {
      Destroy();
      Check();
      if (::testing::Test::HasFatalFailure()) return;
    }
  }

 private:
  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  std::vector<int32_t> RandomTokens(int64_t n) {
    std::vector<int32_t> tokens(n);
    // Two symbols and few salts make prefix hits (and stale entries) common.
    for (int32_t& token : tokens) token = Uniform(0, 1);
    return tokens;
  }
  Sequence& Pick() { return sequences_[Uniform(0, static_cast<int>(sequences_.size()) - 1)]; }

  void NewSequence() {
    Sequence seq{.impl = cache_->NewSequence(), .salt = static_cast<uint64_t>(Uniform(0, 1))};
    if (Uniform(0, 3) > 0) {
      // A prompt: attach its cached prefix.
      const std::vector<int32_t> prompt = RandomTokens(Uniform(1, 24));
      const std::vector<BlockId> expected =
          model_.Lookup(prompt, seq.salt, (static_cast<int64_t>(prompt.size()) - 1) / kBlockSize);
      ASSERT_EQ(cache_->CachedPrefixLength(prompt, seq.salt),
                static_cast<int64_t>(expected.size()) * kBlockSize);
      const int64_t attached = cache_->AttachCachedPrefix(*seq.impl, prompt, seq.salt);
      ASSERT_EQ(attached, static_cast<int64_t>(expected.size()) * kBlockSize);
      ASSERT_LT(attached, static_cast<int64_t>(prompt.size()));
      ++model_.stats.lookups;
      model_.stats.hit_tokens += attached;
      for (const BlockId block : expected) model_.Share(block);
      seq.table = expected;
      seq.tokens.assign(prompt.begin(), prompt.begin() + attached);
    }
    sequences_.push_back(std::move(seq));
  }

  void ShareFrom() {
    const Sequence& source = Pick();
    const int64_t n = Uniform(0, static_cast<int>(source.tokens.size()));
    Sequence seq{.impl = cache_->ShareFrom(*source.impl, n), .salt = source.salt};
    const int64_t blocks = (n + kBlockSize - 1) / kBlockSize;
    seq.table.assign(source.table.begin(), source.table.begin() + blocks);
    seq.tokens.assign(source.tokens.begin(), source.tokens.begin() + n);
    for (const BlockId block : seq.table) model_.Share(block);
    sequences_.push_back(std::move(seq));
  }

  void Grow() {
    Sequence& seq = Pick();
    const int64_t old_length = static_cast<int64_t>(seq.tokens.size());
    if (old_length >= kMaxPositions) return;
    const int64_t new_length = std::min<int64_t>(kMaxPositions, old_length + Uniform(1, 12));
    const bool partial = old_length % kBlockSize != 0;
    const bool copy = partial && !model_.exclusive(seq.table.back());
    const int64_t needed = (new_length + kBlockSize - 1) / kBlockSize -
                           static_cast<int64_t>(seq.table.size()) + (copy ? 1 : 0);
    ASSERT_EQ(seq.impl->BlocksToGrow(new_length), needed);
    const absl::Status status = seq.impl->Resize(new_length);
    if (needed > model_.available()) {
      ASSERT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
      return;  // Check() verifies the sequence is unchanged.
    }
    ASSERT_TRUE(status.ok()) << status;
    const absl::Span<const BlockId> table = seq.impl->block_table();
    ASSERT_EQ(static_cast<int64_t>(table.size()), (new_length + kBlockSize - 1) / kBlockSize);
    if (copy) {
      const size_t last = seq.table.size() - 1;
      model_.Acquire(table[last]);
      model_.Release(seq.table[last]);
      seq.table[last] = table[last];
      ++model_.stats.copy_on_write;
    } else if (!seq.table.empty()) {
      ASSERT_EQ(table[seq.table.size() - 1], seq.table.back());
    }
    for (size_t i = seq.table.size(); i < table.size(); ++i) {
      model_.Acquire(table[i]);
      seq.table.push_back(table[i]);
    }
    // New tokens, and their KV written in one or two chunks per layer.
    const std::vector<int32_t> added = RandomTokens(new_length - old_length);
    seq.tokens.insert(seq.tokens.end(), added.begin(), added.end());
    const std::vector<uint64_t> hashes = PrefixHashes(seq.tokens);
    const int64_t row = kShape.row_size();
    for (int64_t layer = 0; layer < kShape.num_layers; ++layer) {
      std::vector<float> keys((new_length - old_length) * row);
      std::vector<float> values(keys.size());
      for (int64_t p = old_length; p < new_length; ++p) {
        for (int64_t h = 0; h < kShape.num_kv_heads; ++h) {
          for (int64_t j = 0; j < kShape.head_dim; ++j) {
            const int64_t at = (p - old_length) * row + h * kShape.head_dim + j;
            keys[at] = Content(hashes[p], layer, h, j, 0);
            values[at] = Content(hashes[p], layer, h, j, 1);
          }
        }
      }
      const int64_t split = Uniform(0, static_cast<int>(new_length - old_length));
      seq.impl->Write(layer, old_length, split, keys.data(), values.data());
      seq.impl->Write(layer, old_length + split, new_length - old_length - split,
                      keys.data() + split * row, values.data() + split * row);
    }
  }

  void Truncate() {
    Sequence& seq = Pick();
    const int64_t n = Uniform(0, static_cast<int>(seq.tokens.size()));
    ASSERT_TRUE(seq.impl->Resize(n).ok());
    const size_t keep = static_cast<size_t>((n + kBlockSize - 1) / kBlockSize);
    while (seq.table.size() > keep) {
      model_.Release(seq.table.back());
      seq.table.pop_back();
    }
    seq.tokens.resize(n);
  }

  void Publish() {
    const Sequence& seq = Pick();
    const int64_t n = Uniform(0, static_cast<int>(seq.tokens.size()));
    const std::vector<int32_t> tokens(seq.tokens.begin(), seq.tokens.begin() + n);
    cache_->PublishFullBlocks(*seq.impl, tokens, seq.salt);
    model_.Publish(seq.table, tokens, seq.salt);
  }

  void Destroy() {
    const size_t index = Uniform(0, static_cast<int>(sequences_.size()) - 1);
    const std::vector<BlockId> table = sequences_[index].table;
    sequences_.erase(sequences_.begin() + index);
    for (auto it = table.rbegin(); it != table.rend(); ++it) model_.Release(*it);
  }

  void Check() {
    model_.ExpectMatches(*cache_);
    if (::testing::Test::HasFatalFailure()) return;
    for (const Sequence& seq : sequences_) {
      ASSERT_EQ(seq.impl->num_positions(), static_cast<int64_t>(seq.tokens.size()));
      const absl::Span<const BlockId> table = seq.impl->block_table();
      ASSERT_EQ(std::vector<BlockId>(table.begin(), table.end()), seq.table);
      // Every stored position holds the KV of its own prefix: no shared, cached or recycled
      // block ever showed another sequence's data.
      const std::vector<uint64_t> hashes = PrefixHashes(seq.tokens);
      for (int64_t layer = 0; layer < kShape.num_layers; ++layer) {
        for (int64_t h = 0; h < kShape.num_kv_heads; ++h) {
          for (int64_t p = 0; p < seq.impl->num_positions();) {
            const KvRun run = seq.impl->Run(layer, h, p);
            ASSERT_GE(run.num_positions, 1);
            for (int64_t t = 0; t < run.num_positions; ++t, ++p) {
              for (int64_t j = 0; j < kShape.head_dim; ++j) {
                const float key = static_cast<const float*>(run.keys)[t * run.stride + j];
                const float value = static_cast<const float*>(run.values)[t * run.stride + j];
                ASSERT_EQ(key, Content(hashes[p], layer, h, j, 0)) << "position " << p;
                ASSERT_EQ(value, Content(hashes[p], layer, h, j, 1)) << "position " << p;
              }
            }
          }
        }
      }
    }
    // A random lookup agrees with the model too.
    const std::vector<int32_t> probe = RandomTokens(Uniform(1, 30));
    const uint64_t salt = Uniform(0, 1);
    ASSERT_EQ(cache_->CachedPrefixLength(probe, salt),
              static_cast<int64_t>(
                  model_.Lookup(probe, salt, (static_cast<int64_t>(probe.size()) - 1) / kBlockSize)
                      .size()) *
                  kBlockSize);
  }

  std::mt19937_64 rng_;
  std::unique_ptr<KvCache> cache_;
  std::vector<Sequence> sequences_;
  ReferenceModel model_;
};

class KvCachePropertyTest : public ::testing::TestWithParam<uint64_t> {};

TEST_P(KvCachePropertyTest, RandomOperationsMatchReferenceModel) {
  PropertyRun run(GetParam());
  for (int step = 0; step < 4000; ++step) {
    run.Step();
    ASSERT_FALSE(HasFatalFailure()) << "at step " << step;
  }
  // The run must have exercised what it claims to test.
  const KvCacheStats stats = run.stats();
  EXPECT_GT(stats.hit_tokens, 0);
  EXPECT_GT(stats.evictions, 0);
  EXPECT_GT(stats.copy_on_write, 0);
  EXPECT_GT(stats.published, 0);

  // Ending every sequence returns every block: none in use, the rest free or cached.
  run.DestroyAll();
  ASSERT_FALSE(HasFatalFailure());
  const KvCacheStats end = run.stats();
  EXPECT_EQ(end.blocks_used, 0);
  EXPECT_EQ(end.blocks_free + end.blocks_cached, kNumBlocks);
}

INSTANTIATE_TEST_SUITE_P(Seeds, KvCachePropertyTest, ::testing::Values(1, 2, 3));

}  // namespace
}  // namespace minimind
