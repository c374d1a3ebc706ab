#include "service/sessions/session_state_file.h"

#include <cstdio>
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/sessions/file_io.h"

namespace minimind {
namespace {

using ::testing::HasSubstr;

SessionState SampleState() {
  SessionState state;
  state.model_fingerprint = "0123abcd";
  SessionSnapshot first;
  first.id = std::string(32, 'a');
  first.owner = "tenant-1";
  first.system_prompt = "be brief\nand kind";
  first.labels = {{"app", "cli"}, {"user", "ünï"}};
  ChatMessage user;
  user.role = "user";
  user.content = "what is 2+2? \"quoted\" \x01";
  ChatMessage assistant;
  assistant.role = "assistant";
  assistant.content = std::nullopt;
  assistant.reasoning_content = "think";
  assistant.tool_calls = {ToolCall{"add", "{\"a\":2}", true}};
  first.messages = {user, assistant, user};
  first.tokens = {1, 2, 3, 6399, 0};
  first.created = absl::FromUnixMillis(1'700'000'000'123);
  first.last_used = absl::FromUnixMillis(1'700'000'100'456);
  first.ttl = absl::Minutes(30);
  first.turns = 2;
  first.context_overflow = ContextOverflow::kError;
  first.window_start = 2;
  SessionSnapshot second;
  second.id = std::string(32, 'b');
  second.owner = "";
  second.created = second.last_used = absl::FromUnixMillis(1'700'000'000'000);
  second.ttl = absl::Seconds(1);
  state.sessions = {first, second};
  return state;
}

TEST(SessionStateFileTest, RoundTripsEverySessionField) {
  const SessionState state = SampleState();
  absl::StatusOr<SessionState> decoded = DecodeSessionState(EncodeSessionState(state));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->model_fingerprint, "0123abcd");
  ASSERT_EQ(decoded->sessions.size(), 2u);
  const SessionSnapshot& a = decoded->sessions[0];
  const SessionSnapshot& want = state.sessions[0];
  EXPECT_EQ(a.id, want.id);
  EXPECT_EQ(a.owner, want.owner);
  EXPECT_EQ(a.system_prompt, want.system_prompt);
  EXPECT_EQ(a.labels, want.labels);
  ASSERT_EQ(a.messages.size(), 3u);
  EXPECT_EQ(a.messages[0].content, want.messages[0].content);
  EXPECT_EQ(a.messages[1].content, std::nullopt);
  EXPECT_EQ(a.messages[1].reasoning_content, "think");
  ASSERT_EQ(a.messages[1].tool_calls.size(), 1u);
  EXPECT_EQ(a.messages[1].tool_calls[0].arguments, "{\"a\":2}");
  EXPECT_EQ(a.tokens, want.tokens);
  EXPECT_EQ(a.created, want.created);
  EXPECT_EQ(a.last_used, want.last_used);
  EXPECT_EQ(a.ttl, want.ttl);
  EXPECT_EQ(a.expires, want.last_used + want.ttl);
  EXPECT_EQ(a.turns, 2);
  EXPECT_EQ(a.context_overflow, ContextOverflow::kError);
  EXPECT_EQ(a.window_start, 2);
  EXPECT_EQ(a.num_messages, 3);
  EXPECT_EQ(decoded->sessions[1].messages.size(), 0u);
  EXPECT_EQ(decoded->sessions[1].context_overflow, ContextOverflow::kTruncate);
}

TEST(SessionStateFileTest, EveryAlteredOrMissingByteIsDetected) {
  const std::string bytes = EncodeSessionState(SampleState());
  const size_t header_end = bytes.find('\n');
  // Any change to the body: DataLoss. (A change to the header is DataLoss or, where it hits the
  // format or version, FailedPrecondition; never a state.)
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string altered = bytes;
    altered[i] ^= 0x20;
    absl::StatusOr<SessionState> decoded = DecodeSessionState(altered);
    if (decoded.ok()) {
      ADD_FAILURE() << "byte " << i << " altered, still decoded";
      continue;
    }
    if (i > header_end) EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss) << i;
  }
  for (size_t size : {size_t{0}, header_end, header_end + 1, bytes.size() - 1}) {
    EXPECT_EQ(DecodeSessionState(bytes.substr(0, size)).status().code(),
              absl::StatusCode::kDataLoss)
        << size;
  }
}

TEST(SessionStateFileTest, AnotherFormatOrVersionIsFailedPrecondition) {
  EXPECT_EQ(DecodeSessionState("{\"format\":\"something\",\"version\":1}\n").status().code(),
            absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<SessionState> future =
      DecodeSessionState("{\"format\":\"minimind-session-state\",\"version\":2}\n");
  EXPECT_EQ(future.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(future.status().message(), HasSubstr("version 2"));
}

TEST(SessionStateFileTest, FilesAreReplacedAtomically) {
  const std::string dir = ::testing::TempDir() + "/session_state_file_test";
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/sessions.state";
  std::filesystem::remove(path);
  EXPECT_EQ(ReadSessionStateFile(path).status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(WriteSessionStateFile(path, SampleState()).ok());
  SessionState empty;
  ASSERT_TRUE(WriteSessionStateFile(path, empty).ok());
  absl::StatusOr<SessionState> read = ReadSessionStateFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(read->sessions.empty());
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  // A directory that does not exist: an error naming the path, nothing written.
  const absl::Status failed = WriteSessionStateFile(dir + "/missing/sessions.state", empty);
  EXPECT_FALSE(failed.ok());
  EXPECT_THAT(failed.message(), HasSubstr("missing/sessions.state.tmp"));
}

}  // namespace
}  // namespace minimind
