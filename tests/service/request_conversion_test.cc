#include "service/request_conversion.h"

#include <filesystem>

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
      builder_->BuildTurn("Be brief.", {}, {}, Chat({{"user", "hi"}}));
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

  absl::StatusOr<PromptBuilder::Turn> second =
      builder_->BuildTurn("Be brief.", transcript, committed, Chat({{"user", "more"}}));
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
  EXPECT_THAT(builder_->BuildTurn("", {}, {}, request).status().message(),
              HasSubstr("not token_ids"));
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
