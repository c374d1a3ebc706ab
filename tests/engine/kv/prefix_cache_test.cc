#include "engine/kv/prefix_cache.h"

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/types/span.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace minimind {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr int64_t kBlockSize = 4;

std::vector<int32_t> Tokens(int32_t start, int64_t n) {
  std::vector<int32_t> tokens(n);
  for (int64_t i = 0; i < n; ++i) tokens[i] = start + static_cast<int32_t>(i);
  return tokens;
}

TEST(PrefixCacheTest, ChainHashDependsOnParentTokensAndSalt) {
  const std::vector<int32_t> tokens = Tokens(10, 16);
  const uint64_t base = PrefixCache::ChainHash(PrefixCache::kRootHash, tokens, 0);
  EXPECT_EQ(base, PrefixCache::ChainHash(PrefixCache::kRootHash, tokens, 0));
  EXPECT_NE(base, PrefixCache::ChainHash(PrefixCache::kRootHash, tokens, 1));
  EXPECT_NE(base, PrefixCache::ChainHash(base, tokens, 0));
  std::vector<int32_t> changed = tokens;
  changed[15] = 11;
  EXPECT_NE(base, PrefixCache::ChainHash(PrefixCache::kRootHash, changed, 0));
  // Swapping two tokens changes the hash (order matters).
  std::swap(changed[0], changed[1]);
  EXPECT_NE(PrefixCache::ChainHash(PrefixCache::kRootHash, changed, 0),
            PrefixCache::ChainHash(PrefixCache::kRootHash, tokens, 0));
}

TEST(PrefixCacheTest, LookupReturnsLongestPublishedChain) {
  PrefixCache cache(8, kBlockSize);
  const std::vector<int32_t> tokens = Tokens(0, 14);  // 3 full blocks + 2 tokens.
  EXPECT_EQ(cache.Publish(std::vector<BlockId>{5, 2, 7, 1}, tokens, 9), 3);
  EXPECT_EQ(cache.num_published(), 3);
  EXPECT_THAT(cache.Lookup(tokens, 9, 100), ElementsAre(5, 2, 7));
  EXPECT_THAT(cache.Lookup(tokens, 9, 2), ElementsAre(5, 2));
  EXPECT_THAT(cache.Lookup(absl::MakeSpan(tokens).subspan(0, 7), 9, 100), ElementsAre(5));
  // Another tenant's salt sees nothing.
  EXPECT_THAT(cache.Lookup(tokens, 8, 100), IsEmpty());
  // A different second block ends the match after the first.
  std::vector<int32_t> diverging = tokens;
  diverging[6] = 99;
  EXPECT_THAT(cache.Lookup(diverging, 9, 100), ElementsAre(5));
  // Republishing the same prefix with other blocks keeps the existing entries.
  EXPECT_EQ(cache.Publish(std::vector<BlockId>{0, 3, 4}, tokens, 9), 0);
  EXPECT_FALSE(cache.IsPublished(0));
  // Extending the chain from a copy of it reuses the existing parents.
  const std::vector<int32_t> longer = Tokens(0, 16);
  EXPECT_EQ(cache.Publish(std::vector<BlockId>{0, 3, 4, 6}, longer, 9), 1);
  EXPECT_THAT(cache.Lookup(longer, 9, 100), ElementsAre(5, 2, 7, 6));
}

TEST(PrefixCacheTest, BlockIsNeverIndexedTwice) {
  PrefixCache cache(4, kBlockSize);
  EXPECT_EQ(cache.Publish(std::vector<BlockId>{1}, Tokens(0, 4), 0), 1);
  // Same block under another salt: refused (it already names another prefix).
  EXPECT_EQ(cache.Publish(std::vector<BlockId>{1}, Tokens(0, 4), 1), 0);
  EXPECT_THAT(cache.Lookup(Tokens(0, 4), 1, 1), IsEmpty());
}

uint64_t ConstantHash(uint64_t, absl::Span<const int32_t>, uint64_t) { return 42; }

TEST(PrefixCacheTest, HashCollisionsNeverReturnOtherKv) {
  // Every block of every prefix collides; only the stored tokens/salt/parent tell them apart.
  PrefixCache cache(8, kBlockSize, &ConstantHash);
  EXPECT_EQ(cache.Publish(std::vector<BlockId>{3}, Tokens(0, 4), 0), 1);
  EXPECT_THAT(cache.Lookup(Tokens(0, 4), 0, 1), ElementsAre(3));
  EXPECT_THAT(cache.Lookup(Tokens(1, 4), 0, 1), IsEmpty());  // Other tokens.
  EXPECT_THAT(cache.Lookup(Tokens(0, 4), 1, 1), IsEmpty());  // Other salt.
  // A second block hashing like the first is not its own parent's match either.
  EXPECT_THAT(cache.Lookup(std::vector<int32_t>{0, 1, 2, 3, 0, 1, 2, 3}, 0, 2), ElementsAre(3));
  // Publishing a colliding prefix stops rather than overwriting.
  EXPECT_EQ(cache.Publish(std::vector<BlockId>{4}, Tokens(1, 4), 0), 0);
  EXPECT_FALSE(cache.IsPublished(4));
}

TEST(PrefixCacheTest, LruEvictsOldestIdleAndOrphansChildren) {
  PrefixCache cache(8, kBlockSize);
  const std::vector<int32_t> tokens = Tokens(0, 8);
  ASSERT_EQ(cache.Publish(std::vector<BlockId>{0, 1}, tokens, 0), 2);
  ASSERT_EQ(cache.Publish(std::vector<BlockId>{2}, Tokens(50, 4), 0), 1);
  EXPECT_FALSE(cache.EvictLeastRecentlyUsed().has_value());  // Nothing idle yet.
  cache.MarkIdle(2);
  cache.MarkIdle(0);
  cache.MarkIdle(1);
  EXPECT_EQ(cache.num_idle(), 3);
  cache.MarkInUse(2);  // Referenced again: leaves the LRU.
  EXPECT_EQ(cache.EvictLeastRecentlyUsed(), 0);
  EXPECT_FALSE(cache.IsPublished(0));
  // Block 1's parent is gone: it is unreachable, even after the parent prefix is republished.
  EXPECT_THAT(cache.Lookup(tokens, 0, 2), IsEmpty());
  ASSERT_EQ(cache.Publish(std::vector<BlockId>{5, 6}, tokens, 0), 1);
  EXPECT_THAT(cache.Lookup(tokens, 0, 2), ElementsAre(5));
  EXPECT_EQ(cache.EvictLeastRecentlyUsed(), 1);
  EXPECT_FALSE(cache.EvictLeastRecentlyUsed().has_value());
  EXPECT_EQ(cache.num_published(), 2);  // 2 and 5.
}

}  // namespace
}  // namespace minimind
