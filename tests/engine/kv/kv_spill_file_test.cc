#include "engine/kv/kv_spill_file.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace minimind {
namespace {

using ::testing::HasSubstr;

KvSpillLayout Layout() {
  return KvSpillLayout{.model_fingerprint = 0x1234abcd5678ef00,
                       .element_type = KvElementType::kF16,
                       .block_size = 16,
                       .shape = {.num_layers = 2, .num_kv_heads = 2, .head_dim = 8},
                       .bytes_per_block = 100};
}

std::vector<std::byte> Blocks(int blocks, int bytes_per_block) {
  std::vector<std::byte> out(blocks * bytes_per_block);
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::byte>(i * 31 + 7);
  return out;
}

TEST(KvSpillFileTest, RoundTripsTokensAndBlocks) {
  const std::vector<int32_t> tokens = {5, 6, 7, -1, 6399, 0};
  const std::vector<std::byte> blocks = Blocks(3, 100);
  const std::string file = EncodeKvSpill(Layout(), tokens, blocks);
  EXPECT_EQ(file.size(), 8 + 4 + 8 + 20 + 24 + tokens.size() * 4 + 4 + 3 * (100 + 4));
  absl::StatusOr<KvSpill> spill = DecodeKvSpill(file, Layout());
  ASSERT_TRUE(spill.ok()) << spill.status();
  EXPECT_EQ(spill->tokens, tokens);
  EXPECT_EQ(spill->blocks, blocks);

  // No blocks at all is a valid (empty) spill too.
  absl::StatusOr<KvSpill> empty = DecodeKvSpill(EncodeKvSpill(Layout(), {}, {}), Layout());
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_TRUE(empty->tokens.empty());
}

// Every single flipped byte anywhere in the file is detected: never decoded into other KV.
TEST(KvSpillFileTest, EveryCorruptByteIsDetected) {
  const std::string file = EncodeKvSpill(Layout(), {1, 2, 3}, Blocks(2, 100));
  for (size_t i = 0; i < file.size(); ++i) {
    std::string corrupt = file;
    corrupt[i] = static_cast<char>(corrupt[i] ^ 0x40);
    const absl::Status status = DecodeKvSpill(corrupt, Layout()).status();
    EXPECT_FALSE(status.ok()) << "byte " << i;
    EXPECT_TRUE(status.code() == absl::StatusCode::kDataLoss ||
                status.code() == absl::StatusCode::kFailedPrecondition)
        << "byte " << i << ": " << status;
  }
  std::string block_corrupt = file;
  block_corrupt[file.size() - 10] ^= 1;  // inside the last block
  EXPECT_THAT(DecodeKvSpill(block_corrupt, Layout()).status().message(),
              HasSubstr("block 1 of 2 fails its CRC"));
}

TEST(KvSpillFileTest, TornFilesAreDataLoss) {
  const std::string file = EncodeKvSpill(Layout(), {1, 2, 3}, Blocks(2, 100));
  for (size_t size : {size_t{0}, size_t{7}, size_t{40}, file.size() - 1, file.size() / 2}) {
    const absl::Status status = DecodeKvSpill(file.substr(0, size), Layout()).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << size << ": " << status;
  }
  EXPECT_THAT(DecodeKvSpill(file + "x", Layout()).status().message(), HasSubstr("torn"));
  EXPECT_THAT(DecodeKvSpill("garbage that is long enough to hold a header, surely.....", Layout())
                  .status()
                  .message(),
              HasSubstr("not a KV spill file"));
}

TEST(KvSpillFileTest, AnotherModelOrLayoutIsRefused) {
  const std::string file = EncodeKvSpill(Layout(), {1, 2, 3}, Blocks(1, 100));
  KvSpillLayout other_model = Layout();
  other_model.model_fingerprint ^= 1;
  KvSpillLayout other_dtype = Layout();
  other_dtype.element_type = KvElementType::kInt8;
  KvSpillLayout other_block = Layout();
  other_block.block_size = 32;
  KvSpillLayout other_shape = Layout();
  other_shape.shape.num_layers = 3;
  for (const KvSpillLayout& layout : {other_model, other_dtype, other_block, other_shape}) {
    const absl::Status status = DecodeKvSpill(file, layout).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
    EXPECT_THAT(status.message(), HasSubstr("another model or layout"));
  }
}

}  // namespace
}  // namespace minimind
