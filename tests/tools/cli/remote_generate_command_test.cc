#include "tools/cli/remote_generate_command.h"

#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/cli/fake_minimind_server.h"

namespace minimind::cli {
namespace {

using ::testing::HasSubstr;

class RemoteGenerateCommandTest : public ::testing::Test {
 protected:
  int Run(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), {"--target", server_.target()});
    std::istringstream in(input);
    return RunRemoteGenerate(args, in, out_, err_);
  }

  FakeMinimindServer server_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(RemoteGenerateCommandTest, StreamsAPromptAndSummarises) {
  ASSERT_EQ(Run({"--prompt", "abc", "--seed", "7", "--stop", "END", "--ignore-eos"}), 0)
      << err_.str();
  EXPECT_EQ(out_.str(), "echo: abc\n");
  EXPECT_THAT(err_.str(), HasSubstr("finish: length"));
  EXPECT_THAT(err_.str(), HasSubstr("prompt 3 tokens (0 cached)"));
  EXPECT_THAT(err_.str(), HasSubstr("completion 3 tokens"));
  EXPECT_THAT(err_.str(), HasSubstr("server 2.0 ms"));
  const auto requests = server_.generate_requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].prompt(), "abc");
  EXPECT_EQ(requests[0].seed(), 7u);
  ASSERT_EQ(requests[0].stop_size(), 1);
  EXPECT_EQ(requests[0].stop(0), "END");
  EXPECT_TRUE(requests[0].ignore_eos());
  EXPECT_FALSE(requests[0].has_max_tokens());
  EXPECT_FALSE(requests[0].has_use_cache());
}

TEST_F(RemoteGenerateCommandTest, ReadsStdinAndSendsChatMessages) {
  ASSERT_EQ(Run({"--chat", "--system", "sys", "--no-cache"}, "from stdin"), 0) << err_.str();
  EXPECT_EQ(out_.str(), "echo: from stdin\n");
  const auto requests = server_.generate_requests();
  ASSERT_EQ(requests.size(), 1u);
  ASSERT_EQ(requests[0].messages().messages_size(), 2);
  EXPECT_EQ(requests[0].messages().messages(0).role(), "system");
  EXPECT_EQ(requests[0].messages().messages(1).content(), "from stdin");
  EXPECT_TRUE(requests[0].has_use_cache());
  EXPECT_FALSE(requests[0].use_cache());
}

TEST_F(RemoteGenerateCommandTest, ServerErrorsAreReportedWithTheirCode) {
  EXPECT_EQ(Run({"--prompt", "x", "--session", "missing"}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("NOT_FOUND: session missing not found"));
}

TEST_F(RemoteGenerateCommandTest, BadFlagsAreUsageErrors) {
  EXPECT_EQ(Run({"--prompt", "x", "--temperature", "hot"}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("temperature"));
  EXPECT_EQ(Run({"--prompt", "x", "--system", "s"}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("--system needs --chat"));
  EXPECT_TRUE(server_.generate_requests().empty());
}

TEST(HasTargetFlagTest, RecognisesBothSpellings) {
  EXPECT_TRUE(HasTargetFlag({"--prompt", "x", "--target", "h:1"}));
  EXPECT_TRUE(HasTargetFlag({"--target=h:1"}));
  EXPECT_FALSE(HasTargetFlag({"--model", "dir", "--prompt", "--target-ish"}));
}

}  // namespace
}  // namespace minimind::cli
