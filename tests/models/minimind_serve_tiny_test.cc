// The shipped default model, models/minimind-serve-tiny, run by our engine against the goldens
// that tools/train/finalize.py computed with the independent Python reference forward pass:
//   * it loads as a servable bundle (weights, tokenizer, ChatML template, end-of-sequence ids);
//   * our tokenizer gives the ids Hugging Face tokenizers gives on held-out documents;
//   * the engine's perplexity on the committed held-out windows equals the reference's within
//     1e-3 relative;
//   * greedy decoding (KV cache, token by token) reproduces the reference's greedy token ids;
//   * the three fixed chat prompts (issue 15), rendered with the model's own chat template as the
//     server renders them, get the reference's greedy replies (tokens before end-of-sequence).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "absl/types/span.h"
#include "engine/model/contiguous_kv_sequence.h"
#include "engine/model/forward.h"
#include "engine/model/model_bundle.h"
#include "engine/tokenizer/chat_template.h"
#include "engine/tokenizer/known_chat_templates.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/test_paths.h"

namespace minimind {
namespace {

// <repo>/models/minimind-serve-tiny (tests/data is <repo>/tests/data).
std::filesystem::path ModelDir() {
  return testing::TestDataDir().parent_path().parent_path() / "models" / "minimind-serve-tiny";
}

nlohmann::json ReadEvalJson(const std::string& name) {
  const std::string text = testing::ReadFileOrEmpty(ModelDir() / "eval" / name);
  EXPECT_FALSE(text.empty()) << "missing " << (ModelDir() / "eval" / name).string();
  return nlohmann::json::parse(text);
}

// log softmax(logits)[target] in double precision.
double LogProb(absl::Span<const float> logits, int32_t target) {
  const double max_logit = *std::max_element(logits.begin(), logits.end());
  double sum = 0.0;
  for (float logit : logits) sum += std::exp(static_cast<double>(logit) - max_logit);
  return static_cast<double>(logits[target]) - max_logit - std::log(sum);
}

int32_t Argmax(absl::Span<const float> logits) {
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

// The prompt object named `name` in eval/greedy.json, or null.
nlohmann::json FindPrompt(const nlohmann::json& golden, const std::string& name) {
  for (const nlohmann::json& prompt : golden["prompts"]) {
    if (prompt["name"] == name) return prompt;
  }
  return nullptr;
}

class MiniMindServeTinyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<ModelBundle> bundle = LoadModelBundle({.model_path = ModelDir().string()});
    ASSERT_TRUE(bundle.ok()) << bundle.status();
    bundle_ = std::make_unique<ModelBundle>(*std::move(bundle));
    absl::StatusOr<ModelRunner> runner = ModelRunner::Create(bundle_->model);
    ASSERT_TRUE(runner.ok()) << runner.status();
    runner_ = std::make_unique<ModelRunner>(*std::move(runner));
  }

  // Greedy decoding with the KV cache, one token per step after the prompt: up to `max_tokens`
  // argmax ids, ending early (the end-of-sequence id excluded) when `stop_at_eos`.
  void GreedyDecode(const std::vector<TokenId>& prompt_ids, size_t max_tokens, bool stop_at_eos,
                    std::vector<int32_t>* generated) {
    ContiguousKvSequence kv(runner_->kv_shape());
    std::vector<int32_t> step(prompt_ids.begin(), prompt_ids.end());
    int64_t position = 0;
    while (generated->size() < max_tokens) {
      const ForwardSequence input{.tokens = step,
                                  .start_position = position,
                                  .kv = &kv,
                                  .logits = LogitsMode::kLastPosition};
      absl::StatusOr<ForwardLogits> logits = runner_->Forward({&input, 1});
      ASSERT_TRUE(logits.ok()) << logits.status();
      const int32_t next = Argmax(logits->Row(0, 0));
      if (stop_at_eos && std::find(bundle_->eos_token_ids.begin(), bundle_->eos_token_ids.end(),
                                   next) != bundle_->eos_token_ids.end()) {
        return;
      }
      position += static_cast<int64_t>(step.size());
      generated->push_back(next);
      step = {next};
    }
  }

  std::unique_ptr<ModelBundle> bundle_;
  std::unique_ptr<ModelRunner> runner_;
};

TEST_F(MiniMindServeTinyTest, IsAServableQwen3BundleWithChatMl) {
  EXPECT_EQ(bundle_->model.config.architecture, Architecture::kQwen3);
  EXPECT_EQ(bundle_->tokenizer.vocab_size(), 6400);
  ASSERT_TRUE(bundle_->chat_template.has_value());
  // Special tokens are ids 0, 1, 2; <|im_end|> (the configured eos) ends generations.
  EXPECT_THAT(*bundle_->tokenizer.Encode("<|endoftext|><|im_start|><|im_end|>"),
              ::testing::ElementsAre(0, 1, 2));
  EXPECT_THAT(bundle_->eos_token_ids, ::testing::Contains(2));
  EXPECT_THAT(bundle_->eos_token_ids, ::testing::Contains(0));
}

TEST_F(MiniMindServeTinyTest, TokenizerMatchesHuggingFaceOnHeldOutDocuments) {
  const std::string lines =
      testing::ReadFileOrEmpty(ModelDir() / "eval" / "tokenizer_golden.jsonl");
  ASSERT_FALSE(lines.empty());
  int checked = 0;
  size_t begin = 0;
  while (begin < lines.size()) {
    size_t end = lines.find('\n', begin);
    if (end == std::string::npos) end = lines.size();
    if (end > begin) {
      const nlohmann::json row = nlohmann::json::parse(lines.substr(begin, end - begin));
      absl::StatusOr<std::vector<TokenId>> ids =
          bundle_->tokenizer.Encode(row["text"].get<std::string>());
      ASSERT_TRUE(ids.ok()) << ids.status();
      EXPECT_EQ(*ids, row["ids"].get<std::vector<TokenId>>()) << row["text"];
      ++checked;
    }
    begin = end + 1;
  }
  EXPECT_GE(checked, 100);
}

TEST_F(MiniMindServeTinyTest, HeldOutPerplexityMatchesPythonReference) {
  const nlohmann::json golden = ReadEvalJson("heldout_sample.json");
  double total = 0.0;
  int64_t count = 0;
  for (const nlohmann::json& window : golden["windows"]) {
    const std::vector<int32_t> tokens = window.get<std::vector<int32_t>>();
    ContiguousKvSequence kv(runner_->kv_shape());
    const ForwardSequence input{
        .tokens = tokens, .start_position = 0, .kv = &kv, .logits = LogitsMode::kAllPositions};
    absl::StatusOr<ForwardLogits> logits = runner_->Forward({&input, 1});
    ASSERT_TRUE(logits.ok()) << logits.status();
    for (size_t i = 0; i + 1 < tokens.size(); ++i) {
      total += LogProb(logits->Row(0, static_cast<int64_t>(i)), tokens[i + 1]);
      ++count;
    }
  }
  ASSERT_EQ(count, golden["predicted_tokens"].get<int64_t>());
  const double perplexity = std::exp(-total / static_cast<double>(count));
  const double expected = golden["perplexity_f64"].get<double>();
  EXPECT_NEAR(perplexity / expected, 1.0, 1e-3)
      << "engine " << perplexity << ", reference " << expected;
}

TEST_F(MiniMindServeTinyTest, GreedyDecodingReproducesPythonReference) {
  const nlohmann::json golden = ReadEvalJson("greedy.json");
  ASSERT_FALSE(golden["prompts"].empty());
  for (const nlohmann::json& prompt : golden["prompts"]) {
    SCOPED_TRACE(prompt["name"].get<std::string>());
    // Our tokenizer reads the prompt text (special tokens parsed) as the reference did.
    absl::StatusOr<std::vector<TokenId>> prompt_ids =
        bundle_->tokenizer.Encode(prompt["prompt_text"].get<std::string>());
    ASSERT_TRUE(prompt_ids.ok()) << prompt_ids.status();
    ASSERT_EQ(*prompt_ids, prompt["prompt_ids"].get<std::vector<TokenId>>());

    std::vector<int32_t> generated;
    GreedyDecode(*prompt_ids, prompt["tokens"].size(), /*stop_at_eos=*/false, &generated);
    EXPECT_EQ(generated, prompt["tokens"].get<std::vector<int32_t>>());
    absl::StatusOr<std::string> text = bundle_->tokenizer.Decode(generated);
    ASSERT_TRUE(text.ok()) << text.status();
    EXPECT_EQ(*text, prompt["text"].get<std::string>());
  }
}

TEST_F(MiniMindServeTinyTest, FixedChatPromptsGetTheReferenceGreedyReplies) {
  const nlohmann::json golden = ReadEvalJson("greedy.json");
  const std::vector<std::pair<std::string, std::string>> kFixedPrompts = {
      {"chat_sea_en", "Tell me something about the sea."},
      {"chat_fortune_en", "Tell me a fortune."},
      {"chat_moon_zh", "说说月亮。"},
  };
  ASSERT_TRUE(bundle_->chat_template.has_value());
  for (const auto& [name, question] : kFixedPrompts) {
    SCOPED_TRACE(name);
    const nlohmann::json prompt = FindPrompt(golden, name);
    ASSERT_FALSE(prompt.is_null()) << "eval/greedy.json has no prompt " << name;
    const std::vector<ChatMessage> messages = {{.role = "user", .content = question}};
    absl::StatusOr<std::string> rendered = bundle_->chat_template->Render(messages, {});
    ASSERT_TRUE(rendered.ok()) << rendered.status();
    ASSERT_EQ(*rendered, prompt["prompt_text"].get<std::string>());
    absl::StatusOr<std::vector<TokenId>> prompt_ids = bundle_->tokenizer.Encode(*rendered);
    ASSERT_TRUE(prompt_ids.ok()) << prompt_ids.status();

    std::vector<int32_t> reply;
    GreedyDecode(*prompt_ids, prompt["tokens"].size(), /*stop_at_eos=*/true, &reply);
    absl::StatusOr<std::string> text = bundle_->tokenizer.Decode(reply);
    ASSERT_TRUE(text.ok()) << text.status();
    EXPECT_FALSE(text->empty());
    EXPECT_EQ(*text, prompt["reply"].get<std::string>());
  }
}

}  // namespace
}  // namespace minimind
