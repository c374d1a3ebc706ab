#include "tools/cli/chat_command.h"

#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/cli/fake_minimind_server.h"

namespace minimind::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

class ChatCommandTest : public ::testing::Test {
 protected:
  int Run(std::vector<std::string> args, const std::string& input) {
    args.insert(args.begin(), {"--target", server_.target()});
    std::istringstream in(input);
    return RunChat(args, in, out_, err_);
  }

  FakeMinimindServer server_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(ChatCommandTest, TurnsGoToOneSessionAndStreamTheReply) {
  ASSERT_EQ(Run({"--system", "be kind", "--temperature", "0.5"}, "hello\nagain\n/stats\n"), 0)
      << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("echo: hello\n"));
  EXPECT_THAT(out_.str(), HasSubstr("echo: again\n"));
  EXPECT_THAT(server_.created_system_prompts(), ElementsAre("be kind"));
  const auto requests = server_.generate_requests();
  ASSERT_EQ(requests.size(), 2u);
  for (const auto& request : requests) {
    EXPECT_EQ(request.session_id(), "s1");
    ASSERT_EQ(request.messages().messages_size(), 1);  // only the new message
    EXPECT_EQ(request.messages().messages(0).role(), "user");
    EXPECT_TRUE(request.has_temperature());
    EXPECT_FLOAT_EQ(request.temperature(), 0.5f);
    EXPECT_FALSE(request.has_top_k());  // unset flags stay unset: server defaults
  }
  EXPECT_EQ(requests[1].messages().messages(0).content(), "again");
  // The fake counts 5 prompt + 3 reply tokens per turn and reports earlier turns as cached.
  EXPECT_THAT(out_.str(), HasSubstr("session s1: 2 turns, 16 tokens, KV cached"));
  EXPECT_THAT(out_.str(), HasSubstr("last turn: prompt 13 tokens (8 cached), completion 3 tokens"));
  EXPECT_THAT(out_.str(), HasSubstr("all turns: prompt 18 tokens (8 cached, 44%), completion 6"));
  EXPECT_THAT(out_.str(), HasSubstr("6.0 tok/s"));
  EXPECT_THAT(server_.deleted(), ElementsAre("s1"));  // cleaned up at the end of input
}

// A truncation is a one-line notice, never an error; so is a turn the session could not save.
TEST_F(ChatCommandTest, TruncationAndUnsavedTurnsAreNoticesNotErrors) {
  ASSERT_EQ(Run({}, "long story [truncate]\nnext [unsaved]\nfine\n"), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("echo: long story [truncate]\n"));
  EXPECT_THAT(out_.str(), HasSubstr("echo: fine\n"));
  EXPECT_THAT(err_.str(), HasSubstr("[older turns left the context window: 4 messages (120 tokens) "
                                    "are no longer seen by the model; the session's transcript "
                                    "keeps them]\n"));
  EXPECT_THAT(err_.str(), HasSubstr("[this turn was not saved in the session (redis is away); "
                                    "send it again to keep it]\n"));
  EXPECT_THAT(err_.str(), Not(HasSubstr("error")));
  EXPECT_EQ(server_.generate_requests().size(), 3u);
}

TEST_F(ChatCommandTest, ResetSystemAndForkSwitchSessions) {
  ASSERT_EQ(Run({}, "one\n/fork\ntwo\n/system be terse\nthree\n/reset\nfour\n/quit\nnever\n"), 0)
      << err_.str();
  const auto requests = server_.generate_requests();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[0].session_id(), "s1");
  EXPECT_EQ(requests[1].session_id(), "s2");  // the fork
  EXPECT_EQ(requests[2].session_id(), "s3");  // new system prompt
  EXPECT_EQ(requests[3].session_id(), "s4");  // reset keeps that system prompt
  EXPECT_THAT(out_.str(), HasSubstr("[forked s1 -> s2]"));
  EXPECT_THAT(server_.created_system_prompts(), ElementsAre("", "be terse", "be terse"));
  EXPECT_THAT(server_.deleted(), ElementsAre("s2", "s3", "s4"));
  EXPECT_THAT(out_.str(), Not(HasSubstr("never")));
}

TEST_F(ChatCommandTest, UnknownCommandsAndMissingTargetAreReported) {
  ASSERT_EQ(Run({}, "/bogus\n"), 0);
  EXPECT_THAT(err_.str(), HasSubstr("unknown command /bogus"));
  std::istringstream in("");
  std::ostringstream out, err;
  EXPECT_EQ(RunChat({}, in, out, err), 2);
  EXPECT_THAT(err.str(), HasSubstr("--target HOST:PORT is required"));
  EXPECT_EQ(RunChat({"--target", server_.target(), "--top-p", "7"}, in, out, err), 2);
}

TEST_F(ChatCommandTest, UnreachableServerFailsCleanly) {
  std::istringstream in("hi\n");
  std::ostringstream out, err;
  EXPECT_EQ(RunChat({"--target", "127.0.0.1:1"}, in, out, err), 1);
  EXPECT_THAT(err.str(), HasSubstr("cannot create a session: UNAVAILABLE"));
}

}  // namespace
}  // namespace minimind::cli
