#include "engine/model/contiguous_kv_sequence.h"

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "engine/kernels/attention.h"
#include "gtest/gtest.h"

namespace minimind {
namespace {

constexpr KvShape kShape{.num_layers = 2, .num_kv_heads = 3, .head_dim = 4};

// Rows whose values encode (layer, position, column) so reads can be checked exactly.
std::vector<float> Rows(int64_t layer, int64_t first, int64_t count, float offset) {
  std::vector<float> rows;
  for (int64_t p = first; p < first + count; ++p) {
    for (int64_t c = 0; c < kShape.row_size(); ++c)
      rows.push_back(offset + layer * 1000 + p * 20 + c);
  }
  return rows;
}

float KeyAt(const KvRun& run, int64_t t, int64_t j) {
  return static_cast<const float*>(run.keys)[t * run.stride + j];
}
float ValueAt(const KvRun& run, int64_t t, int64_t j) {
  return static_cast<const float*>(run.values)[t * run.stride + j];
}

TEST(ContiguousKvSequenceTest, StartsEmptyWithItsShape) {
  const ContiguousKvSequence kv(kShape);
  EXPECT_EQ(kv.num_positions(), 0);
  EXPECT_EQ(kv.shape(), kShape);
}

TEST(ContiguousKvSequenceTest, RunsReadBackWhatWasWrittenAcrossGrowth) {
  ContiguousKvSequence kv(kShape);
  // Written in pieces, growing several times (contents must survive reallocation).
  int64_t written = 0;
  for (const int64_t count : {1, 2, 5, 13}) {
    ASSERT_TRUE(kv.Resize(written + count).ok());
    for (int64_t layer = 0; layer < 2; ++layer) {
      kv.Write(layer, written, count, Rows(layer, written, count, 0).data(),
               Rows(layer, written, count, 0.5f).data());
    }
    written += count;
  }
  EXPECT_EQ(kv.num_positions(), 21);
  for (int64_t layer = 0; layer < 2; ++layer) {
    for (int64_t head = 0; head < 3; ++head) {
      const KvRun run = kv.Run(layer, head, 4);
      EXPECT_EQ(run.num_positions, 17);  // One run to the end.
      EXPECT_EQ(run.type, KvElementType::kF32);
      EXPECT_EQ(run.stride, 12);
      for (int64_t t = 0; t < 17; ++t) {
        for (int64_t j = 0; j < 4; ++j) {
          const float expected = layer * 1000 + (4 + t) * 20 + head * 4 + j;
          ASSERT_EQ(KeyAt(run, t, j), expected);
          ASSERT_EQ(ValueAt(run, t, j), expected + 0.5f);
        }
      }
    }
  }
}

TEST(ContiguousKvSequenceTest, TruncationKeepsThePrefix) {
  ContiguousKvSequence kv(kShape);
  ASSERT_TRUE(kv.Resize(10).ok());
  kv.Write(0, 0, 10, Rows(0, 0, 10, 0).data(), Rows(0, 0, 10, 0).data());
  ASSERT_TRUE(kv.Resize(4).ok());
  EXPECT_EQ(kv.num_positions(), 4);
  EXPECT_EQ(kv.Run(0, 1, 0).num_positions, 4);
  EXPECT_EQ(KeyAt(kv.Run(0, 1, 0), 3, 2), 3 * 20 + 4 + 2);
}

TEST(ContiguousKvSequenceTest, NegativeLengthIsRejected) {
  ContiguousKvSequence kv(kShape);
  EXPECT_EQ(kv.Resize(-1).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(kv.num_positions(), 0);
}

}  // namespace
}  // namespace minimind
