// ModelRunner with a worker pool: logits and KV are bitwise the same for 1, 2 and 3 threads,
// for every tiny test checkpoint, over batched prefill, batched decoding and a mixed batch; and
// the same for random checkpoints wide enough that the row-wise steps (norms, RoPE, residuals,
// MoE routing, gathering and mixing) are split over the pool too, not only the matmuls.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "engine/model/checkpoint_loader.h"
#include "engine/model/contiguous_kv_sequence.h"
#include "engine/model/forward.h"
#include "engine/model/kv_sequence.h"
#include "engine/model/random_checkpoint.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/test_paths.h"
#include "tests/support/tiny_models.h"

namespace minimind {
namespace {

using ::testing::HasSubstr;

using ::minimind::testing::kAllTinyModels;
using ::minimind::testing::LoadTinyModel;

// The golden prompts of `name` (5, 40 and 150 tokens).
std::vector<std::vector<int32_t>> GoldenPrompts(const std::string& name) {
  const nlohmann::json golden = nlohmann::json::parse(
      testing::ReadFileOrEmpty(testing::TestDataDir() / "models" / name / "golden.json"));
  std::vector<std::vector<int32_t>> prompts;
  for (const nlohmann::json& prompt : golden["prompts"]) {
    prompts.push_back(prompt["ids"].get<std::vector<int32_t>>());
  }
  return prompts;
}

// Everything a run produced, in a fixed order: every logits row of every Forward call, then the
// keys and values of every sequence, layer, kv head and position.
struct RunOutput {
  std::vector<float> logits;
  std::vector<float> kv;
};

void AppendLogits(const ForwardLogits& logits, int64_t batch_size, std::vector<float>& out) {
  for (int64_t s = 0; s < batch_size; ++s) {
    for (int64_t r = 0; r < logits.num_rows(s); ++r) {
      const absl::Span<const float> row = logits.Row(s, r);
      out.insert(out.end(), row.begin(), row.end());
    }
  }
}

void AppendKv(const ContiguousKvSequence& kv, std::vector<float>& out) {
  const KvShape shape = kv.shape();
  for (int64_t layer = 0; layer < shape.num_layers; ++layer) {
    for (int64_t head = 0; head < shape.num_kv_heads; ++head) {
      const KvRun run = kv.Run(layer, head, 0);
      EXPECT_EQ(run.num_positions, kv.num_positions());
      EXPECT_EQ(run.type, KvElementType::kF32);
      for (int64_t p = 0; p < run.num_positions; ++p) {
        const float* keys = static_cast<const float*>(run.keys) + p * run.stride;
        const float* values = static_cast<const float*>(run.values) + p * run.stride;
        out.insert(out.end(), keys, keys + shape.head_dim);
        out.insert(out.end(), values, values + shape.head_dim);
      }
    }
  }
}

// Four sequences: a batched prefill (the three golden prompts and a 23-token one, with every
// logits mode), four batched decode steps, then a mixed batch (two prefill chunks, two decodes).
RunOutput RunScenario(const Model& model, const std::vector<std::vector<int32_t>>& prompts,
                      int num_threads) {
  RunOutput output;
  absl::StatusOr<ModelRunner> runner =
      ModelRunner::Create(model, ModelRunnerOptions{.num_threads = num_threads});
  EXPECT_TRUE(runner.ok()) << runner.status();
  if (!runner.ok()) return output;
  EXPECT_EQ(runner->num_threads(), num_threads);
  const int64_t vocab = runner->config().vocab_size;
  std::vector<ContiguousKvSequence> kv;
  for (int s = 0; s < 4; ++s) kv.emplace_back(runner->kv_shape());
  const std::vector<int32_t> fourth(prompts[2].begin(), prompts[2].begin() + 23);
  const std::vector<int32_t>* inputs[] = {&prompts[0], &prompts[1], &prompts[2], &fourth};
  const LogitsMode modes[] = {LogitsMode::kAllPositions, LogitsMode::kLastPosition,
                              LogitsMode::kLastPosition, LogitsMode::kNone};

  std::vector<ForwardSequence> batch;
  for (int s = 0; s < 4; ++s) {
    batch.push_back({.tokens = *inputs[s], .start_position = 0, .kv = &kv[s], .logits = modes[s]});
  }
  absl::StatusOr<ForwardLogits> logits = runner->Forward(batch);
  EXPECT_TRUE(logits.ok()) << logits.status();
  if (!logits.ok()) return output;
  AppendLogits(*logits, 4, output.logits);

  std::vector<std::vector<int32_t>> next(4);
  for (int step = 0; step < 4; ++step) {
    batch.clear();
    for (int s = 0; s < 4; ++s) {
      next[s] = {static_cast<int32_t>((step * 37 + s * 11 + 5) % vocab)};
      batch.push_back({.tokens = next[s], .start_position = kv[s].num_positions(), .kv = &kv[s]});
    }
    logits = runner->Forward(batch);
    EXPECT_TRUE(logits.ok()) << logits.status();
    if (!logits.ok()) return output;
    AppendLogits(*logits, 4, output.logits);
  }

  // Sequences 0 and 3 get prompt chunks (0 rewinds to position 2), 1 and 2 decode.
  const std::vector<int32_t> chunk(prompts[2].begin() + 30, prompts[2].begin() + 47);
  batch = {
      {.tokens = chunk, .start_position = 2, .kv = &kv[0], .logits = LogitsMode::kAllPositions},
      {.tokens = next[1], .start_position = kv[1].num_positions(), .kv = &kv[1]},
      {.tokens = next[2], .start_position = kv[2].num_positions(), .kv = &kv[2]},
      {.tokens = chunk,
       .start_position = kv[3].num_positions(),
       .kv = &kv[3],
       .logits = LogitsMode::kLastPosition}};
  logits = runner->Forward(batch);
  EXPECT_TRUE(logits.ok()) << logits.status();
  if (!logits.ok()) return output;
  AppendLogits(*logits, 4, output.logits);

  for (const ContiguousKvSequence& sequence : kv) AppendKv(sequence, output.kv);
  return output;
}

bool BitwiseEqual(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

class ForwardThreadsTest : public ::testing::TestWithParam<const char*> {};

TEST_P(ForwardThreadsTest, LogitsAndKvAreBitwiseTheSameForAnyThreadCount) {
  absl::StatusOr<Model> model = LoadTinyModel(GetParam());
  ASSERT_TRUE(model.ok()) << model.status();
  const std::vector<std::vector<int32_t>> prompts = GoldenPrompts(GetParam());
  ASSERT_EQ(prompts.size(), 3u);
  const RunOutput one = RunScenario(*model, prompts, 1);
  // Logits rows: prefill 5 + 1 + 1 + 0, decoding 4 × 4, mixed batch 17 + 1 + 1 + 1.
  ASSERT_EQ(one.logits.size() % model->config.vocab_size, 0u);
  ASSERT_EQ(one.logits.size() / model->config.vocab_size, 7u + 16u + 20u);
  ASSERT_FALSE(one.kv.empty());
  for (const int threads : {2, 3}) {
    const RunOutput many = RunScenario(*model, prompts, threads);
    EXPECT_TRUE(BitwiseEqual(many.logits, one.logits)) << threads << " threads: logits differ";
    EXPECT_TRUE(BitwiseEqual(many.kv, one.kv)) << threads << " threads: KV differs";
  }
}

INSTANTIATE_TEST_SUITE_P(AllTinyModels, ForwardThreadsTest, ::testing::ValuesIn(kAllTinyModels),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

// Random checkpoints of each architecture family (hidden 256, 2 layers, f32), with prompts of 5,
// 40 and 300 tokens: the batched prefill holds 368 rows, enough for every row-wise step to
// run in several tasks (the MoE shapes route 16 experts × top 4, so routing splits as well).
struct RandomShape {
  const char* name;
  Architecture architecture;
  int64_t num_experts;
  int64_t experts_per_token;
  int64_t num_shared_experts;
};

constexpr RandomShape kRandomShapes[] = {
    {"llama", Architecture::kLlama, 0, 2, 0},
    {"qwen3", Architecture::kQwen3, 0, 2, 0},
    {"qwen3_moe", Architecture::kQwen3Moe, 16, 4, 0},
    {"minimind_moe", Architecture::kMiniMind, 16, 4, 1},
};

absl::StatusOr<Model> LoadRandomModel(const RandomShape& shape) {
  RandomCheckpointOptions options;
  options.architecture = shape.architecture;
  options.vocab_size = 512;
  options.num_layers = 2;
  options.num_experts = shape.num_experts;
  options.experts_per_token = shape.experts_per_token;
  options.num_shared_experts = shape.num_shared_experts;
  options.seed = 7;
  const std::filesystem::path directory =
      std::filesystem::path(::testing::TempDir()) / (std::string("forward_threads_") + shape.name);
  if (absl::Status written = WriteRandomCheckpoint(options, directory.string()); !written.ok()) {
    return written;
  }
  return LoadModel(directory.string());
}

class ForwardThreadsWideTest : public ::testing::TestWithParam<RandomShape> {};

TEST_P(ForwardThreadsWideTest, RowWiseStepsSplitOverThreadsGiveTheSameBits) {
  absl::StatusOr<Model> model = LoadRandomModel(GetParam());
  ASSERT_TRUE(model.ok()) << model.status();
  std::vector<std::vector<int32_t>> prompts;
  for (const int64_t length : {5, 40, 300}) {
    std::vector<int32_t> prompt(length);
    for (int64_t i = 0; i < length; ++i) {
      prompt[i] = static_cast<int32_t>((i * 2654435761u + length) % 512);
    }
    prompts.push_back(prompt);
  }
  const RunOutput one = RunScenario(*model, prompts, 1);
  ASSERT_EQ(one.logits.size() / model->config.vocab_size, 7u + 16u + 20u);
  ASSERT_FALSE(one.kv.empty());
  for (const int threads : {2, 3}) {
    const RunOutput many = RunScenario(*model, prompts, threads);
    EXPECT_TRUE(BitwiseEqual(many.logits, one.logits)) << threads << " threads: logits differ";
    EXPECT_TRUE(BitwiseEqual(many.kv, one.kv)) << threads << " threads: KV differs";
  }
}

INSTANTIATE_TEST_SUITE_P(RandomShapes, ForwardThreadsWideTest, ::testing::ValuesIn(kRandomShapes),
                         [](const ::testing::TestParamInfo<RandomShape>& info) {
                           return std::string(info.param.name);
                         });

TEST(ModelRunnerOptionsTest, ThreadCountOutOfRangeIsInvalidArgument) {
  absl::StatusOr<Model> model = LoadTinyModel("tiny-llama");
  ASSERT_TRUE(model.ok()) << model.status();
  for (const int bad : {0, -2, 100000}) {
    absl::StatusOr<ModelRunner> runner =
        ModelRunner::Create(*model, ModelRunnerOptions{.num_threads = bad});
    ASSERT_FALSE(runner.ok()) << bad;
    EXPECT_EQ(runner.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(runner.status().message(), HasSubstr("num_threads"));
  }
  absl::StatusOr<ModelRunner> default_runner = ModelRunner::Create(*model);
  ASSERT_TRUE(default_runner.ok()) << default_runner.status();
  EXPECT_EQ(default_runner->num_threads(), 1);
}

}  // namespace
}  // namespace minimind
