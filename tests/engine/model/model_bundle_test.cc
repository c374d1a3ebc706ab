#include "engine/model/model_bundle.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "engine/model/random_checkpoint.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/engine/tokenizer/synthetic_tokenizer.h"
#include "tests/support/test_paths.h"

namespace minimind {
namespace {

using ::testing::HasSubstr;

class ModelBundleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("model_bundle_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A qwen3 checkpoint of `vocab_size` tokens plus the given tokenizer files.
  void WriteModel(int64_t vocab_size, const std::string& tokenizer_json,
                  const std::string& tokenizer_config_json) {
    RandomCheckpointOptions options;
    options.vocab_size = vocab_size;
    options.hidden_size = 32;
    options.num_layers = 1;
    options.num_heads = 2;
    options.num_kv_heads = 1;
    options.head_dim = 16;
    options.intermediate_size = 64;
    ASSERT_TRUE(WriteRandomCheckpoint(options, dir_.string()).ok());
    std::ofstream(dir_ / "tokenizer.json") << tokenizer_json;
    if (!tokenizer_config_json.empty()) {
      std::ofstream(dir_ / "tokenizer_config.json") << tokenizer_config_json;
    }
  }

  std::filesystem::path dir_;
};

TEST_F(ModelBundleTest, LoadsAllPartsAndFindsEndOfSequenceIds) {
  const nlohmann::json tokenizer = testing::SyntheticTokenizerJson();
  WriteModel(512, tokenizer.dump(), R"({"eos_token": "<|end|>", "chat_template": "x"})");
  absl::StatusOr<ModelBundle> bundle = LoadModelBundle({.model_path = dir_.string()});
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  EXPECT_EQ(bundle->model.config.vocab_size, 512);
  ASSERT_TRUE(bundle->chat_template.has_value());
  const std::optional<TokenId> end = bundle->tokenizer.FindToken("<|end|>");
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(bundle->eos_token_ids.front(), *end);
  EXPECT_EQ(bundle->tokenizer_dir, dir_.string());
}

TEST_F(ModelBundleTest, NoTokenizerConfigMeansNoChatTemplate) {
  WriteModel(512, testing::SyntheticTokenizerJson().dump(), "");
  absl::StatusOr<ModelBundle> bundle = LoadModelBundle({.model_path = dir_.string()});
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  EXPECT_FALSE(bundle->chat_template.has_value());
}

TEST_F(ModelBundleTest, TokenizerLargerThanTheModelIsRejected) {
  WriteModel(8, testing::SyntheticTokenizerJson().dump(), "");
  absl::StatusOr<ModelBundle> bundle = LoadModelBundle({.model_path = dir_.string()});
  ASSERT_FALSE(bundle.ok());
  EXPECT_EQ(bundle.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bundle.status().message(), HasSubstr("vocab_size is 8"));
}

TEST_F(ModelBundleTest, MissingPartsAreNamed) {
  EXPECT_THAT(LoadModelBundle({}).status().message(), HasSubstr("no model path"));
  WriteModel(512, "{not json", "");
  const absl::Status status = LoadModelBundle({.model_path = dir_.string()}).status();
  EXPECT_THAT(status.message(), HasSubstr("tokenizer.json"));
}

TEST_F(ModelBundleTest, MiniMindVocabularyEndsOnImEndAndEndOfText) {
  MINIMIND_SKIP_WITHOUT_FIXTURE("minimind-3");
  const std::filesystem::path fixture = testing::FixturesDir() / "minimind-3";
  absl::StatusOr<Tokenizer> tokenizer = Tokenizer::FromFile(fixture.string());
  ASSERT_TRUE(tokenizer.ok());
  WriteModel(tokenizer->vocab_size(), testing::ReadFileOrEmpty(fixture / "tokenizer.json"),
             testing::ReadFileOrEmpty(fixture / "tokenizer_config.json"));
  absl::StatusOr<ModelBundle> bundle = LoadModelBundle({.model_path = dir_.string()});
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  const TokenId im_end = *bundle->tokenizer.FindToken("<|im_end|>");
  const TokenId end_of_text = *bundle->tokenizer.FindToken("<|endoftext|>");
  EXPECT_THAT(bundle->eos_token_ids, ::testing::UnorderedElementsAre(im_end, end_of_text));
}

}  // namespace
}  // namespace minimind
