// Determinism of the engine: one seeded request yields bitwise-identical tokens and logprobs
// (a) alone and among 1, 8 and 64 concurrent others, (b) with and without a prefix-cache hit,
// (c) with chunked and unchunked prefill — for the f32 and int8 KV element types, and with Q8A8
// weights.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/model/weight_conversion.h"
#include "engine/scheduler/engine.h"
#include "gtest/gtest.h"
#include "tests/engine/scheduler/engine_test_support.h"

namespace minimind {
namespace {

using ::minimind::testing::MakeEngine;
using ::minimind::testing::MakePrompt;
using ::minimind::testing::RecordingSink;
using ::minimind::testing::TinyEngineOptions;

struct Observed {
  std::vector<int32_t> tokens;
  std::vector<SampledToken> sampled;
  int64_t cached_prompt_tokens = 0;
};

GenerationRequest TargetRequest() {
  GenerationRequest request;
  request.request_id = "target";
  request.prompt_tokens = MakePrompt(77, 70);
  request.params.temperature = 0.8f;
  request.params.top_p = 0.95f;
  request.params.repetition_penalty = 1.1f;
  request.params.seed = 1234;
  request.params.max_tokens = 24;
  request.params.ignore_eos = true;
  request.params.logprobs = true;
  request.params.top_logprobs = 3;
  return request;
}

// Runs the target among `others` concurrent requests (submitted before and after it, with
// different prompts, lengths and seeds) and returns what the target's sink saw.
Observed RunTarget(KvElementType type, int others, int64_t max_step_tokens, bool warm_prefix,
                   int forward_threads = 1, const Model* model = nullptr) {
  EngineOptions options = TinyEngineOptions(512, type);
  options.max_step_tokens = max_step_tokens;
  options.forward_threads = forward_threads;
  std::unique_ptr<Engine> engine;
  if (model == nullptr) {
    engine = MakeEngine(options);
  } else {
    absl::StatusOr<std::unique_ptr<Engine>> created =
        Engine::Create(*model, testing::TinyBundle().tokenizer, options);
    EXPECT_TRUE(created.ok()) << created.status();
    if (!created.ok()) return {};
    engine = *std::move(created);
  }
  const GenerationRequest target = TargetRequest();
  if (warm_prefix) {
    // Shares the target's first 64 tokens (4 blocks), then diverges.
    GenerationRequest warm = target;
    warm.request_id = "warm";
    warm.prompt_tokens.resize(64);
    for (int32_t id : MakePrompt(5, 9)) warm.prompt_tokens.push_back(id);
    warm.params.max_tokens = 2;
    auto sink = std::make_shared<RecordingSink>();
    EXPECT_TRUE(engine->Submit(warm, sink).ok());
    EXPECT_TRUE(sink->Wait().ok());
  }
  std::vector<std::shared_ptr<RecordingSink>> other_sinks;
  auto submit_other = [&](int i) {
    GenerationRequest other;
    other.request_id = absl::StrCat("other", i);
    other.prompt_tokens = MakePrompt(1000 + i, 5 + (i * 37) % 90);
    other.params.temperature = 1.0f;
    other.params.seed = i;
    other.params.max_tokens = 4 + (i * 13) % 40;
    other.params.ignore_eos = true;
    other_sinks.push_back(std::make_shared<RecordingSink>());
    EXPECT_TRUE(engine->Submit(other, other_sinks.back()).ok());
  };
  for (int i = 0; i < others / 2; ++i) submit_other(i);
  auto sink = std::make_shared<RecordingSink>();
  EXPECT_TRUE(engine->Submit(target, sink).ok());
  for (int i = others / 2; i < others; ++i) submit_other(i);
  const absl::StatusOr<GenerationResult>& result = sink->Wait();
  EXPECT_TRUE(result.ok()) << result.status();
  for (const auto& other : other_sinks) EXPECT_TRUE(other->Wait().ok());
  Observed observed{.tokens = sink->tokens(), .sampled = sink->sampled()};
  if (result.ok()) {
    EXPECT_EQ(result->output_tokens, observed.tokens);
    observed.cached_prompt_tokens = result->cached_prompt_tokens;
  }
  return observed;
}

class EngineDeterminismTest : public ::testing::TestWithParam<KvElementType> {};

TEST_P(EngineDeterminismTest, SameOutputAloneAndAmongOthers) {
  const Observed alone = RunTarget(GetParam(), 0, 256, false);
  ASSERT_EQ(alone.tokens.size(), 24u);
  for (int others : {1, 8, 64}) {
    const Observed crowded = RunTarget(GetParam(), others, 256, false);
    EXPECT_EQ(crowded.tokens, alone.tokens) << others << " others";
    EXPECT_EQ(crowded.sampled, alone.sampled) << others << " others";
  }
}

TEST_P(EngineDeterminismTest, SameOutputWithAndWithoutPrefixCacheHit) {
  const Observed cold = RunTarget(GetParam(), 0, 256, false);
  const Observed warm = RunTarget(GetParam(), 0, 256, true);
  EXPECT_EQ(cold.cached_prompt_tokens, 0);
  EXPECT_EQ(warm.cached_prompt_tokens, 64);
  EXPECT_EQ(warm.tokens, cold.tokens);
  EXPECT_EQ(warm.sampled, cold.sampled);
}

TEST_P(EngineDeterminismTest, SameOutputWithChunkedAndUnchunkedPrefill) {
  const Observed unchunked = RunTarget(GetParam(), 0, 256, false);
  for (int64_t chunk : {1, 5, 16}) {
    const Observed chunked = RunTarget(GetParam(), 8, chunk, false);
    EXPECT_EQ(chunked.tokens, unchunked.tokens) << "chunk " << chunk;
    EXPECT_EQ(chunked.sampled, unchunked.sampled) << "chunk " << chunk;
  }
}

TEST_P(EngineDeterminismTest, SameOutputWithTwoForwardThreads) {
  const Observed single = RunTarget(GetParam(), 0, 256, false);
  const Observed threaded = RunTarget(GetParam(), 8, 16, false, /*forward_threads=*/2);
  EXPECT_EQ(threaded.tokens, single.tokens);
  EXPECT_EQ(threaded.sampled, single.sampled);
}

// The same promises with Q8A8 weights (int8 activations, matmul_q8a8.h): its own arithmetic for
// one row and for many, so a request is the same alone, batched, after a cache hit, chunked or
// over two forward threads.
TEST(EngineDeterminismQ8A8Test, SameOutputEveryWay) {
  Model model = testing::TinyBundle().model;
  ASSERT_TRUE(ConvertMatMulWeights(DType::kQ8A8, model).ok());
  const Observed alone = RunTarget(KvElementType::kF32, 0, 256, false, 1, &model);
  ASSERT_EQ(alone.tokens.size(), 24u);
  for (const Observed& other : {RunTarget(KvElementType::kF32, 8, 256, false, 1, &model),
                                RunTarget(KvElementType::kF32, 64, 256, false, 1, &model),
                                RunTarget(KvElementType::kF32, 0, 256, true, 1, &model),
                                RunTarget(KvElementType::kF32, 8, 16, false, 1, &model),
                                RunTarget(KvElementType::kF32, 8, 16, false, 2, &model)}) {
    EXPECT_EQ(other.tokens, alone.tokens);
    EXPECT_EQ(other.sampled, alone.sampled);
  }
  // And it is another arithmetic than the f32 weights': the tokens or logprobs differ.
  const Observed f32 = RunTarget(KvElementType::kF32, 0, 256, false);
  EXPECT_FALSE(f32.tokens == alone.tokens && f32.sampled == alone.sampled);
}

INSTANTIATE_TEST_SUITE_P(KvTypes, EngineDeterminismTest,
                         ::testing::Values(KvElementType::kF32, KvElementType::kInt8),
                         [](const auto& info) {
                           return std::string(KvElementTypeName(info.param));
                         });

}  // namespace
}  // namespace minimind
