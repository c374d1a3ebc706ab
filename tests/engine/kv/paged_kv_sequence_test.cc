// PagedKvSequence through the real forward pass (ModelRunner on the tiny test checkpoints):
// f32 paged KV gives logits bitwise equal to the contiguous cache; for every element type,
// decoding token by token, in chunks and in one prefill agree bitwise; a prefix-cache hit or a
// shared (forked) prefix changes no bit; and the KV memory accounting follows the formula.
#include "engine/kv/paged_kv_sequence.h"

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "engine/kv/kv_cache.h"
#include "engine/kv/kv_row_codec.h"
#include "engine/model/checkpoint_loader.h"
#include "engine/model/contiguous_kv_sequence.h"
#include "engine/model/forward.h"
#include "gtest/gtest.h"
#include "tests/support/test_paths.h"

namespace minimind {
namespace {

using Rows = std::vector<std::vector<float>>;

constexpr KvElementType kAllTypes[] = {KvElementType::kF32, KvElementType::kBF16,
                                       KvElementType::kF16, KvElementType::kInt8};

class PagedForwardTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    absl::StatusOr<Model> model =
        LoadModel((testing::TestDataDir() / "models" / GetParam()).string());
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = *std::move(model);
    absl::StatusOr<ModelRunner> runner = ModelRunner::Create(model_);
    ASSERT_TRUE(runner.ok()) << runner.status();
    runner_ = std::make_unique<ModelRunner>(*std::move(runner));
    std::mt19937 rng(7);
    std::uniform_int_distribution<int32_t> token(0, model_.config.vocab_size - 1);
    tokens_.resize(45);
    for (int32_t& t : tokens_) t = token(rng);
  }

  KvCache MakeCache(KvElementType type, int64_t block_size = 8, int64_t num_blocks = 64) {
    KvCacheConfig config{.shape = runner_->kv_shape(),
                         .element_type = type,
                         .block_size = block_size,
                         .memory_bytes = 0};
    config.memory_bytes = num_blocks * config.BytesPerBlock();
    absl::StatusOr<KvCache> cache = KvCache::Create(config);
    EXPECT_TRUE(cache.ok()) << cache.status();
    return *std::move(cache);
  }

  // Runs tokens[begin, end) from position `begin` and returns copies of the logits rows.
  Rows Run(KvSequence& kv, int64_t begin, int64_t end, LogitsMode mode) {
    const ForwardSequence input{.tokens = absl::MakeConstSpan(tokens_).subspan(begin, end - begin),
                                .start_position = begin,
                                .kv = &kv,
                                .logits = mode};
    absl::StatusOr<ForwardLogits> logits = runner_->Forward({&input, 1});
    EXPECT_TRUE(logits.ok()) << logits.status();
    Rows rows;
    if (!logits.ok()) return rows;
    for (int64_t r = 0; r < logits->num_rows(0); ++r) {
      rows.emplace_back(logits->Row(0, r).begin(), logits->Row(0, r).end());
    }
    return rows;
  }

  // Logits after each token of tokens_[0, end), computed one token per Forward from `start`
  // (positions before `start` must already be in `kv`).
  Rows Decode(KvSequence& kv, int64_t start, int64_t end) {
    Rows rows;
    for (int64_t p = start; p < end; ++p)
      rows.push_back(Run(kv, p, p + 1, LogitsMode::kLastPosition)[0]);
    return rows;
  }

  static void ExpectBitwiseEqual(const Rows& a, const Rows& b) {
    ASSERT_EQ(a.size(), b.size());
    for (size_t r = 0; r < a.size(); ++r) {
      ASSERT_EQ(a[r].size(), b[r].size());
      ASSERT_EQ(std::memcmp(a[r].data(), b[r].data(), a[r].size() * sizeof(float)), 0)
          << "row " << r;
    }
  }

  Model model_;
  std::unique_ptr<ModelRunner> runner_;
  std::vector<int32_t> tokens_;
};

TEST_P(PagedForwardTest, F32PagedMatchesContiguousBitwise) {
  KvCache cache = MakeCache(KvElementType::kF32);
  std::unique_ptr<PagedKvSequence> paged = cache.NewSequence();
  ContiguousKvSequence contiguous(runner_->kv_shape());
  // A prefill of 21 tokens (all rows) then 24 decode steps.
  Rows expected = Run(contiguous, 0, 21, LogitsMode::kAllPositions);
  Rows actual = Run(*paged, 0, 21, LogitsMode::kAllPositions);
  Rows expected_decode = Decode(contiguous, 21, 45);
  Rows actual_decode = Decode(*paged, 21, 45);
  expected.insert(expected.end(), expected_decode.begin(), expected_decode.end());
  actual.insert(actual.end(), actual_decode.begin(), actual_decode.end());
  ExpectBitwiseEqual(actual, expected);
  EXPECT_EQ(paged->num_blocks(), 6);  // 45 positions in blocks of 8.
}

TEST_P(PagedForwardTest, TokenByTokenEqualsPrefillForEveryType) {
  for (const KvElementType type : kAllTypes) {
    SCOPED_TRACE(KvElementTypeName(type));
    KvCache cache = MakeCache(type);
    std::unique_ptr<PagedKvSequence> prefill = cache.NewSequence();
    const Rows all = Run(*prefill, 0, 45, LogitsMode::kAllPositions);
    std::unique_ptr<PagedKvSequence> stepwise = cache.NewSequence();
    ExpectBitwiseEqual(Decode(*stepwise, 0, 45), all);
    // Chunks of 7 (crossing block boundaries at odd places).
    std::unique_ptr<PagedKvSequence> chunked = cache.NewSequence();
    Rows rows;
    for (int64_t begin = 0; begin < 45; begin += 7) {
      const Rows chunk =
          Run(*chunked, begin, std::min<int64_t>(begin + 7, 45), LogitsMode::kAllPositions);
      rows.insert(rows.end(), chunk.begin(), chunk.end());
    }
    ExpectBitwiseEqual(rows, all);
  }
}

TEST_P(PagedForwardTest, PrefixCacheHitChangesNoBit) {
  for (const KvElementType type : kAllTypes) {
    SCOPED_TRACE(KvElementTypeName(type));
    KvCache cache = MakeCache(type);
    Rows reference;
    {
      std::unique_ptr<PagedKvSequence> first = cache.NewSequence();
      reference = Run(*first, 0, 37, LogitsMode::kAllPositions);
      const Rows decode = Decode(*first, 37, 45);
      reference.insert(reference.end(), decode.begin(), decode.end());
      cache.PublishFullBlocks(*first, absl::MakeConstSpan(tokens_).subspan(0, 45), 3);
    }
    std::unique_ptr<PagedKvSequence> second = cache.NewSequence();
    const int64_t cached =
        cache.AttachCachedPrefix(*second, absl::MakeConstSpan(tokens_).subspan(0, 37), 3);
    ASSERT_EQ(cached, 32);
    Rows rows = Run(*second, cached, 37, LogitsMode::kAllPositions);
    const Rows decode = Decode(*second, 37, 45);
    rows.insert(rows.end(), decode.begin(), decode.end());
    ExpectBitwiseEqual(rows, Rows(reference.begin() + cached, reference.end()));
  }
}

TEST_P(PagedForwardTest, ForkedSequencesContinueAsIfComputedAlone) {
  KvCache cache = MakeCache(KvElementType::kInt8);
  std::unique_ptr<PagedKvSequence> source = cache.NewSequence();
  const Rows source_rows = Run(*source, 0, 30, LogitsMode::kAllPositions);
  // Fork at 27 (inside a shared block) and continue with other tokens.
  std::unique_ptr<PagedKvSequence> fork = cache.ShareFrom(*source, 27);
  const std::vector<int32_t> original = tokens_;
  for (int64_t p = 27; p < 45; ++p) tokens_[p] = (tokens_[p] + 1) % model_.config.vocab_size;
  const Rows fork_rows = Decode(*fork, 27, 45);
  EXPECT_GE(cache.stats().copy_on_write, 1);
  std::unique_ptr<PagedKvSequence> alone = cache.NewSequence();
  const Rows alone_rows = Run(*alone, 0, 45, LogitsMode::kAllPositions);
  ExpectBitwiseEqual(fork_rows, Rows(alone_rows.begin() + 27, alone_rows.end()));
  // The source still holds its own tokens' KV: continuing it matches an uninterrupted run.
  tokens_ = original;
  const Rows continued = Decode(*source, 30, 45);
  std::unique_ptr<PagedKvSequence> uninterrupted = cache.NewSequence();
  const Rows full = Run(*uninterrupted, 0, 45, LogitsMode::kAllPositions);
  ExpectBitwiseEqual(continued, Rows(full.begin() + 30, full.end()));
  ExpectBitwiseEqual(source_rows, Rows(full.begin(), full.begin() + 30));
}

TEST_P(PagedForwardTest, OutOfBlocksFailsForwardWithoutChangingTheSequence) {
  KvCache cache = MakeCache(KvElementType::kF16, 8, 3);
  std::unique_ptr<PagedKvSequence> seq = cache.NewSequence();
  const Rows first = Run(*seq, 0, 20, LogitsMode::kLastPosition);
  const ForwardSequence input{.tokens = absl::MakeConstSpan(tokens_).subspan(20, 10),
                              .start_position = 20,
                              .kv = seq.get(),
                              .logits = LogitsMode::kLastPosition};
  const absl::StatusOr<ForwardLogits> logits = runner_->Forward({&input, 1});
  EXPECT_EQ(logits.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(seq->num_positions(), 20);
  EXPECT_EQ(seq->num_blocks(), 3);
  // It still works within its blocks, and matches a fresh run.
  const Rows next = Run(*seq, 20, 24, LogitsMode::kAllPositions);
  std::unique_ptr<PagedKvSequence> fresh;
  seq.reset();
  fresh = cache.NewSequence();
  const Rows all = Run(*fresh, 0, 24, LogitsMode::kAllPositions);
  ExpectBitwiseEqual(next, Rows(all.begin() + 20, all.end()));
}

INSTANTIATE_TEST_SUITE_P(TinyModels, PagedForwardTest,
                         ::testing::Values("tiny-qwen3", "tiny-llama"));

TEST(PagedKvSequenceTest, ReadsBackWhatWasWrittenInEveryType) {
  const KvShape shape{.num_layers = 3, .num_kv_heads = 2, .head_dim = 6};
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  for (const KvElementType type : kAllTypes) {
    SCOPED_TRACE(KvElementTypeName(type));
    KvCacheConfig config{.shape = shape, .element_type = type, .block_size = 5, .memory_bytes = 0};
    config.memory_bytes = 8 * config.BytesPerBlock();
    absl::StatusOr<KvCache> cache = KvCache::Create(config);
    ASSERT_TRUE(cache.ok());
    std::unique_ptr<PagedKvSequence> seq = cache->NewSequence();
    const int64_t n = 23;
    ASSERT_TRUE(seq->Resize(n).ok());
    std::vector<float> keys(shape.num_layers * n * shape.row_size());
    std::vector<float> values(keys.size());
    for (float& x : keys) x = normal(rng);
    for (float& x : values) x = normal(rng);
    for (int64_t layer = 0; layer < shape.num_layers; ++layer) {
      const int64_t base = layer * n * shape.row_size();
      seq->Write(layer, 0, n, &keys[base], &values[base]);
    }
    for (int64_t layer = 0; layer < shape.num_layers; ++layer) {
      for (int64_t h = 0; h < shape.num_kv_heads; ++h) {
        for (int64_t p = 0; p < n;) {
          const KvRun run = seq->Run(layer, h, p);
          EXPECT_EQ(run.num_positions, std::min<int64_t>(5 - p % 5, n - p));
          EXPECT_EQ(run.type, type);
          for (int64_t t = 0; t < run.num_positions; ++t, ++p) {
            const int64_t at = (layer * n + p) * shape.row_size() + h * shape.head_dim;
            const int64_t bytes = KvElementBytes(type);
            std::vector<float> expected_key(shape.head_dim), key(shape.head_dim);
            std::vector<std::byte> codes(shape.head_dim * bytes);
            float scale = 0.0f;
            EncodeKvRow(type, &keys[at], shape.head_dim, codes.data(), &scale);
            DecodeKvRow(type, codes.data(), scale, shape.head_dim, expected_key.data());
            const float stored_scale =
                type == KvElementType::kInt8 ? run.key_scales[t * run.scale_stride] : 0.0f;
            DecodeKvRow(type, static_cast<const std::byte*>(run.keys) + t * run.stride * bytes,
                        stored_scale, shape.head_dim, key.data());
            EXPECT_EQ(key, expected_key) << "layer " << layer << " head " << h << " pos " << p;
          }
        }
      }
    }
  }
}

// KV bytes per token follow 2 · layers · kv_heads · head_dim · bytes (+ 2 · layers · kv_heads ·
// 4 for int8 scales), and sequences waste less than one block each.
TEST(PagedKvSequenceTest, MemoryAccountingFollowsTheFormula) {
  const KvShape shape{.num_layers = 8, .num_kv_heads = 2, .head_dim = 64};  // MiniMind2-Small
  const int64_t element_bytes[] = {4, 2, 2, 1};
  std::mt19937 rng(9);
  for (int i = 0; i < 4; ++i) {
    const KvElementType type = kAllTypes[i];
    SCOPED_TRACE(KvElementTypeName(type));
    const int64_t formula =
        2 * shape.num_layers * shape.num_kv_heads * shape.head_dim * element_bytes[i] +
        (type == KvElementType::kInt8 ? 2 * shape.num_layers * shape.num_kv_heads * 4 : 0);
    KvCacheConfig config{
        .shape = shape, .element_type = type, .block_size = 16, .memory_bytes = 32 << 20};
    ASSERT_EQ(config.BytesPerToken(), formula);
    absl::StatusOr<KvCache> cache = KvCache::Create(config);
    ASSERT_TRUE(cache.ok());
    EXPECT_EQ(cache->stats().blocks_total, (32 << 20) / (16 * formula));
    const BlockPool& pool = cache->allocator().pool();
    EXPECT_EQ(pool.code_bytes_per_block() + pool.scales_per_block() * 4, 16 * formula);

    std::vector<std::unique_ptr<PagedKvSequence>> sequences;
    int64_t positions = 0;
    std::uniform_int_distribution<int64_t> length(1, 200);
    for (int s = 0; s < 10; ++s) {
      sequences.push_back(cache->NewSequence());
      const int64_t n = length(rng);
      ASSERT_TRUE(sequences.back()->Resize(n).ok());
      positions += n;
    }
    const int64_t used_bytes = cache->stats().blocks_used * config.BytesPerBlock();
    const int64_t needed_bytes = positions * formula;
    EXPECT_GE(used_bytes, needed_bytes);
    EXPECT_LT(used_bytes - needed_bytes, 10 * config.BytesPerBlock());
    for (const auto& seq : sequences) {
      EXPECT_LT(seq->num_blocks() * 16 - seq->num_positions(), 16);
    }
  }
}

}  // namespace
}  // namespace minimind
