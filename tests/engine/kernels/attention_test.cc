#include "engine/kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "engine/kernels/float_convert.h"
#include "engine/kernels/reduction.h"
#include "engine/kernels/softmax.h"
#include "gtest/gtest.h"
#include "tests/support/random_vectors.h"

namespace minimind {
namespace {

constexpr int64_t kHeadDim = 24;
constexpr int64_t kNumKvHeads = 3;
constexpr int64_t kStride = kHeadDim * kNumKvHeads;  // Rows of all kv heads interleaved.
constexpr int64_t kPositions = 53;
constexpr int64_t kHead = 1;  // The kv head under test: rows start at kHead * kHeadDim.

using ::minimind::testing::RandomVector;

// f32 runs of `run_length` positions over [kPositions, kStride] keys and values, for kHead.
std::vector<KvRun> F32Runs(const std::vector<float>& keys, const std::vector<float>& values,
                           int64_t run_length) {
  std::vector<KvRun> runs;
  for (int64_t first = 0; first < kPositions; first += run_length) {
    runs.push_back(KvRun{.num_positions = std::min(run_length, kPositions - first),
                         .type = KvElementType::kF32,
                         .keys = &keys[first * kStride + kHead * kHeadDim],
                         .values = &values[first * kStride + kHead * kHeadDim],
                         .stride = kStride});
  }
  return runs;
}

std::vector<float> Attend(const std::vector<float>& query, const std::vector<KvRun>& runs,
                          int64_t num_keys) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(kHeadDim));
  std::vector<float> scores(num_keys), row(kHeadDim), out(kHeadDim);
  AttendQuery(query.data(), kHeadDim, runs, num_keys, scale, scores.data(), row.data(), out.data());
  return out;
}

bool BitwiseEqual(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

class AttentionTest : public ::testing::Test {
 protected:
  std::vector<float> keys_ = RandomVector(kPositions * kStride, 1);
  std::vector<float> values_ = RandomVector(kPositions * kStride, 2);
  std::vector<float> query_ = RandomVector(kHeadDim, 3);
};

TEST_F(AttentionTest, MatchesDoublePrecisionReference) {
  for (int64_t num_keys : {int64_t{1}, int64_t{2}, int64_t{17}, kPositions}) {
    const std::vector<float> out = Attend(query_, F32Runs(keys_, values_, kPositions), num_keys);
    std::vector<double> scores(num_keys);
    for (int64_t p = 0; p < num_keys; ++p) {
      double dot = 0;
      for (int64_t j = 0; j < kHeadDim; ++j) {
        dot += static_cast<double>(query_[j]) * keys_[p * kStride + kHead * kHeadDim + j];
      }
      scores[p] = dot / std::sqrt(static_cast<double>(kHeadDim));
    }
    const double max = *std::max_element(scores.begin(), scores.end());
    double sum = 0;
    for (double& score : scores) sum += (score = std::exp(score - max));
    for (int64_t j = 0; j < kHeadDim; ++j) {
      double expected = 0;
      for (int64_t p = 0; p < num_keys; ++p) {
        expected += scores[p] / sum * values_[p * kStride + kHead * kHeadDim + j];
      }
      ASSERT_NEAR(out[j], expected, 2e-6) << num_keys << " " << j;
    }
  }
}

// The kernel's arithmetic is exactly specified (attention.h): reduction.h's Dot for each score,
// SoftmaxInPlace, then the values summed in position order from +0, each product fused. Any faster
// implementation must reproduce this scalar statement of it bit for bit.
TEST_F(AttentionTest, EqualsTheScalarSpecificationBitwise) {
  for (int64_t num_keys : {int64_t{1}, int64_t{7}, int64_t{33}, kPositions}) {
    std::vector<float> scores(num_keys);
    const float scale = 1.0f / std::sqrt(static_cast<float>(kHeadDim));
    for (int64_t p = 0; p < num_keys; ++p) {
      scores[p] = Dot(query_.data(), &keys_[p * kStride + kHead * kHeadDim], kHeadDim) * scale;
    }
    SoftmaxInPlace(scores.data(), num_keys);
    std::vector<float> expected(kHeadDim, 0.0f);
    for (int64_t p = 0; p < num_keys; ++p) {
      for (int64_t j = 0; j < kHeadDim; ++j) {
        expected[j] = std::fma(scores[p], values_[p * kStride + kHead * kHeadDim + j], expected[j]);
      }
    }
    EXPECT_TRUE(BitwiseEqual(Attend(query_, F32Runs(keys_, values_, 16), num_keys), expected))
        << num_keys << " keys";
  }
}

TEST_F(AttentionTest, OneKeyReturnsItsValue) {
  const std::vector<float> out = Attend(query_, F32Runs(keys_, values_, kPositions), 1);
  EXPECT_TRUE(BitwiseEqual(
      out, std::vector<float>(&values_[kHead * kHeadDim], &values_[(kHead + 1) * kHeadDim])));
}

TEST_F(AttentionTest, RunSplitDoesNotChangeTheResultBitwise) {
  for (int64_t num_keys : {int64_t{1}, int64_t{16}, int64_t{17}, int64_t{40}, kPositions}) {
    const std::vector<float> whole = Attend(query_, F32Runs(keys_, values_, kPositions), num_keys);
    for (int64_t run_length : {1, 5, 16}) {
      EXPECT_TRUE(
          BitwiseEqual(whole, Attend(query_, F32Runs(keys_, values_, run_length), num_keys)))
          << "num_keys " << num_keys << " run length " << run_length;
    }
  }
}

TEST_F(AttentionTest, ReadsOnlyThePrefixOfNumKeys) {
  std::vector<float> keys = keys_, values = values_;
  // Poison everything from position 20 on: attention over 20 keys must not see it.
  for (int64_t i = 20 * kStride; i < kPositions * kStride; ++i) {
    keys[i] = std::nanf("");
    values[i] = std::nanf("");
  }
  EXPECT_TRUE(BitwiseEqual(Attend(query_, F32Runs(keys_, values_, 16), 20),
                           Attend(query_, F32Runs(keys, values, 16), 20)));
}

// Narrow element types are widened on read: a run stored narrow must attend exactly like an f32
// run holding the widened values.
TEST_F(AttentionTest, Narrow16BitRunsEqualTheirF32WideningBitwise) {
  for (KvElementType type : {KvElementType::kBF16, KvElementType::kF16}) {
    std::vector<uint16_t> narrow_keys(keys_.size()), narrow_values(values_.size());
    std::vector<float> wide_keys(keys_.size()), wide_values(values_.size());
    for (size_t i = 0; i < keys_.size(); ++i) {
      if (type == KvElementType::kBF16) {
        narrow_keys[i] = F32ToBF16(keys_[i]);
        narrow_values[i] = F32ToBF16(values_[i]);
        wide_keys[i] = BF16ToF32(narrow_keys[i]);
        wide_values[i] = BF16ToF32(narrow_values[i]);
      } else {
        narrow_keys[i] = F32ToF16(keys_[i]);
        narrow_values[i] = F32ToF16(values_[i]);
        wide_keys[i] = F16ToF32(narrow_keys[i]);
        wide_values[i] = F16ToF32(narrow_values[i]);
      }
    }
    std::vector<KvRun> narrow_runs;
    for (int64_t first = 0; first < kPositions; first += 16) {
      narrow_runs.push_back(KvRun{.num_positions = std::min<int64_t>(16, kPositions - first),
                                  .type = type,
                                  .keys = &narrow_keys[first * kStride + kHead * kHeadDim],
                                  .values = &narrow_values[first * kStride + kHead * kHeadDim],
                                  .stride = kStride});
    }
    const std::vector<float> wide = Attend(query_, F32Runs(wide_keys, wide_values, 7), kPositions);
    EXPECT_TRUE(BitwiseEqual(Attend(query_, narrow_runs, kPositions), wide))
        << static_cast<int>(type);
    // And the narrowing costs little accuracy against the original f32 values.
    const std::vector<float> exact = Attend(query_, F32Runs(keys_, values_, 7), kPositions);
    for (int64_t j = 0; j < kHeadDim; ++j) EXPECT_NEAR(wide[j], exact[j], 0.05);
  }
}

TEST_F(AttentionTest, Int8RunsApplyPerTokenPerHeadScales) {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> code(-127, 127);
  std::uniform_real_distribution<float> scale(0.005f, 0.02f);
  std::vector<int8_t> key_codes(keys_.size()), value_codes(values_.size());
  for (auto& c : key_codes) c = static_cast<int8_t>(code(rng));
  for (auto& c : value_codes) c = static_cast<int8_t>(code(rng));
  // Scales laid out [position, kv head], so a head's scales have stride kNumKvHeads.
  std::vector<float> key_scales(kPositions * kNumKvHeads), value_scales(kPositions * kNumKvHeads);
  for (float& s : key_scales) s = scale(rng);
  for (float& s : value_scales) s = scale(rng);
  std::vector<float> wide_keys(keys_.size()), wide_values(values_.size());
  for (int64_t p = 0; p < kPositions; ++p) {
    for (int64_t h = 0; h < kNumKvHeads; ++h) {
      for (int64_t j = 0; j < kHeadDim; ++j) {
        const int64_t i = p * kStride + h * kHeadDim + j;
        wide_keys[i] = static_cast<float>(key_codes[i]) * key_scales[p * kNumKvHeads + h];
        wide_values[i] = static_cast<float>(value_codes[i]) * value_scales[p * kNumKvHeads + h];
      }
    }
  }
  std::vector<KvRun> int8_runs;
  for (int64_t first = 0; first < kPositions; first += 16) {
    int8_runs.push_back(KvRun{.num_positions = std::min<int64_t>(16, kPositions - first),
                              .type = KvElementType::kInt8,
                              .keys = &key_codes[first * kStride + kHead * kHeadDim],
                              .values = &value_codes[first * kStride + kHead * kHeadDim],
                              .stride = kStride,
                              .key_scales = &key_scales[first * kNumKvHeads + kHead],
                              .value_scales = &value_scales[first * kNumKvHeads + kHead],
                              .scale_stride = kNumKvHeads});
  }
  EXPECT_TRUE(
      BitwiseEqual(Attend(query_, int8_runs, kPositions),
                   Attend(query_, F32Runs(wide_keys, wide_values, kPositions), kPositions)));
}

// AttendQueries is AttendQuery for a group at once: every query's output must be the same bits,
// for head sizes on and off the kernels' 8- and 32-wide paths, queries seeing different numbers
// of keys (fewer than one chunk, more than one), runs shorter and longer than a chunk, and every
// element type (narrow ones are widened a chunk at a time instead of a row at a time).
TEST(AttendQueriesTest, EachQueryEqualsAttendQueryBitwise) {
  constexpr int64_t kKeys = 3 * kAttentionKeyChunk + 5;
  for (int64_t head_dim : {int64_t{24}, int64_t{64}, int64_t{72}}) {
    const std::vector<float> keys = RandomVector(kKeys * head_dim, 11);
    const std::vector<float> values = RandomVector(kKeys * head_dim, 12);
    std::vector<uint16_t> f16_keys(keys.size()), f16_values(values.size());
    std::vector<int8_t> int8_keys(keys.size()), int8_values(values.size());
    for (size_t i = 0; i < keys.size(); ++i) {
      f16_keys[i] = F32ToF16(keys[i]);
      f16_values[i] = F32ToF16(values[i]);
      int8_keys[i] = static_cast<int8_t>(static_cast<int>(keys[i] * 100) % 128);
      int8_values[i] = static_cast<int8_t>(static_cast<int>(values[i] * 100) % 128);
    }
    const std::vector<float> scales = RandomVector(kKeys, 13);
    const std::vector<float> queries = RandomVector(5 * head_dim, 14);
    const int64_t num_keys[] = {1, 9, kAttentionKeyChunk, kAttentionKeyChunk + 1, kKeys};
    for (KvElementType type : {KvElementType::kF32, KvElementType::kF16, KvElementType::kInt8}) {
      for (int64_t run_length : {int64_t{1}, int64_t{16}, int64_t{40}, kKeys}) {
        std::vector<KvRun> runs;
        for (int64_t first = 0; first < kKeys; first += run_length) {
          KvRun run{.num_positions = std::min(run_length, kKeys - first),
                    .type = type,
                    .stride = head_dim};
          const int64_t offset = first * head_dim;
          if (type == KvElementType::kF32) {
            run.keys = &keys[offset];
            run.values = &values[offset];
          } else if (type == KvElementType::kF16) {
            run.keys = &f16_keys[offset];
            run.values = &f16_values[offset];
          } else {
            run.keys = &int8_keys[offset];
            run.values = &int8_values[offset];
            run.key_scales = &scales[first];
            run.value_scales = &scales[first];
            run.scale_stride = 1;
          }
          runs.push_back(run);
        }
        const float scale = 0.125f;
        std::vector<float> outs(5 * head_dim, std::nanf(""));
        std::vector<AttentionQuery> group;
        for (int q = 0; q < 5; ++q) {
          group.push_back({.query = &queries[q * head_dim],
                           .num_keys = num_keys[q],
                           .out = &outs[q * head_dim]});
        }
        std::vector<float> scratch(AttendQueriesScratchSize(5, kKeys, head_dim));
        AttendQueries(group, head_dim, runs, scale, scratch.data());
        for (int q = 0; q < 5; ++q) {
          std::vector<float> scores(num_keys[q]), row(head_dim), expected(head_dim);
          AttendQuery(&queries[q * head_dim], head_dim, runs, num_keys[q], scale, scores.data(),
                      row.data(), expected.data());
          EXPECT_TRUE(BitwiseEqual(
              std::vector<float>(&outs[q * head_dim], &outs[(q + 1) * head_dim]), expected))
              << "head_dim " << head_dim << " type " << static_cast<int>(type) << " run length "
              << run_length << " query " << q << " num_keys " << num_keys[q];
        }
      }
    }
  }
}

}  // namespace
}  // namespace minimind
