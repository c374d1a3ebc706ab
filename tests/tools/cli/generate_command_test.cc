#include "tools/cli/generate_command.h"

#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/cli/make_random_command.h"

namespace minimind::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

// Generates with a small random model written by `minimind make-random` (byte-level tokenizer,
// ChatML template).
class GenerateCommandTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model_dir_ = new std::filesystem::path(std::filesystem::temp_directory_path() /
                                           ("generate_command_test_" + std::to_string(::getpid())));
    std::ostringstream out, err;
    ASSERT_EQ(
        RunMakeRandom({"--out", model_dir_->string(), "--layers", "2", "--seed", "11"}, out, err),
        0)
        << err.str();
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*model_dir_);
    delete model_dir_;
  }

  int Run(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), {"--model", model_dir_->string()});
    std::istringstream in(input);
    out_.str("");
    err_.str("");
    return RunGenerate(args, in, out_, err_);
  }

  static std::filesystem::path* model_dir_;
  std::ostringstream out_;
  std::ostringstream err_;
};

std::filesystem::path* GenerateCommandTest::model_dir_ = nullptr;

TEST_F(GenerateCommandTest, SameSeedSameText) {
  const std::vector<std::string> args = {"--prompt",     "Once upon", "--seed",        "42",
                                         "--max-tokens", "24",        "--temperature", "0.9",
                                         "--ignore-eos"};
  ASSERT_EQ(Run(args), 0) << err_.str();
  const std::string first = out_.str();
  EXPECT_THAT(err_.str(), HasSubstr("finish: length"));
  EXPECT_THAT(err_.str(), HasSubstr("completion 24 tokens"));
  EXPECT_THAT(err_.str(), HasSubstr("prompt 9 tokens"));
  EXPECT_THAT(err_.str(),
              MatchesRegex("(.|\n)*prefill [0-9.]+ tok/s(.|\n)*decode [0-9.]+ tok/s(.|\n)*"));
  ASSERT_EQ(Run(args), 0) << err_.str();
  EXPECT_EQ(out_.str(), first);

  std::vector<std::string> other_seed = args;
  other_seed[3] = "43";
  ASSERT_EQ(Run(other_seed), 0) << err_.str();
  EXPECT_NE(out_.str(), first);
}

TEST_F(GenerateCommandTest, PromptFromStdinEqualsPromptFlag) {
  ASSERT_EQ(Run({"--seed", "1", "--max-tokens", "8", "--ignore-eos"}, "abc"), 0) << err_.str();
  const std::string from_stdin = out_.str();
  ASSERT_EQ(Run({"--prompt", "abc", "--seed", "1", "--max-tokens", "8", "--ignore-eos"}), 0);
  EXPECT_EQ(out_.str(), from_stdin);
}

TEST_F(GenerateCommandTest, ChatRendersTheTemplate) {
  // <|im_start|> "user\n" "hi" <|im_end|> "\n" <|im_start|> "assistant\n": 1+5+2+1+1+1+10 tokens
  // with the byte-level vocabulary.
  ASSERT_EQ(Run({"--chat", "--prompt", "hi", "--seed", "5", "--max-tokens", "3"}), 0) << err_.str();
  EXPECT_THAT(err_.str(), HasSubstr("prompt 21 tokens"));
  ASSERT_EQ(
      Run({"--chat", "--system", "sys", "--prompt", "hi", "--seed", "5", "--max-tokens", "3"}), 0);
  // Plus <|im_start|> "system\n" "sys" <|im_end|> "\n".
  EXPECT_THAT(err_.str(), HasSubstr("prompt 34 tokens"));
}

TEST_F(GenerateCommandTest, StopStringCutsTheOutputBeforeIt) {
  const std::vector<std::string> greedy = {"--prompt",     "The", "--temperature", "0",
                                           "--max-tokens", "40",  "--ignore-eos"};
  ASSERT_EQ(Run(greedy), 0) << err_.str();
  const std::string full = out_.str();
  // The first printable ASCII character that did not occur earlier in the output.
  size_t cut = std::string::npos;
  for (size_t i = 1; i < full.size() && cut == std::string::npos; ++i) {
    const char c = full[i];
    if (c > ' ' && c < 127 && full.find(c) == i) cut = i;
  }
  ASSERT_NE(cut, std::string::npos) << "no usable stop character in: " << full;
  std::vector<std::string> with_stop = greedy;
  with_stop.insert(with_stop.end(), {"--stop", std::string(1, full[cut])});
  ASSERT_EQ(Run(with_stop), 0) << err_.str();
  EXPECT_EQ(out_.str(), full.substr(0, cut) + "\n");
  EXPECT_THAT(err_.str(), HasSubstr("finish: stop_sequence"));
}

TEST_F(GenerateCommandTest, BadInputsAreClearErrors) {
  EXPECT_EQ(Run({"--prompt", "x", "--temperature", "-1"}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("temperature"));
  EXPECT_EQ(Run({"--prompt", "x", "--top-p", "abc"}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("top-p"));
  EXPECT_EQ(Run({"--prompt", "x", "--seed", "-3"}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("--seed"));
  EXPECT_EQ(Run({"--prompt", "x", "--bogus"}), 2);
  EXPECT_EQ(Run({"--chat", "--prompt", "x", "--thinking", "maybe"}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("--thinking must be on or off"));
  EXPECT_EQ(Run({"--prompt", ""}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("empty"));
  EXPECT_EQ(Run({"--prompt", "\xff"}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("UTF-8"));
}

TEST_F(GenerateCommandTest, ChatWithoutTemplateIsAnError) {
  const std::filesystem::path bare = *model_dir_ / "bare";
  std::filesystem::create_directories(bare);
  for (const char* file : {"config.json", "model.safetensors", "tokenizer.json"}) {
    std::filesystem::copy_file(*model_dir_ / file, bare / file);
  }
  std::istringstream in;
  out_.str("");
  err_.str("");
  EXPECT_EQ(RunGenerate({"--model", bare.string(), "--chat", "--prompt", "x"}, in, out_, err_), 1);
  EXPECT_THAT(err_.str(), HasSubstr("needs a chat template"));
}

TEST_F(GenerateCommandTest, PaddedVocabularyNeverYieldsIdsWithoutText) {
  // Embedding rows beyond the tokenizer's 259 tokens hold random weights like the rest; sampling
  // at a high temperature would pick them often if they were candidates.
  const std::filesystem::path padded = *model_dir_ / "padded";
  std::ostringstream make_out, make_err;
  ASSERT_EQ(RunMakeRandom({"--out", padded.string(), "--layers", "1", "--vocab-size", "4000"},
                          make_out, make_err),
            0)
      << make_err.str();
  std::istringstream in;
  out_.str("");
  err_.str("");
  EXPECT_EQ(RunGenerate({"--model", padded.string(), "--prompt", "x", "--seed", "3",
                         "--temperature", "2", "--max-tokens", "200", "--ignore-eos"},
                        in, out_, err_),
            0)
      << err_.str();
  EXPECT_THAT(err_.str(), HasSubstr("completion 200 tokens"));

  EXPECT_EQ(RunMakeRandom({"--out", padded.string(), "--vocab-size", "100"}, make_out, make_err),
            2);
  EXPECT_THAT(make_err.str(), HasSubstr("--vocab-size must be an integer ≥ 259"));
}

}  // namespace
}  // namespace minimind::cli
