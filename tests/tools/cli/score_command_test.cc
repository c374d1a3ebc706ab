#include "tools/cli/score_command.h"

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <sstream>
#include <string>

#include "engine/tokenizer/byte_tokenizer_files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/test_paths.h"

namespace minimind::cli {
namespace {

using ::minimind::testing::ReadFileOrEmpty;
using ::minimind::testing::TestDataDir;
using ::testing::HasSubstr;

// Scores the committed tiny checkpoints, whose golden prompt logprobs come from the independent
// PyTorch reference (tools/reference), with a byte-level tokenizer beside them (only used to
// print pieces: the inputs are ids).
class ScoreCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tokenizer_dir_ = std::filesystem::temp_directory_path() /
                     ("score_command_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(tokenizer_dir_);
    ASSERT_TRUE(WriteByteTokenizerFiles(tokenizer_dir_.string()).ok());
  }
  void TearDown() override { std::filesystem::remove_all(tokenizer_dir_); }

  int Run(std::vector<std::string> args, const std::string& input = "") {
    std::istringstream in(input);
    out_.str("");
    err_.str("");
    return RunScore(args, in, out_, err_);
  }

  std::string ModelDir(const std::string& name) {
    return (TestDataDir() / "models" / name).string();
  }

  std::filesystem::path tokenizer_dir_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(ScoreCommandTest, MatchesTheReferenceOnEveryTinyModel) {
  for (const char* name : {"tiny-qwen3", "tiny-llama", "tiny-llama-f16", "tiny-qwen2",
                           "tiny-qwen3-moe", "tiny-minimind-moe", "tiny-llama-yarn"}) {
    SCOPED_TRACE(name);
    const nlohmann::json golden =
        nlohmann::json::parse(ReadFileOrEmpty(TestDataDir() / "models" / name / "golden.json"));
    for (const nlohmann::json& prompt : golden["prompts"]) {
      const std::string ids = prompt["ids"].dump();
      ASSERT_EQ(Run({"--model", ModelDir(name), "--tokenizer", tokenizer_dir_.string(), "--ids",
                     ids, "--chunk", "3"}),
                0)
          << err_.str();
      const nlohmann::json scored = nlohmann::json::parse(out_.str());
      const nlohmann::json& expected = prompt["prompt_logprobs"];
      ASSERT_EQ(scored["tokens"].size(), expected.size());
      EXPECT_TRUE(scored["tokens"][0]["logprob"].is_null());
      double sum = 0;
      for (size_t i = 1; i < expected.size(); ++i) {
        EXPECT_NEAR(scored["tokens"][i]["logprob"].get<double>(), expected[i].get<double>(), 1e-4)
            << "token " << i;
        sum += expected[i].get<double>();
      }
      const double scored_tokens = static_cast<double>(expected.size() - 1);
      EXPECT_EQ(scored["scored_tokens"], expected.size() - 1);
      EXPECT_NEAR(scored["perplexity"].get<double>(), std::exp(-sum / scored_tokens),
                  1e-4 * scored["perplexity"].get<double>());
    }
  }
}

TEST_F(ScoreCommandTest, ChunkSizeDoesNotChangeAnyBit) {
  const std::string ids = "[5, 17, 200, 3, 99, 42, 42, 7, 1, 0, 250]";
  const std::vector<std::string> base = {"--model",     ModelDir("tiny-qwen3"),
                                         "--tokenizer", tokenizer_dir_.string(),
                                         "--ids",       ids,
                                         "--top",       "3"};
  std::vector<std::string> whole = base;
  whole.insert(whole.end(), {"--chunk", "512"});
  ASSERT_EQ(Run(whole), 0) << err_.str();
  const std::string whole_output = out_.str();
  for (const char* chunk : {"1", "2", "4", "10"}) {
    std::vector<std::string> chunked = base;
    chunked.insert(chunked.end(), {"--chunk", chunk});
    ASSERT_EQ(Run(chunked), 0) << err_.str();
    EXPECT_EQ(out_.str(), whole_output) << "--chunk " << chunk;
  }
  const nlohmann::json parsed = nlohmann::json::parse(whole_output);
  EXPECT_EQ(parsed["tokens"][1]["top"].size(), 3u);
}

TEST_F(ScoreCommandTest, ScoresTextThroughTheTokenizer) {
  ASSERT_EQ(Run({"--model", ModelDir("tiny-qwen3"), "--tokenizer", tokenizer_dir_.string()}, "hi!"),
            0)
      << err_.str();
  const nlohmann::json parsed = nlohmann::json::parse(out_.str());
  ASSERT_EQ(parsed["tokens"].size(), 3u);
  EXPECT_EQ(parsed["tokens"][0]["text"], "h");
  EXPECT_EQ(parsed["tokens"][2]["text"], "!");
  EXPECT_GT(parsed["perplexity"].get<double>(), 1.0);
}

TEST_F(ScoreCommandTest, BadInputsAreClearErrors) {
  const std::string model = ModelDir("tiny-qwen3");
  const std::string tokenizer = tokenizer_dir_.string();
  EXPECT_EQ(Run({"--text", "x"}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("--model is required"));
  EXPECT_EQ(Run({"--model", model, "--tokenizer", tokenizer, "--ids", "[1, \"a\"]"}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("--ids expects a JSON array of integer token ids"));
  EXPECT_EQ(Run({"--model", model, "--tokenizer", tokenizer, "--ids", "[1, 100000]"}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("100000"));
  EXPECT_EQ(Run({"--model", model, "--tokenizer", tokenizer, "--ids", "[]"}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("nothing to score"));
  EXPECT_EQ(Run({"--model", model, "--tokenizer", tokenizer, "--top", "99", "--text", "x"}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("--top must be in [0, 20]"));
  EXPECT_EQ(Run({"--model", model, "--tokenizer", tokenizer, "--chunk", "0", "--text", "x"}), 2);
  EXPECT_EQ(Run({"--model", "/nonexistent/model", "--text", "x"}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("/nonexistent/model"));
}

TEST_F(ScoreCommandTest, SingleTokenHasNoPerplexity) {
  ASSERT_EQ(Run({"--model", ModelDir("tiny-qwen3"), "--tokenizer", tokenizer_dir_.string(), "--ids",
                 "[7]"}),
            0)
      << err_.str();
  const nlohmann::json parsed = nlohmann::json::parse(out_.str());
  EXPECT_EQ(parsed["scored_tokens"], 0);
  EXPECT_TRUE(parsed["perplexity"].is_null());
}

}  // namespace
}  // namespace minimind::cli
