#include "tools/cli/tokenize_command.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/engine/tokenizer/synthetic_tokenizer.h"

namespace minimind::cli {
namespace {

using ::testing::HasSubstr;

class TokenizeCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_dir_ = std::filesystem::temp_directory_path() /
                 ("tokenize_command_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(model_dir_);
    std::ofstream(model_dir_ / "tokenizer.json") << testing::SyntheticTokenizerJson().dump();
  }
  void TearDown() override { std::filesystem::remove_all(model_dir_); }

  int Run(std::vector<std::string> args, const std::string& input = "") {
    std::istringstream in(input);
    out_.str("");
    err_.str("");
    return RunTokenize(args, in, out_, err_);
  }

  std::filesystem::path model_dir_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(TokenizeCommandTest, EncodesTextFlagAndStdinAlike) {
  ASSERT_EQ(Run({"--model", model_dir_.string(), "--text", "hello world<|end|>"}), 0) << err_.str();
  const std::string from_flag = out_.str();
  ASSERT_EQ(Run({"--model=" + model_dir_.string()}, "hello world<|end|>"), 0);
  EXPECT_EQ(out_.str(), from_flag);
  EXPECT_EQ(from_flag, "[261,266,0]\n");  // "hello", "Ġworld", <|end|>
}

TEST_F(TokenizeCommandTest, NoSpecialEncodesSpecialTextAsPlainBytes) {
  ASSERT_EQ(Run({"--model", model_dir_.string(), "--no-special", "--text", "<|end|>"}), 0);
  EXPECT_EQ(out_.str().find("[0]"), std::string::npos);
  EXPECT_THAT(out_.str(), HasSubstr(","));
}

TEST_F(TokenizeCommandTest, TokensShowsEachPiece) {
  ASSERT_EQ(Run({"--model", model_dir_.string(), "--tokens", "--text", "hello world"}), 0);
  EXPECT_EQ(out_.str(), R"([{"id":261,"piece":"hello"},{"id":266,"piece":" world"}])"
                        "\n");
}

TEST_F(TokenizeCommandTest, DecodesIdsBack) {
  ASSERT_EQ(Run({"--model", model_dir_.string(), "--decode", "--ids", "[261,266,0]"}), 0);
  EXPECT_EQ(out_.str(), "hello world<|end|>");
  ASSERT_EQ(Run({"--model", model_dir_.string(), "--decode", "--skip-special"}, "[261, 0]"), 0);
  EXPECT_EQ(out_.str(), "hello");
}

TEST_F(TokenizeCommandTest, ReportsErrorsWithoutCrashing) {
  EXPECT_EQ(Run({"--text", "x"}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("--model is required"));
  EXPECT_EQ(Run({"--model", model_dir_.string(), "--bogus"}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("unknown flag --bogus"));
  EXPECT_EQ(Run({"--model", "/nonexistent"}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("cannot open"));
  EXPECT_EQ(Run({"--model", model_dir_.string(), "--decode", "--ids", "[1, \"x\"]"}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("JSON array of integer token ids"));
  EXPECT_EQ(Run({"--model", model_dir_.string(), "--decode", "--ids", "[99999]"}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("token id 99999"));
  EXPECT_EQ(Run({"--model", model_dir_.string(), "--text", "bad \xFF"}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("not valid UTF-8"));
}

}  // namespace
}  // namespace minimind::cli
