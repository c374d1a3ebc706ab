#include "engine/kv/kv_cache_config.h"

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace minimind {
namespace {

using ::testing::HasSubstr;

TEST(KvElementTypeTest, ParsesAndNamesEveryType) {
  for (const KvElementType type :
       {KvElementType::kF32, KvElementType::kBF16, KvElementType::kF16, KvElementType::kInt8}) {
    const absl::StatusOr<KvElementType> parsed = ParseKvElementType(KvElementTypeName(type));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, type);
  }
  EXPECT_EQ(KvElementTypeName(KvElementType::kBF16), "bf16");
  EXPECT_EQ(KvElementBytes(KvElementType::kF32), 4);
  EXPECT_EQ(KvElementBytes(KvElementType::kF16), 2);
  EXPECT_EQ(KvElementBytes(KvElementType::kInt8), 1);
}

TEST(KvElementTypeTest, RejectsUnknownNames) {
  for (const char* name : {"", "F32", "fp16", "int4", "float"}) {
    const absl::StatusOr<KvElementType> parsed = ParseKvElementType(name);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_THAT(parsed.status().message(), HasSubstr("f32, bf16, f16, int8"));
  }
}

TEST(KvCacheConfigTest, BytesFollowTheFormula) {
  // MiniMind2-Small: 8 layers, 2 kv heads, head_dim 64.
  KvCacheConfig config{.shape = {.num_layers = 8, .num_kv_heads = 2, .head_dim = 64},
                       .element_type = KvElementType::kF32,
                       .block_size = 16,
                       .memory_bytes = 1 << 24};
  EXPECT_EQ(config.BytesPerToken(), 2 * 8 * 2 * 64 * 4);
  config.element_type = KvElementType::kBF16;
  EXPECT_EQ(config.BytesPerToken(), 2 * 8 * 2 * 64 * 2);
  config.element_type = KvElementType::kInt8;
  EXPECT_EQ(config.BytesPerToken(), 2 * 8 * 2 * 64 * 1 + 2 * 8 * 2 * 4);
  EXPECT_EQ(config.BytesPerBlock(), 16 * config.BytesPerToken());
  EXPECT_EQ(config.NumBlocks(), (1 << 24) / config.BytesPerBlock());
  EXPECT_EQ(config.BlocksFor(0), 0);
  EXPECT_EQ(config.BlocksFor(1), 1);
  EXPECT_EQ(config.BlocksFor(16), 1);
  EXPECT_EQ(config.BlocksFor(17), 2);
}

TEST(KvCacheConfigTest, ValidateNamesTheProblem) {
  KvCacheConfig config{.shape = {.num_layers = 2, .num_kv_heads = 2, .head_dim = 8},
                       .element_type = KvElementType::kF32,
                       .block_size = 16,
                       .memory_bytes = 1 << 20};
  EXPECT_TRUE(config.Validate().ok());

  KvCacheConfig tiny = config;
  tiny.memory_bytes = config.BytesPerBlock() - 1;
  EXPECT_EQ(tiny.Validate().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(tiny.Validate().message(), HasSubstr("holds no block"));
  EXPECT_EQ(tiny.NumBlocks(), 0);
  tiny.memory_bytes = config.BytesPerBlock();
  EXPECT_TRUE(tiny.Validate().ok());
  EXPECT_EQ(tiny.NumBlocks(), 1);

  KvCacheConfig bad_block = config;
  bad_block.block_size = 0;
  EXPECT_THAT(bad_block.Validate().message(), HasSubstr("block size"));
  KvCacheConfig bad_shape = config;
  bad_shape.shape.num_kv_heads = 0;
  EXPECT_THAT(bad_shape.Validate().message(), HasSubstr("shape"));
  KvCacheConfig huge = config;
  huge.shape = {.num_layers = int64_t{1} << 40, .num_kv_heads = int64_t{1} << 40, .head_dim = 8};
  EXPECT_THAT(huge.Validate().message(), HasSubstr("implausibly large"));
  KvCacheConfig negative = config;
  negative.memory_bytes = -1;
  EXPECT_THAT(negative.Validate().message(), HasSubstr("negative"));
}

}  // namespace
}  // namespace minimind
