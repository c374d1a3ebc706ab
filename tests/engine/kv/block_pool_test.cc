#include "engine/kv/block_pool.h"

#include <cstring>
#include <optional>
#include <set>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace minimind {
namespace {

KvCacheConfig SmallConfig(KvElementType type, int64_t num_blocks) {
  KvCacheConfig config{.shape = {.num_layers = 2, .num_kv_heads = 3, .head_dim = 5},
                       .element_type = type,
                       .block_size = 4,
                       .memory_bytes = 0};
  config.memory_bytes = num_blocks * config.BytesPerBlock();
  return config;
}

TEST(BlockPoolTest, RejectsBudgetBelowOneBlock) {
  KvCacheConfig config = SmallConfig(KvElementType::kF32, 1);
  config.memory_bytes -= 1;
  const absl::StatusOr<BlockPool> pool = BlockPool::Create(config);
  EXPECT_EQ(pool.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(pool.status().message(), ::testing::HasSubstr("holds no block"));
}

TEST(BlockPoolTest, StorageSizesMatchTheConfig) {
  for (const KvElementType type :
       {KvElementType::kF32, KvElementType::kBF16, KvElementType::kF16, KvElementType::kInt8}) {
    const KvCacheConfig config = SmallConfig(type, 3);
    absl::StatusOr<BlockPool> pool = BlockPool::Create(config);
    ASSERT_TRUE(pool.ok()) << pool.status();
    EXPECT_EQ(pool->num_blocks(), 3);
    EXPECT_EQ(pool->code_bytes_per_block() +
                  pool->scales_per_block() * static_cast<int64_t>(sizeof(float)),
              config.BytesPerBlock());
    EXPECT_EQ(pool->Scales(0) != nullptr, type == KvElementType::kInt8);
  }
}

TEST(BlockPoolTest, AcquireReleaseFreeAndCounts) {
  absl::StatusOr<BlockPool> pool = BlockPool::Create(SmallConfig(KvElementType::kF32, 3));
  ASSERT_TRUE(pool.ok());
  std::set<BlockId> taken;
  for (int i = 0; i < 3; ++i) {
    const std::optional<BlockId> block = pool->Acquire();
    ASSERT_TRUE(block.has_value());
    EXPECT_TRUE(taken.insert(*block).second);
    EXPECT_EQ(pool->ref_count(*block), 1);
    EXPECT_FALSE(pool->is_free(*block));
  }
  EXPECT_FALSE(pool->Acquire().has_value());
  EXPECT_EQ(pool->num_free(), 0);
  EXPECT_EQ(pool->num_referenced(), 3);

  const BlockId b = *taken.begin();
  pool->AddRef(b);
  EXPECT_EQ(pool->ref_count(b), 2);
  EXPECT_FALSE(pool->Release(b));
  EXPECT_TRUE(pool->Release(b));  // Now idle: neither referenced nor free.
  EXPECT_EQ(pool->num_referenced(), 2);
  EXPECT_EQ(pool->num_idle(), 1);
  EXPECT_FALSE(pool->Acquire().has_value());
  pool->AddRef(b);  // Revived from idle.
  EXPECT_EQ(pool->num_idle(), 0);
  EXPECT_TRUE(pool->Release(b));
  pool->Free(b);
  EXPECT_TRUE(pool->is_free(b));
  EXPECT_EQ(pool->num_free(), 1);
  EXPECT_EQ(pool->Acquire(), b);
}

TEST(BlockPoolTest, CopyBlockCopiesCodesAndScales) {
  absl::StatusOr<BlockPool> pool = BlockPool::Create(SmallConfig(KvElementType::kInt8, 2));
  ASSERT_TRUE(pool.ok());
  for (int64_t i = 0; i < pool->code_bytes_per_block(); ++i) {
    pool->Codes(0)[i] = static_cast<std::byte>(i * 7);
  }
  for (int64_t i = 0; i < pool->scales_per_block(); ++i) pool->Scales(0)[i] = 0.25f * i;
  pool->CopyBlock(0, 1);
  EXPECT_EQ(std::memcmp(pool->Codes(0), pool->Codes(1), pool->code_bytes_per_block()), 0);
  EXPECT_EQ(std::memcmp(pool->Scales(0), pool->Scales(1), pool->scales_per_block() * 4), 0);
}

}  // namespace
}  // namespace minimind
