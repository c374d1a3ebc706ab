// Structured output through the engine: every constrained generation of the tiny random model
// ends as a complete match (or at max_tokens as a prefix), with every sampling mode, and the same
// seed gives the same output alone and batched.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/scheduler/engine.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/engine/constrain/pcre2_reference.h"
#include "tests/engine/scheduler/engine_test_support.h"

namespace minimind {
namespace {

using ::minimind::testing::MakeEngine;
using ::minimind::testing::RecordingSink;
using ::minimind::testing::TinyEngineOptions;
using ::testing::HasSubstr;

GenerationRequest Constrained(const std::string& id, std::shared_ptr<ConstraintAutomaton> c,
                              uint64_t seed, int32_t max_tokens = 200) {
  GenerationRequest request;
  request.request_id = id;
  request.prompt_tokens = {3, 4, 5, 6, 7};
  request.params.temperature = 1.0f;
  request.params.seed = seed;
  request.params.max_tokens = max_tokens;
  request.constraint = std::move(c);
  return request;
}

bool FullMatch(const std::string& pattern, const std::string& text) {
  return ::minimind::testing::Pcre2FullMatcher(pattern).FullMatch(text);
}

TEST(EngineConstraintTest, RegexOutputsMatchUnderEverySamplingMode) {
  std::unique_ptr<Engine> engine = MakeEngine(TinyEngineOptions(64));
  const std::string pattern = "[0-9]{3}-[a-z]{2,4}(!|\\?)";
  absl::StatusOr<std::shared_ptr<ConstraintAutomaton>> constraint =
      engine->CompileConstraint({ConstraintKind::kRegex, pattern, {}});
  ASSERT_TRUE(constraint.ok()) << constraint.status();
  for (int mode = 0; mode < 4; ++mode) {
    for (uint64_t seed = 1; seed <= 5; ++seed) {
      GenerationRequest request =
          Constrained(absl::StrCat("r", mode, "-", seed), *constraint, seed);
      if (mode == 0) request.params.temperature = 0.0f;  // greedy
      if (mode == 1) request.params.top_k = 3;
      if (mode == 2) request.params.top_p = 0.5f;
      if (mode == 3) request.params.repetition_penalty = 1.5f;
      auto sink = std::make_shared<RecordingSink>();
      ASSERT_TRUE(engine->Submit(request, sink).ok());
      const absl::StatusOr<GenerationResult>& result = sink->Wait();
      ASSERT_TRUE(result.ok()) << result.status();
      EXPECT_EQ(result->finish_reason, FinishReason::kStop);
      EXPECT_TRUE(FullMatch(pattern, sink->text())) << "mode " << mode << ": " << sink->text();
    }
  }
}

TEST(EngineConstraintTest, JsonSchemaOutputsParseAndConform) {
  std::unique_ptr<Engine> engine = MakeEngine(TinyEngineOptions(64));
  absl::StatusOr<std::shared_ptr<ConstraintAutomaton>> constraint =
      engine->CompileConstraint({ConstraintKind::kJsonSchema,
                                 R"({"type":"object","properties":{"ok":{"type":"boolean"},
           "n":{"enum":[1,2,3]},"s":{"type":"string","maxLength":4}},"required":["ok","n","s"]})",
                                 {}});
  ASSERT_TRUE(constraint.ok()) << constraint.status();
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    auto sink = std::make_shared<RecordingSink>();
    ASSERT_TRUE(engine->Submit(Constrained(absl::StrCat("j", seed), *constraint, seed), sink).ok());
    const absl::StatusOr<GenerationResult>& result = sink->Wait();
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->finish_reason, FinishReason::kStop) << sink->text();
    const nlohmann::json doc = nlohmann::json::parse(sink->text(), nullptr, false);
    ASSERT_FALSE(doc.is_discarded()) << sink->text();
    EXPECT_TRUE(doc["ok"].is_boolean());
    EXPECT_TRUE(doc["n"] == 1 || doc["n"] == 2 || doc["n"] == 3);
    EXPECT_TRUE(doc["s"].is_string());
  }
}

TEST(EngineConstraintTest, SameSeedSameOutputAloneAndBatched) {
  std::unique_ptr<Engine> engine = MakeEngine(TinyEngineOptions(128));
  std::shared_ptr<ConstraintAutomaton> constraint =
      *engine->CompileConstraint({ConstraintKind::kJsonObject, "", {}});
  auto alone = std::make_shared<RecordingSink>();
  ASSERT_TRUE(engine->Submit(Constrained("alone", constraint, 42, 40), alone).ok());
  ASSERT_TRUE(alone->Wait().ok());
  std::vector<std::shared_ptr<RecordingSink>> sinks;
  for (int i = 0; i < 6; ++i) {
    sinks.push_back(std::make_shared<RecordingSink>());
    GenerationRequest request =
        Constrained(absl::StrCat("b", i), constraint, i == 2 ? 42 : 100 + i, 40);
    if (i % 2 == 1) request.constraint = nullptr;  // unconstrained neighbours
    ASSERT_TRUE(engine->Submit(request, sinks.back()).ok());
  }
  for (const auto& sink : sinks) ASSERT_TRUE(sink->Wait().ok());
  EXPECT_EQ(sinks[2]->Wait()->output_tokens, alone->Wait()->output_tokens);
}

TEST(EngineConstraintTest, MaxTokensBeforeCompletionSaysLength) {
  std::unique_ptr<Engine> engine = MakeEngine(TinyEngineOptions(64));
  std::shared_ptr<ConstraintAutomaton> constraint =
      *engine->CompileConstraint({ConstraintKind::kRegex, "[a-z]{30}", {}});
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_TRUE(engine->Submit(Constrained("short", constraint, 1, 5), sink).ok());
  const absl::StatusOr<GenerationResult>& result = sink->Wait();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->finish_reason, FinishReason::kLength);
  EXPECT_TRUE(FullMatch("[a-z]{5}", sink->text())) << sink->text();
}

TEST(EngineConstraintTest, ChoiceAndForeignConstraints) {
  std::unique_ptr<Engine> engine = MakeEngine(TinyEngineOptions(64));
  std::shared_ptr<ConstraintAutomaton> choice =
      *engine->CompileConstraint({ConstraintKind::kChoice, "", {"alpha", "beta", "gamma delta"}});
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    auto sink = std::make_shared<RecordingSink>();
    ASSERT_TRUE(engine->Submit(Constrained(absl::StrCat("c", seed), choice, seed), sink).ok());
    ASSERT_TRUE(sink->Wait().ok());
    EXPECT_THAT(sink->text(), ::testing::AnyOf("alpha", "beta", "gamma delta"));
  }
  std::unique_ptr<Engine> other = MakeEngine(TinyEngineOptions(64));
  const absl::Status refused =
      other->Submit(Constrained("foreign", choice, 1), std::make_shared<RecordingSink>());
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(), HasSubstr("another engine"));
}

}  // namespace
}  // namespace minimind
