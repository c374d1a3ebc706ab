#include "engine/model/forward.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "engine/kernels/softmax.h"
#include "engine/model/checkpoint_loader.h"
#include "engine/model/contiguous_kv_sequence.h"
#include "engine/model/kv_sequence.h"
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

nlohmann::json LoadGolden(const std::string& name) {
  return nlohmann::json::parse(
      testing::ReadFileOrEmpty(testing::TestDataDir() / "models" / name / "golden.json"));
}

std::vector<float> LogSoftmaxOf(absl::Span<const float> logits) {
  std::vector<float> out(logits.size());
  LogSoftmax(logits.data(), static_cast<int64_t>(logits.size()), out.data());
  return out;
}

int32_t Argmax(absl::Span<const float> logits) {
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

// A runner plus the means to run one sequence through it and copy its logits out.
class Harness {
 public:
  explicit Harness(const Model& model) : runner_(*ModelRunner::Create(model)) {}

  ModelRunner& runner() { return runner_; }
  ContiguousKvSequence NewKv() const { return ContiguousKvSequence(runner_.kv_shape()); }

  // Logits rows of one sequence, copied ([rows][vocab]).
  std::vector<std::vector<float>> Run(ContiguousKvSequence& kv, const std::vector<int32_t>& tokens,
                                      int64_t start, LogitsMode mode) {
    const ForwardSequence input{
        .tokens = tokens, .start_position = start, .kv = &kv, .logits = mode};
    absl::StatusOr<ForwardLogits> logits = runner_.Forward({&input, 1});
    EXPECT_TRUE(logits.ok()) << logits.status();
    std::vector<std::vector<float>> rows;
    for (int64_t r = 0; r < logits->num_rows(0); ++r) {
      const absl::Span<const float> row = logits->Row(0, r);
      rows.emplace_back(row.begin(), row.end());
    }
    return rows;
  }

 private:
  ModelRunner runner_;
};

bool BitwiseEqual(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

class GoldenTest : public ::testing::TestWithParam<const char*> {};

// Prompt logprobs and the last position's full logprob vector within 1e-4 of the float64
// reference, for the three golden prompts (5, 40 and 150 tokens).
TEST_P(GoldenTest, PromptLogprobsMatchReference) {
  absl::StatusOr<Model> model = LoadTinyModel(GetParam());
  ASSERT_TRUE(model.ok()) << model.status();
  const nlohmann::json golden = LoadGolden(GetParam());
  Harness harness(*model);
  double max_prompt_error = 0, max_last_error = 0;
  for (const nlohmann::json& prompt : golden["prompts"]) {
    const std::vector<int32_t> ids = prompt["ids"].get<std::vector<int32_t>>();
    ContiguousKvSequence kv = harness.NewKv();
    const std::vector<std::vector<float>> rows = harness.Run(kv, ids, 0, LogitsMode::kAllPositions);
    ASSERT_EQ(rows.size(), ids.size());
    for (size_t i = 1; i < ids.size(); ++i) {
      const double expected = prompt["prompt_logprobs"][i].get<double>();
      const double actual = LogSoftmaxOf(rows[i - 1])[ids[i]];
      max_prompt_error = std::max(max_prompt_error, std::fabs(actual - expected));
    }
    const std::vector<float> last = LogSoftmaxOf(rows.back());
    const std::vector<double> expected_last = prompt["last_logprobs"].get<std::vector<double>>();
    ASSERT_EQ(last.size(), expected_last.size());
    for (size_t v = 0; v < last.size(); ++v) {
      max_last_error = std::max(max_last_error, std::fabs(last[v] - expected_last[v]));
    }
  }
  RecordProperty("max_prompt_logprob_error", std::to_string(max_prompt_error));
  RecordProperty("max_last_logprob_error", std::to_string(max_last_error));
  std::printf("%s: max |Δ prompt logprob| %.3g, max |Δ last logprob| %.3g\n", GetParam(),
              max_prompt_error, max_last_error);
  EXPECT_LE(max_prompt_error, 1e-4);
  EXPECT_LE(max_last_error, 1e-4);
}

// Sixteen greedy tokens, decoded through the KV cache, equal the reference's (which recomputes
// in full at every step).
TEST_P(GoldenTest, GreedyDecodingMatchesReference) {
  absl::StatusOr<Model> model = LoadTinyModel(GetParam());
  ASSERT_TRUE(model.ok()) << model.status();
  const nlohmann::json golden = LoadGolden(GetParam());
  Harness harness(*model);
  const std::vector<int32_t> prompt = golden["greedy"]["prompt"].get<std::vector<int32_t>>();
  const std::vector<int32_t> expected = golden["greedy"]["tokens"].get<std::vector<int32_t>>();
  ContiguousKvSequence kv = harness.NewKv();
  std::vector<float> logits = harness.Run(kv, prompt, 0, LogitsMode::kLastPosition)[0];
  std::vector<int32_t> generated;
  for (size_t step = 0; step < expected.size(); ++step) {
    const int32_t token = Argmax(logits);
    generated.push_back(token);
    logits = harness.Run(kv, {token}, kv.num_positions(), LogitsMode::kLastPosition)[0];
  }
  EXPECT_EQ(generated, expected);
}

// Decoding one token at a time through the KV cache gives bitwise the logits of recomputing the
// whole sequence in one pass, at every position.
TEST_P(GoldenTest, TokenByTokenDecodingEqualsFullRecomputeBitwise) {
  absl::StatusOr<Model> model = LoadTinyModel(GetParam());
  ASSERT_TRUE(model.ok()) << model.status();
  const std::vector<int32_t> ids =
      LoadGolden(GetParam())["prompts"][1]["ids"].get<std::vector<int32_t>>();
  Harness harness(*model);
  ContiguousKvSequence full_kv = harness.NewKv();
  const std::vector<std::vector<float>> full =
      harness.Run(full_kv, ids, 0, LogitsMode::kAllPositions);
  ContiguousKvSequence kv = harness.NewKv();
  for (size_t i = 0; i < ids.size(); ++i) {
    const std::vector<float> step =
        harness.Run(kv, {ids[i]}, static_cast<int64_t>(i), LogitsMode::kLastPosition)[0];
    ASSERT_TRUE(BitwiseEqual(step, full[i])) << "position " << i;
  }
}

// Prefill in three uneven chunks equals one-shot prefill bitwise, and so does decoding after it.
TEST_P(GoldenTest, ChunkedPrefillEqualsOneShotBitwise) {
  absl::StatusOr<Model> model = LoadTinyModel(GetParam());
  ASSERT_TRUE(model.ok()) << model.status();
  const std::vector<int32_t> ids =
      LoadGolden(GetParam())["prompts"][1]["ids"].get<std::vector<int32_t>>();
  Harness harness(*model);
  ContiguousKvSequence one_shot_kv = harness.NewKv();
  const std::vector<std::vector<float>> one_shot =
      harness.Run(one_shot_kv, ids, 0, LogitsMode::kAllPositions);

  ContiguousKvSequence kv = harness.NewKv();
  std::vector<std::vector<float>> chunked;
  size_t begin = 0;
  for (const size_t size : {7, 21, 12}) {
    const std::vector<int32_t> chunk(ids.begin() + begin, ids.begin() + begin + size);
    for (auto& row :
         harness.Run(kv, chunk, static_cast<int64_t>(begin), LogitsMode::kAllPositions)) {
      chunked.push_back(std::move(row));
    }
    begin += size;
  }
  ASSERT_EQ(begin, ids.size());
  ASSERT_EQ(chunked.size(), one_shot.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_TRUE(BitwiseEqual(chunked[i], one_shot[i])) << "position " << i;
  }
  const int32_t next = Argmax(one_shot.back());
  EXPECT_TRUE(BitwiseEqual(
      harness.Run(kv, {next}, static_cast<int64_t>(ids.size()), LogitsMode::kLastPosition)[0],
      harness.Run(one_shot_kv, {next}, static_cast<int64_t>(ids.size()),
                  LogitsMode::kLastPosition)[0]));
}

// Three different sequences in one batch — a fresh prompt, a decode step on a cached prefix and
// a chunk in the middle of a prompt — each give bitwise what they give alone.
TEST_P(GoldenTest, BatchEqualsEachSequenceAloneBitwise) {
  absl::StatusOr<Model> model = LoadTinyModel(GetParam());
  ASSERT_TRUE(model.ok()) << model.status();
  const nlohmann::json golden = LoadGolden(GetParam());
  const std::vector<int32_t> short_prompt = golden["prompts"][0]["ids"].get<std::vector<int32_t>>();
  const std::vector<int32_t> medium = golden["prompts"][1]["ids"].get<std::vector<int32_t>>();
  const std::vector<int32_t> long_prompt = golden["prompts"][2]["ids"].get<std::vector<int32_t>>();
  Harness harness(*model);

  // Alone. Sequence B first caches 39 tokens, then decodes the 40th; C caches 60, then runs 30.
  const std::vector<int32_t> b_prefix(medium.begin(), medium.end() - 1);
  const std::vector<int32_t> b_step = {medium.back()};
  const std::vector<int32_t> c_prefix(long_prompt.begin(), long_prompt.begin() + 60);
  const std::vector<int32_t> c_chunk(long_prompt.begin() + 60, long_prompt.begin() + 90);
  ContiguousKvSequence a_alone = harness.NewKv(), b_alone = harness.NewKv(),
                       c_alone = harness.NewKv();
  const auto a_rows = harness.Run(a_alone, short_prompt, 0, LogitsMode::kAllPositions);
  harness.Run(b_alone, b_prefix, 0, LogitsMode::kNone);
  const auto b_rows = harness.Run(b_alone, b_step, 39, LogitsMode::kLastPosition);
  harness.Run(c_alone, c_prefix, 0, LogitsMode::kNone);
  const auto c_rows = harness.Run(c_alone, c_chunk, 60, LogitsMode::kAllPositions);

  // Together, in two different orders.
  for (const bool reversed : {false, true}) {
    ContiguousKvSequence a = harness.NewKv(), b = harness.NewKv(), c = harness.NewKv();
    harness.Run(b, b_prefix, 0, LogitsMode::kNone);
    harness.Run(c, c_prefix, 0, LogitsMode::kNone);
    std::vector<ForwardSequence> batch = {
        {.tokens = short_prompt,
         .start_position = 0,
         .kv = &a,
         .logits = LogitsMode::kAllPositions},
        {.tokens = b_step, .start_position = 39, .kv = &b, .logits = LogitsMode::kLastPosition},
        {.tokens = c_chunk, .start_position = 60, .kv = &c, .logits = LogitsMode::kAllPositions}};
    if (reversed) std::reverse(batch.begin(), batch.end());
    absl::StatusOr<ForwardLogits> logits = harness.runner().Forward(batch);
    ASSERT_TRUE(logits.ok()) << logits.status();
    const int64_t a_index = reversed ? 2 : 0, b_index = 1, c_index = reversed ? 0 : 2;
    ASSERT_EQ(logits->num_rows(a_index), 5);
    ASSERT_EQ(logits->num_rows(b_index), 1);
    ASSERT_EQ(logits->num_rows(c_index), 30);
    const auto row = [&](int64_t sequence, int64_t r) {
      const absl::Span<const float> span = logits->Row(sequence, r);
      return std::vector<float>(span.begin(), span.end());
    };
    for (int64_t r = 0; r < 5; ++r) EXPECT_TRUE(BitwiseEqual(row(a_index, r), a_rows[r])) << r;
    EXPECT_TRUE(BitwiseEqual(row(b_index, 0), b_rows[0]));
    for (int64_t r = 0; r < 30; ++r) EXPECT_TRUE(BitwiseEqual(row(c_index, r), c_rows[r])) << r;
    EXPECT_EQ(a.num_positions(), 5);
    EXPECT_EQ(b.num_positions(), 40);
    EXPECT_EQ(c.num_positions(), 90);
  }
}

INSTANTIATE_TEST_SUITE_P(AllTinyModels, GoldenTest, ::testing::ValuesIn(kAllTinyModels),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

// MiniMind's native .pth holds the same F16 weights as tiny-llama-f16's safetensors.
TEST(ForwardTest, PthCheckpointEqualsSafetensorsTwinBitwise) {
  const std::vector<int32_t> ids =
      LoadGolden("tiny-llama-f16")["prompts"][2]["ids"].get<std::vector<int32_t>>();
  absl::StatusOr<Model> pth_model = LoadTinyModel("tiny-llama-pth");
  absl::StatusOr<Model> safetensors_model = LoadTinyModel("tiny-llama-f16");
  ASSERT_TRUE(pth_model.ok()) << pth_model.status();
  ASSERT_TRUE(safetensors_model.ok()) << safetensors_model.status();
  Harness pth(*pth_model);
  Harness safetensors(*safetensors_model);
  ContiguousKvSequence pth_kv = pth.NewKv(), safetensors_kv = safetensors.NewKv();
  const auto pth_rows = pth.Run(pth_kv, ids, 0, LogitsMode::kAllPositions);
  const auto safetensors_rows = safetensors.Run(safetensors_kv, ids, 0, LogitsMode::kAllPositions);
  ASSERT_EQ(pth_rows.size(), ids.size());
  ASSERT_EQ(safetensors_rows.size(), ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_TRUE(BitwiseEqual(pth_rows[i], safetensors_rows[i])) << i;
  }
}

TEST(ForwardTest, RerunningFromAnEarlierPositionOverwritesTheTail) {
  absl::StatusOr<Model> model = LoadTinyModel("tiny-qwen2");
  ASSERT_TRUE(model.ok()) << model.status();
  Harness harness(*model);
  const std::vector<int32_t> ids = {5, 17, 99, 3, 250, 8};
  ContiguousKvSequence kv = harness.NewKv();
  const auto reference = harness.Run(kv, ids, 0, LogitsMode::kAllPositions);
  // Diverge at position 3, then return to the original tokens from there.
  harness.Run(kv, {7, 7, 7, 7, 7}, 3, LogitsMode::kNone);
  EXPECT_EQ(kv.num_positions(), 8);
  const auto again = harness.Run(kv, {3, 250, 8}, 3, LogitsMode::kAllPositions);
  EXPECT_EQ(kv.num_positions(), 6);
  for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(BitwiseEqual(again[i], reference[3 + i])) << i;
}

// A KvSequence that stores like ContiguousKvSequence but, as a paged pool would, hands out runs
// that end at every multiple of 16 positions, and refuses to grow past `max_positions`.
class BlockedKvSequence final : public KvSequence {
 public:
  BlockedKvSequence(KvShape shape, int64_t max_positions)
      : storage_(shape), max_positions_(max_positions) {}

  KvShape shape() const override { return storage_.shape(); }
  int64_t num_positions() const override { return storage_.num_positions(); }
  absl::Status Resize(int64_t num_positions) override {
    if (num_positions > max_positions_) {
      return absl::ResourceExhaustedError(
          absl::StrCat("no room for ", num_positions, " positions"));
    }
    return storage_.Resize(num_positions);
  }
  void Write(int64_t layer, int64_t first_position, int64_t count, const float* keys,
             const float* values) override {
    storage_.Write(layer, first_position, count, keys, values);
  }
  KvRun Run(int64_t layer, int64_t kv_head, int64_t position) const override {
    KvRun run = storage_.Run(layer, kv_head, position);
    run.num_positions = std::min(run.num_positions, 16 - position % 16);
    return run;
  }

 private:
  ContiguousKvSequence storage_;
  int64_t max_positions_;
};

TEST(ForwardTest, KvRunsSplitIntoBlocksGiveBitwiseTheSameLogits) {
  absl::StatusOr<Model> model = LoadTinyModel("tiny-qwen3-moe");
  ASSERT_TRUE(model.ok()) << model.status();
  Harness harness(*model);
  const std::vector<int32_t> ids =
      LoadGolden("tiny-qwen3-moe")["prompts"][2]["ids"].get<std::vector<int32_t>>();
  ContiguousKvSequence contiguous = harness.NewKv();
  const auto expected = harness.Run(contiguous, ids, 0, LogitsMode::kAllPositions);
  BlockedKvSequence blocked(harness.runner().kv_shape(), 1000);
  const ForwardSequence input{.tokens = ids, .kv = &blocked, .logits = LogitsMode::kAllPositions};
  absl::StatusOr<ForwardLogits> logits = harness.runner().Forward({&input, 1});
  ASSERT_TRUE(logits.ok()) << logits.status();
  ASSERT_EQ(logits->num_rows(0), static_cast<int64_t>(ids.size()));
  for (size_t i = 0; i < ids.size(); ++i) {
    const absl::Span<const float> row = logits->Row(0, static_cast<int64_t>(i));
    EXPECT_TRUE(BitwiseEqual(std::vector<float>(row.begin(), row.end()), expected[i])) << i;
  }
}

TEST(ForwardTest, KvThatCannotGrowFailsTheBatchAndChangesNoSequence) {
  absl::StatusOr<Model> model = LoadTinyModel("tiny-llama");
  ASSERT_TRUE(model.ok()) << model.status();
  Harness harness(*model);
  ContiguousKvSequence roomy = harness.NewKv();
  BlockedKvSequence cramped(harness.runner().kv_shape(), 4);
  const std::vector<int32_t> tokens = {1, 2, 3};
  ASSERT_TRUE(harness.Run(roomy, {9, 9, 9, 9, 9}, 0, LogitsMode::kNone).empty());
  const ForwardSequence first[] = {{.tokens = tokens, .start_position = 1, .kv = &roomy},
                                   {.tokens = {tokens.data(), 2}, .kv = &cramped}};
  ASSERT_TRUE(harness.runner().Forward(first).ok());
  EXPECT_EQ(roomy.num_positions(), 4);  // Truncated from 5: re-run from position 1.
  EXPECT_EQ(cramped.num_positions(), 2);
  // `roomy` grows to 7 before `cramped` fails to grow to 5; the failure must undo that growth.
  const ForwardSequence second[] = {{.tokens = tokens, .start_position = 4, .kv = &roomy},
                                    {.tokens = tokens, .start_position = 2, .kv = &cramped}};
  const absl::Status status = harness.runner().Forward(second).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(status.message(), HasSubstr("no room for 5 positions"));
  EXPECT_EQ(roomy.num_positions(), 4);
  EXPECT_EQ(cramped.num_positions(), 2);
}

class ForwardErrorTest : public ::testing::Test {
 protected:
  ForwardErrorTest() : harness_(*LoadTinyModel("tiny-llama")) {}

  absl::Status Run(std::vector<ForwardSequence> batch) {
    return harness_.runner().Forward(batch).status();
  }

  Harness harness_;
  ContiguousKvSequence kv_ = harness_.NewKv();
  ContiguousKvSequence other_kv_ = harness_.NewKv();
  const std::vector<int32_t> tokens_ = {1, 2, 3};
};

TEST_F(ForwardErrorTest, TokenIdOutsideVocabularyNamesIdAndSize) {
  const std::vector<int32_t> bad = {1, 384, 2};
  const absl::Status status = Run({{.tokens = bad, .kv = &kv_}});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("token id 384 at index 1"));
  EXPECT_THAT(status.message(), HasSubstr("vocabulary of size 384"));
  const std::vector<int32_t> negative = {-1};
  EXPECT_THAT(Run({{.tokens = negative, .kv = &kv_}}).message(), HasSubstr("token id -1"));
  EXPECT_EQ(kv_.num_positions(), 0);
}

TEST_F(ForwardErrorTest, PositionsPastTheContextNameTheLimit) {
  const std::vector<int32_t> long_input(513, 5);
  const absl::Status status = Run({{.tokens = long_input, .kv = &kv_}});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("context of 512 positions"));
  // Exactly filling the context is fine; one more token is not.
  const std::vector<int32_t> full(512, 5);
  EXPECT_TRUE(Run({{.tokens = full, .kv = &kv_, .logits = LogitsMode::kNone}}).ok());
  const std::vector<int32_t> one = {5};
  EXPECT_THAT(Run({{.tokens = one, .start_position = 512, .kv = &kv_}}).message(),
              HasSubstr("would reach position 512"));
  EXPECT_EQ(kv_.num_positions(), 512);
}

TEST_F(ForwardErrorTest, EmptyInputsAreRejected) {
  EXPECT_THAT(Run({}).message(), HasSubstr("batch is empty"));
  EXPECT_THAT(Run({{.tokens = {}, .kv = &kv_}}).message(),
              HasSubstr("sequence 0 of the batch: no tokens"));
  EXPECT_THAT(Run({{.tokens = tokens_, .kv = nullptr}}).message(), HasSubstr("no KV sequence"));
}

TEST_F(ForwardErrorTest, StartPositionMustBeCovered) {
  const absl::Status status = Run({{.tokens = tokens_, .start_position = 2, .kv = &kv_}});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("start position 2 is outside the 0 positions"));
  EXPECT_THAT(Run({{.tokens = tokens_, .start_position = -1, .kv = &kv_}}).message(),
              HasSubstr("start position -1"));
}

TEST_F(ForwardErrorTest, SharedOrMisshapenKvIsRejectedWithoutChangingAnything) {
  ASSERT_TRUE(Run({{.tokens = tokens_, .kv = &kv_}}).ok());
  const absl::Status shared = Run({{.tokens = tokens_, .kv = &other_kv_},
                                   {.tokens = tokens_, .start_position = 3, .kv = &kv_},
                                   {.tokens = tokens_, .kv = &kv_}});
  EXPECT_THAT(shared.message(),
              HasSubstr("sequence 2 of the batch: shares its KV sequence with sequence 1"));
  ContiguousKvSequence wrong(KvShape{.num_layers = 2, .num_kv_heads = 4, .head_dim = 16});
  const absl::Status misshapen = Run(
      {{.tokens = tokens_, .start_position = 3, .kv = &kv_}, {.tokens = tokens_, .kv = &wrong}});
  EXPECT_THAT(
      misshapen.message(),
      HasSubstr("sequence 1 of the batch: KV shape (layers 2, kv heads 4, head_dim 16) differs"));
  EXPECT_EQ(kv_.num_positions(), 3);
  EXPECT_EQ(other_kv_.num_positions(), 0);
}

TEST_F(ForwardErrorTest, LogitsModeNoneComputesNoRows) {
  const ForwardSequence input{.tokens = tokens_, .kv = &kv_, .logits = LogitsMode::kNone};
  absl::StatusOr<ForwardLogits> logits = harness_.runner().Forward({&input, 1});
  ASSERT_TRUE(logits.ok()) << logits.status();
  EXPECT_EQ(logits->num_rows(0), 0);
  EXPECT_EQ(logits->vocab_size(), 384);
  EXPECT_EQ(kv_.num_positions(), 3);
}

TEST(ModelRunnerCreateTest, RejectsWeightsThatDoNotMatchTheConfig) {
  absl::StatusOr<Model> loaded = LoadTinyModel("tiny-llama");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  Model model = *loaded;
  model.weights.layers[1].attention.k_proj = model.weights.layers[1].attention.q_proj;
  const absl::StatusOr<ModelRunner> runner = ModelRunner::Create(model);
  EXPECT_EQ(runner.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(runner.status().message(),
              HasSubstr("layer 1 k_proj has shape [64, 64], expected [32, 64]"));

  absl::StatusOr<Model> qwen3 = LoadTinyModel("tiny-qwen3");
  ASSERT_TRUE(qwen3.ok()) << qwen3.status();
  Model missing = *qwen3;
  missing.weights.layers[0].attention.q_norm = Tensor();
  EXPECT_THAT(ModelRunner::Create(missing).status().message(),
              HasSubstr("layer 0 q_norm is missing"));

  Model odd_head = *loaded;
  odd_head.config.num_kv_heads = 3;
  EXPECT_THAT(ModelRunner::Create(odd_head).status().message(),
              HasSubstr("num_heads 4 is not a multiple of num_kv_heads 3"));
}

}  // namespace
}  // namespace minimind
