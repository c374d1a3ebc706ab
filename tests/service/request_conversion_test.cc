#include "service/request_conversion.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "engine/tokenizer/byte_tokenizer_files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_paths.h"

namespace minimind {
namespace {

using ::testing::HasSubstr;

class RequestConversionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::ScratchPath("tokenizer");
    std::filesystem::create_directories(dir_);
    ASSERT_TRUE(WriteByteTokenizerFiles(dir_.string()).ok());
    absl::StatusOr<Tokenizer> tokenizer = Tokenizer::FromFile((dir_ / "tokenizer.json").string());
    ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
    tokenizer_.emplace(*std::move(tokenizer));
    absl::StatusOr<ChatTemplate> chat_template = ChatTemplate::FromModelDir(dir_.string());
    ASSERT_TRUE(chat_template.ok()) << chat_template.status();
    template_.emplace(*std::move(chat_template));
    builder_.emplace(*tokenizer_, &*template_, ServiceLimits());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static v1::GenerateRequest Chat(std::initializer_list<std::pair<std::string, std::string>> m) {
    v1::GenerateRequest request;
    for (const auto& [role, content] : m) {
      v1::ChatMessage* message = request.mutable_messages()->add_messages();
      message->set_role(role);
      message->set_content(content);
    }
    return request;
  }

  std::string Decode(const std::vector<int32_t>& ids) { return *tokenizer_->Decode(ids); }

  std::filesystem::path dir_;
  std::optional<Tokenizer> tokenizer_;
  std::optional<ChatTemplate> template_;
  std::optional<PromptBuilder> builder_;
};

TEST_F(RequestConversionTest, UnsetSamplingFieldsKeepServerDefaults) {
  v1::GenerateRequest request;
  request.set_top_k(5);
  absl::StatusOr<SamplingParams> params = SamplingParamsFromProto(request, ServiceLimits());
  ASSERT_TRUE(params.ok());
  EXPECT_EQ(params->top_k, 5);
  EXPECT_EQ(params->temperature, SamplingParams().temperature);
  EXPECT_FALSE(params->max_tokens.has_value());  // Its default depends on the prompt.
  EXPECT_FALSE(params->seed.has_value());
}

TEST_F(RequestConversionTest, DefaultMaxTokensIsTheCapClippedToTheRoomLeft) {
  ServiceLimits limits;
  limits.max_tokens_cap = 4096;
  EXPECT_EQ(DefaultMaxTokens(100000, limits), 4096);
  EXPECT_EQ(DefaultMaxTokens(505, limits), 505);
  EXPECT_EQ(DefaultMaxTokens(1, limits), 1);
  EXPECT_EQ(DefaultMaxTokens(0, limits), std::nullopt);
  EXPECT_EQ(DefaultMaxTokens(-3, limits), std::nullopt);
}

TEST_F(RequestConversionTest, ZeroIsAValueNotUnset) {
  v1::GenerateRequest request;
  request.set_temperature(0.0f);
  absl::StatusOr<SamplingParams> params = SamplingParamsFromProto(request, ServiceLimits());
  ASSERT_TRUE(params.ok());
  EXPECT_EQ(params->temperature, 0.0f);
}

TEST_F(RequestConversionTest, RendersMessagesWithTheChatTemplate) {
  absl::StatusOr<std::vector<int32_t>> ids = builder_->Build(Chat({{"user", "hi"}}));
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_EQ(Decode(*ids), "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
}

TEST_F(RequestConversionTest, SessionTurnAppendsOnlyTheNewSuffixToTheExactHistory) {
  // Turn 1: no history.
  absl::StatusOr<PromptBuilder::Turn> first =
      builder_->BuildTurn("Be brief.", {}, 0, {}, Chat({{"user", "hi"}}), ContextBudget());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(Decode(first->prompt_tokens),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n"
            "<|im_start|>assistant\n");
  // The reply ended with <|im_end|> (id 2 in the byte tokenizer... found by encoding).
  std::vector<int32_t> output = *tokenizer_->Encode("hello<|im_end|>");
  std::vector<ChatMessage> transcript = first->new_messages;
  ChatMessage reply;
  reply.role = "assistant";
  reply.content = "hello";
  transcript.push_back(reply);
  const std::vector<int32_t> committed = builder_->CommittedTokens(
      "Be brief.", transcript, first->prompt_tokens, output, std::nullopt);
  // The template's "\n" after <|im_end|> is appended so the next suffix starts where it expects.
  EXPECT_EQ(Decode(committed), Decode(first->prompt_tokens) + "hello<|im_end|>\n");

  absl::StatusOr<PromptBuilder::Turn> second = builder_->BuildTurn(
      "Be brief.", transcript, 0, committed, Chat({{"user", "more"}}), ContextBudget());
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_GT(second->prompt_tokens.size(), committed.size());
  EXPECT_TRUE(std::equal(committed.begin(), committed.end(), second->prompt_tokens.begin()));
  EXPECT_EQ(Decode(second->prompt_tokens),
            Decode(committed) + "<|im_start|>user\nmore<|im_end|>\n<|im_start|>assistant\n");
}

TEST_F(RequestConversionTest, RejectsBadInputWithPreciseMessages) {
  EXPECT_THAT(builder_->Build(v1::GenerateRequest()).status().message(),
              HasSubstr("input is empty"));
  EXPECT_THAT(builder_->Build(Chat({{"robot", "x"}})).status().message(),
              HasSubstr("messages[0].role \"robot\" is unknown"));
  v1::GenerateRequest bad_utf8;
  bad_utf8.set_prompt("ab\xFF");
  absl::Status status = builder_->Build(bad_utf8).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              HasSubstr("prompt is not valid UTF-8 (first bad byte at offset 2)"));
  ServiceLimits limits;
  limits.max_messages = 1;
  PromptBuilder small(*tokenizer_, &*template_, limits);
  EXPECT_THAT(small.Build(Chat({{"user", "a"}, {"user", "b"}})).status().message(),
              HasSubstr("messages has 2 entries; the limit is 1"));
  v1::GenerateRequest ids;
  ids.mutable_token_ids()->add_ids(-1);
  EXPECT_THAT(builder_->Build(ids).status().message(), HasSubstr("outside the vocabulary"));
}

TEST_F(RequestConversionTest, SessionTurnsRejectTokenIds) {
  v1::GenerateRequest request;
  request.mutable_token_ids()->add_ids(5);
  EXPECT_THAT(builder_->BuildTurn("", {}, 0, {}, request, ContextBudget()).status().message(),
              HasSubstr("not token_ids"));
}

ChatMessage Said(std::string role, std::string content) {
  ChatMessage message;
  message.role = std::move(role);
  message.content = std::move(content);
  return message;
}

TEST_F(RequestConversionTest, TruncationDropsTheOldestWholeTurnsAndMatchesAFreshRendering) {
  std::vector<ChatMessage> transcript;
  for (int i = 0; i < 10; ++i) {
    transcript.push_back(Said("user", absl::StrCat("question ", i, " about the sea")));
    transcript.push_back(Said("assistant", absl::StrCat("answer ", i, " about waves")));
  }
  v1::GenerateRequest request = Chat({{"user", "and now?"}});
  // The untruncated prompt, as a stateless request would render it.
  v1::GenerateRequest whole;
  whole.mutable_messages()->add_messages()->set_role("system");
  whole.mutable_messages()->mutable_messages(0)->set_content("Be brief.");
  for (const ChatMessage& message : transcript) {
    v1::ChatMessage* entry = whole.mutable_messages()->add_messages();
    entry->set_role(message.role);
    entry->set_content(*message.content);
  }
  *whole.mutable_messages()->add_messages() = request.messages().messages(0);
  const int64_t full_size = static_cast<int64_t>(builder_->Build(whole)->size());

  // Fits: nothing dropped, the window stays.
  ContextBudget roomy{full_size + 100, 100, /*truncate=*/true};
  absl::StatusOr<PromptBuilder::Turn> kept =
      builder_->BuildTurn("Be brief.", transcript, 0, {}, request, roomy);
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(kept->dropped_messages, 0);
  EXPECT_EQ(kept->window_start, 0);
  EXPECT_EQ(static_cast<int64_t>(kept->prompt_tokens.size()), full_size);

  // Too long by a little: enough whole turns go to free half the context at once.
  ContextBudget tight{full_size, 50, /*truncate=*/true};
  absl::StatusOr<PromptBuilder::Turn> cut =
      builder_->BuildTurn("Be brief.", transcript, 0, {}, request, tight);
  ASSERT_TRUE(cut.ok()) << cut.status();
  EXPECT_GT(cut->dropped_messages, 0);
  EXPECT_EQ(cut->dropped_messages % 2, 0);  // whole user/assistant turns
  EXPECT_EQ(cut->window_start, cut->dropped_messages);
  EXPECT_LE(static_cast<int64_t>(cut->prompt_tokens.size()), full_size / 2);
  EXPECT_EQ(cut->dropped_tokens, full_size - static_cast<int64_t>(cut->prompt_tokens.size()));
  // Exactly what a fresh conversation of the system prompt, the kept turns and the new message is.
  v1::GenerateRequest fresh;
  *fresh.mutable_messages()->add_messages() = whole.messages().messages(0);
  for (int i = 1 + static_cast<int>(cut->dropped_messages); i < whole.messages().messages_size();
       ++i) {
    *fresh.mutable_messages()->add_messages() = whole.messages().messages(i);
  }
  EXPECT_EQ(cut->prompt_tokens, *builder_->Build(fresh));
  // One fewer turn dropped would not have freed half the context.
  v1::GenerateRequest one_fewer;
  *one_fewer.mutable_messages()->add_messages() = whole.messages().messages(0);
  for (int i = static_cast<int>(cut->dropped_messages) - 1; i < whole.messages().messages_size();
       ++i) {
    *one_fewer.mutable_messages()->add_messages() = whole.messages().messages(i);
  }
  EXPECT_GT(static_cast<int64_t>(builder_->Build(one_fewer)->size()), full_size / 2);
  EXPECT_THAT(Decode(cut->prompt_tokens), ::testing::StartsWith("<|im_start|>system\nBe brief."));
  EXPECT_THAT(Decode(cut->prompt_tokens), ::testing::EndsWith("and now?<|im_end|>\n"
                                                              "<|im_start|>assistant\n"));

  // Without truncation the same budget leaves the prompt whole (the engine then refuses it).
  ContextBudget strict = tight;
  strict.truncate = false;
  absl::StatusOr<PromptBuilder::Turn> whole_turn =
      builder_->BuildTurn("Be brief.", transcript, 0, {}, request, strict);
  ASSERT_TRUE(whole_turn.ok());
  EXPECT_EQ(whole_turn->dropped_messages, 0);
  EXPECT_EQ(static_cast<int64_t>(whole_turn->prompt_tokens.size()), full_size);
}

TEST_F(RequestConversionTest, TruncationStartsFromTheWindowAndNamesSizesWhenNothingFits) {
  std::vector<ChatMessage> transcript;
  for (int i = 0; i < 6; ++i) {
    transcript.push_back(Said("user", absl::StrCat("q", i)));
    transcript.push_back(Said("assistant", absl::StrCat("a", i)));
  }
  // The window already starts at message 4: messages 0-3 are never rendered again.
  absl::StatusOr<PromptBuilder::Turn> turn = builder_->BuildTurn(
      "S", transcript, 4, {}, Chat({{"user", "new"}}), ContextBudget{100000, 10, true});
  ASSERT_TRUE(turn.ok()) << turn.status();
  EXPECT_EQ(turn->window_start, 4);
  EXPECT_THAT(Decode(turn->prompt_tokens), ::testing::Not(HasSubstr("q1")));
  EXPECT_THAT(Decode(turn->prompt_tokens), HasSubstr("q2"));

  // A new message that alone cannot fit with its reply budget: INVALID_ARGUMENT with the sizes.
  const std::string long_message(400, 'x');
  absl::Status status = builder_
                            ->BuildTurn("S", transcript, 0, {}, Chat({{"user", long_message}}),
                                        ContextBudget{300, 20, true})
                            .status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("prompt tokens with the system prompt and the chat "
                                          "template; with 20 tokens kept for the reply that "
                                          "exceeds the context limit of 300 tokens"));
}

TEST_F(RequestConversionTest, StatelessTruncationKeepsSystemMessagesAndTheLastTurn) {
  v1::GenerateRequest request = Chat({{"system", "Be brief."},
                                      {"user", "first question here"},
                                      {"assistant", "first answer"},
                                      {"user", "second question"},
                                      {"assistant", "second answer"},
                                      {"user", "third"}});
  const int64_t size = static_cast<int64_t>(builder_->Build(request)->size());
  absl::StatusOr<PromptBuilder::FittedPrompt> fitted =
      builder_->BuildTruncated(request, ContextBudget{size, 40, true});
  ASSERT_TRUE(fitted.ok()) << fitted.status();
  EXPECT_EQ(fitted->dropped_messages % 2, 0);
  EXPECT_GT(fitted->dropped_messages, 0);
  EXPECT_THAT(Decode(fitted->tokens), HasSubstr("Be brief."));
  EXPECT_THAT(Decode(fitted->tokens), HasSubstr("third"));
  EXPECT_THAT(Decode(fitted->tokens), ::testing::Not(HasSubstr("first question")));
  v1::GenerateRequest prompt;
  prompt.set_prompt("raw text");
  EXPECT_THAT(builder_->BuildTruncated(prompt, ContextBudget{10, 5, true}).status().message(),
              HasSubstr("needs messages input"));
}

TEST_F(RequestConversionTest, ReplyBudgetIsMaxTokensOrAQuarterOfTheContext) {
  ServiceLimits limits;
  limits.max_tokens_cap = 4096;
  v1::GenerateRequest request;
  EXPECT_EQ(ReplyBudget(request, 512, limits), 128);
  limits.max_tokens_cap = 64;
  EXPECT_EQ(ReplyBudget(request, 512, limits), 64);
  request.set_max_tokens(300);
  EXPECT_EQ(ReplyBudget(request, 512, limits), 300);
}

TEST_F(RequestConversionTest, IdsAreBoundedAndPrintable) {
  ServiceLimits limits;
  EXPECT_TRUE(ValidateIdField("request_id", "req-1", limits).ok());
  EXPECT_THAT(ValidateIdField("request_id", std::string(200, 'a'), limits).message(),
              HasSubstr("request_id is 200 bytes; the limit is 128"));
  EXPECT_FALSE(ValidateIdField("session_id", "has space", limits).ok());
}

}  // namespace
}  // namespace minimind
