#include "engine/kv/kv_cache.h"

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace minimind {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kBlockSize = 16;
const KvShape kShape{.num_layers = 2, .num_kv_heads = 2, .head_dim = 4};

KvCache MakeCache(int64_t num_blocks, KvElementType type = KvElementType::kF32) {
  KvCacheConfig config{
      .shape = kShape, .element_type = type, .block_size = kBlockSize, .memory_bytes = 0};
  config.memory_bytes = num_blocks * config.BytesPerBlock();
  absl::StatusOr<KvCache> cache = KvCache::Create(config);
  EXPECT_TRUE(cache.ok()) << cache.status();
  return *std::move(cache);
}

std::vector<int32_t> Tokens(int64_t n, int32_t start = 0) {
  std::vector<int32_t> tokens(n);
  for (int64_t i = 0; i < n; ++i) tokens[i] = start + static_cast<int32_t>(i);
  return tokens;
}

// Grows `seq` to `n` positions and writes position p's keys/values as p + offset.
void Fill(PagedKvSequence& seq, int64_t n, float offset = 0.0f) {
  const int64_t old = seq.num_positions();
  ASSERT_TRUE(seq.Resize(n).ok());
  std::vector<float> rows((n - old) * kShape.row_size());
  for (int64_t p = old; p < n; ++p) {
    for (int64_t c = 0; c < kShape.row_size(); ++c) {
      rows[(p - old) * kShape.row_size() + c] = static_cast<float>(p) + offset;
    }
  }
  for (int64_t layer = 0; layer < kShape.num_layers; ++layer) {
    seq.Write(layer, old, n - old, rows.data(), rows.data());
  }
}

float KeyAt(const PagedKvSequence& seq, int64_t position) {
  return static_cast<const float*>(seq.Run(1, 1, position).keys)[0];
}

TEST(KvCacheTest, CreateRejectsTooSmallBudget) {
  KvCacheConfig config{.shape = kShape, .block_size = kBlockSize, .memory_bytes = 100};
  const absl::StatusOr<KvCache> cache = KvCache::Create(config);
  EXPECT_EQ(cache.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(cache.status().message(), HasSubstr("holds no block"));
}

TEST(KvCacheTest, SequenceBlocksReturnOnDestruction) {
  KvCache cache = MakeCache(4);
  {
    std::unique_ptr<PagedKvSequence> a = cache.NewSequence();
    std::unique_ptr<PagedKvSequence> b = cache.NewSequence();
    Fill(*a, 17);
    Fill(*b, 16);
    EXPECT_EQ(a->num_blocks(), 2);
    EXPECT_EQ(b->num_blocks(), 1);
    EXPECT_EQ(cache.stats().blocks_used, 3);
    EXPECT_EQ(cache.FreeBlocks(), 1);
    ASSERT_TRUE(a->Resize(16).ok());  // Truncation gives back the second block.
    EXPECT_EQ(cache.stats().blocks_used, 2);
  }
  const KvCacheStats stats = cache.stats();
  EXPECT_EQ(stats.blocks_used, 0);
  EXPECT_EQ(stats.blocks_free, 4);
}

TEST(KvCacheTest, GrowingPastThePoolFailsAndLeavesSequenceUnchanged) {
  KvCache cache = MakeCache(2);
  std::unique_ptr<PagedKvSequence> seq = cache.NewSequence();
  Fill(*seq, 20);
  const absl::Status status = seq->Resize(33);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(status.message(), HasSubstr("needs 1 more blocks"));
  EXPECT_EQ(seq->num_positions(), 20);
  EXPECT_EQ(seq->num_blocks(), 2);
  EXPECT_EQ(KeyAt(*seq, 19), 19.0f);
  EXPECT_EQ(seq->Resize(-1).code(), absl::StatusCode::kInvalidArgument);
}

TEST(KvCacheTest, AttachNeverTakesAllTokensAndCounts) {
  KvCache cache = MakeCache(8);
  const std::vector<int32_t> prompt = Tokens(40);
  {
    std::unique_ptr<PagedKvSequence> writer = cache.NewSequence();
    Fill(*writer, 40);
    cache.PublishFullBlocks(*writer, prompt, 7);
    EXPECT_EQ(cache.stats().published, 2);  // Blocks 0 and 1; the partial third is not.
  }
  EXPECT_EQ(cache.stats().blocks_cached, 2);

  std::unique_ptr<PagedKvSequence> all = cache.NewSequence();
  // Exactly the 32 cached tokens: one must remain to compute, so only one block attaches.
  EXPECT_EQ(cache.AttachCachedPrefix(*all, Tokens(32), 7), 16);
  std::unique_ptr<PagedKvSequence> more = cache.NewSequence();
  EXPECT_EQ(cache.CachedPrefixLength(Tokens(33), 7), 32);
  EXPECT_EQ(cache.AttachCachedPrefix(*more, Tokens(33), 7), 32);
  EXPECT_EQ(KeyAt(*more, 31), 31.0f);
  EXPECT_EQ(more->block_table()[0], all->block_table()[0]);
  // Another tenant's salt and a non-empty sequence attach nothing.
  std::unique_ptr<PagedKvSequence> other = cache.NewSequence();
  EXPECT_EQ(cache.AttachCachedPrefix(*other, Tokens(33), 8), 0);
  EXPECT_EQ(cache.AttachCachedPrefix(*more, Tokens(33), 7), 0);

  const KvCacheStats stats = cache.stats();
  EXPECT_EQ(stats.lookups, 3);
  EXPECT_EQ(stats.hit_tokens, 48);
  EXPECT_EQ(stats.blocks_used, 2);
  EXPECT_EQ(stats.blocks_cached, 0);
}

TEST(KvCacheTest, SequenceOfAnotherCacheIsIgnored) {
  KvCache cache = MakeCache(2);
  KvCache other = MakeCache(2);
  std::unique_ptr<PagedKvSequence> foreign = other.NewSequence();
  Fill(*foreign, 16);
  cache.PublishFullBlocks(*foreign, Tokens(16), 0);
  EXPECT_EQ(cache.stats().published, 0);
  EXPECT_EQ(cache.ShareFrom(*foreign, 16)->num_positions(), 0);
  std::unique_ptr<PagedKvSequence> empty = other.NewSequence();
  EXPECT_EQ(cache.AttachCachedPrefix(*empty, Tokens(20), 0), 0);
}

TEST(KvCacheTest, CachedBlocksAreReclaimedOnlyWhenNeeded) {
  KvCache cache = MakeCache(4);
  {
    std::unique_ptr<PagedKvSequence> writer = cache.NewSequence();
    Fill(*writer, 32);
    cache.PublishFullBlocks(*writer, Tokens(32), 0);
  }
  EXPECT_EQ(cache.stats().blocks_cached, 2);
  EXPECT_EQ(cache.FreeBlocks(), 4);
  std::unique_ptr<PagedKvSequence> seq = cache.NewSequence();
  Fill(*seq, 32, 100.0f);  // Uses the two free blocks: the cache survives.
  EXPECT_EQ(cache.stats().evictions, 0);
  EXPECT_EQ(cache.CachedPrefixLength(Tokens(33), 0), 32);
  Fill(*seq, 48, 100.0f);  // Needs a third block: evicts the LRU one (the chain's tail).
  EXPECT_EQ(cache.stats().evictions, 1);
  EXPECT_EQ(cache.CachedPrefixLength(Tokens(33), 0), 16);
  Fill(*seq, 64, 100.0f);
  EXPECT_EQ(cache.stats().evictions, 2);
  EXPECT_EQ(cache.CachedPrefixLength(Tokens(33), 0), 0);
  EXPECT_EQ(cache.stats().blocks_used, 4);
  EXPECT_EQ(seq->Resize(65).code(), absl::StatusCode::kResourceExhausted);
}

TEST(KvCacheTest, ShareFromCopiesOnWriteAndKeepsTheSource) {
  KvCache cache = MakeCache(6);
  std::unique_ptr<PagedKvSequence> source = cache.NewSequence();
  Fill(*source, 20);
  std::unique_ptr<PagedKvSequence> fork = cache.ShareFrom(*source, 18);
  EXPECT_EQ(fork->num_positions(), 18);
  EXPECT_EQ(fork->num_blocks(), 2);
  EXPECT_EQ(cache.stats().blocks_used, 2);  // Shared, not copied.
  EXPECT_EQ(fork->BlocksToGrow(20), 1);     // Its partial block is shared: a copy.
  EXPECT_EQ(cache.BlocksNeeded(18, 20), 0);
  Fill(*fork, 20, 1000.0f);
  EXPECT_EQ(cache.stats().copy_on_write, 1);
  EXPECT_EQ(cache.stats().blocks_used, 3);
  EXPECT_NE(fork->block_table()[1], source->block_table()[1]);
  EXPECT_EQ(fork->block_table()[0], source->block_table()[0]);
  EXPECT_EQ(KeyAt(*fork, 17), 17.0f);    // Copied data.
  EXPECT_EQ(KeyAt(*fork, 18), 1018.0f);  // Its own write.
  EXPECT_EQ(KeyAt(*source, 18), 18.0f);  // The source is untouched.
  // A full shared block needs no copy: new positions go to a new block.
  std::unique_ptr<PagedKvSequence> at_boundary = cache.ShareFrom(*source, 16);
  EXPECT_EQ(at_boundary->BlocksToGrow(17), 1);
  Fill(*at_boundary, 17, 2000.0f);
  EXPECT_EQ(cache.stats().copy_on_write, 1);
  EXPECT_EQ(KeyAt(*source, 16), 16.0f);
  // Clamped to the source's length.
  EXPECT_EQ(cache.ShareFrom(*source, 99)->num_positions(), 20);
}

TEST(KvCacheTest, PublishedBlocksAreNeverWrittenInPlace) {
  KvCache cache = MakeCache(4);
  std::unique_ptr<PagedKvSequence> seq = cache.NewSequence();
  Fill(*seq, 16);
  cache.PublishFullBlocks(*seq, Tokens(16), 0);
  // Rewind into the published block and write other data: it must be copied first.
  ASSERT_TRUE(seq->Resize(10).ok());
  EXPECT_EQ(seq->BlocksToGrow(12), 1);
  Fill(*seq, 12, 500.0f);
  EXPECT_EQ(cache.stats().copy_on_write, 1);
  std::unique_ptr<PagedKvSequence> reader = cache.NewSequence();
  ASSERT_EQ(cache.AttachCachedPrefix(*reader, Tokens(17), 0), 16);
  EXPECT_EQ(KeyAt(*reader, 11), 11.0f);
  EXPECT_EQ(KeyAt(*seq, 11), 511.0f);
}

TEST(KvCacheTest, MovingTheCacheKeepsSequencesValid) {
  KvCache cache = MakeCache(3);
  std::unique_ptr<PagedKvSequence> seq = cache.NewSequence();
  Fill(*seq, 5);
  KvCache moved = std::move(cache);
  Fill(*seq, 30);
  EXPECT_EQ(moved.stats().blocks_used, 2);
  seq.reset();
  EXPECT_EQ(moved.stats().blocks_free, 3);
}

// Every stored element of every (layer, kv head, position), as bytes: keys then values, plus the
// int8 scales. Equal dumps = the same bits wherever the blocks live.
std::vector<std::byte> Dump(const PagedKvSequence& seq, KvElementType type) {
  const int64_t element_bytes = type == KvElementType::kF32    ? 4
                                : type == KvElementType::kInt8 ? 1
                                                               : 2;
  std::vector<std::byte> out;
  for (int64_t layer = 0; layer < kShape.num_layers; ++layer) {
    for (int64_t head = 0; head < kShape.num_kv_heads; ++head) {
      for (int64_t p = 0; p < seq.num_positions(); ++p) {
        const KvRun run = seq.Run(layer, head, p);
        for (const void* base : {run.keys, run.values}) {
          const std::byte* row = static_cast<const std::byte*>(base);
          out.insert(out.end(), row, row + kShape.head_dim * element_bytes);
        }
        for (const float* scales : {run.key_scales, run.value_scales}) {
          if (scales == nullptr) continue;
          const std::byte* scale = reinterpret_cast<const std::byte*>(scales);
          out.insert(out.end(), scale, scale + sizeof(float));
        }
      }
    }
  }
  return out;
}

// Export then import, into the same cache or another of the same config: the same bits back, for
// every element type, a partial last block included; the imported blocks are the new sequence's
// own (exclusive: it can grow and be written like any other).
TEST(KvCacheTest, ExportedBlocksImportBitForBit) {
  for (const KvElementType type :
       {KvElementType::kF32, KvElementType::kBF16, KvElementType::kF16, KvElementType::kInt8}) {
    KvCache cache = MakeCache(8, type);
    std::unique_ptr<PagedKvSequence> seq = cache.NewSequence();
    Fill(*seq, 37, 0.37f);  // 3 blocks, the last partial
    const std::vector<std::byte> exported = cache.ExportBlocks(*seq);
    ASSERT_EQ(static_cast<int64_t>(exported.size()), 3 * cache.ExportedBlockBytes());

    KvCache other = MakeCache(8, type);
    absl::StatusOr<std::unique_ptr<PagedKvSequence>> imported = other.ImportBlocks(exported, 37);
    ASSERT_TRUE(imported.ok()) << imported.status();
    EXPECT_EQ((*imported)->num_positions(), 37);
    EXPECT_EQ(Dump(**imported, type), Dump(*seq, type));
    EXPECT_EQ(other.stats().blocks_used, 3);
    Fill(**imported, 40, 1.0f);  // grows in place: its blocks are exclusive
    EXPECT_EQ(other.stats().copy_on_write, 0);

    absl::StatusOr<std::unique_ptr<PagedKvSequence>> again = cache.ImportBlocks(exported, 37);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(Dump(**again, type), Dump(*seq, type));
    again->reset();
    imported->reset();
    EXPECT_EQ(other.stats().blocks_used, 0);
  }
}

TEST(KvCacheTest, ImportChecksTheSizeAndThePool) {
  KvCache cache = MakeCache(4);
  std::unique_ptr<PagedKvSequence> seq = cache.NewSequence();
  Fill(*seq, 40);  // 3 blocks
  const std::vector<std::byte> exported = cache.ExportBlocks(*seq);
  const absl::Status wrong_size = cache.ImportBlocks(exported, 50).status();
  EXPECT_EQ(wrong_size.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(wrong_size.message(), HasSubstr("do not hold 50 positions (4 blocks"));
  // 1 block left: the import needs 3 and takes none.
  const absl::Status full = cache.ImportBlocks(exported, 40).status();
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(full.message(), HasSubstr("needs 3 KV blocks; 1 are available"));
  EXPECT_EQ(cache.stats().blocks_used, 3);
}

}  // namespace
}  // namespace minimind
