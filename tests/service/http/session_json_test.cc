#include "service/http/session_json.h"

#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/http/openai_json.h"

namespace minimind {
namespace {

using ::testing::HasSubstr;

TEST(SessionJsonTest, CreateBodyFieldsAndDefaults) {
  absl::StatusOr<SessionCreateBody> empty = ParseSessionCreateBody("");
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->system_prompt, "");
  EXPECT_EQ(empty->ttl, absl::ZeroDuration());
  EXPECT_TRUE(empty->labels.empty());

  absl::StatusOr<SessionCreateBody> full = ParseSessionCreateBody(
      R"({"system_prompt": "be brief", "ttl_seconds": 90, "labels": {"app": "chat"}})");
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_EQ(full->system_prompt, "be brief");
  EXPECT_EQ(full->ttl, absl::Seconds(90));
  EXPECT_EQ(full->labels.at("app"), "chat");
}

TEST(SessionJsonTest, BadCreateBodiesNameTheField) {
  struct Case {
    std::string body;
    std::string message;
  };
  for (const Case& c : {Case{"[1]", "not a JSON object"}, Case{"{", "not a JSON object"},
                        Case{R"({"system_prompt": 3})", "system_prompt must be a string"},
                        Case{R"({"ttl_seconds": "1"})", "ttl_seconds must be an integer"},
                        Case{R"({"ttl_seconds": -5})", "ttl_seconds must be non-negative"},
                        Case{R"({"labels": []})", "labels must be an object"},
                        Case{R"({"labels": {"a": 1}})", "labels[\"a\"] must be a string"}}) {
    absl::StatusOr<SessionCreateBody> parsed = ParseSessionCreateBody(c.body);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << c.body;
    EXPECT_THAT(parsed.status().message(), HasSubstr(c.message)) << c.body;
  }
}

TEST(SessionJsonTest, ForkBodyKeepsTheParentsTtlUnlessGiven) {
  absl::StatusOr<std::optional<absl::Duration>> none = ParseSessionForkBody("{}");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  absl::StatusOr<std::optional<absl::Duration>> given =
      ParseSessionForkBody(R"({"ttl_seconds": 5})");
  ASSERT_TRUE(given.ok());
  EXPECT_EQ(**given, absl::Seconds(5));
}

TEST(SessionJsonTest, SessionJsonCarriesTheTranscriptAndState) {
  SessionSnapshot session;
  session.id = "0123456789abcdef0123456789abcdef";
  session.system_prompt = "sys";
  session.labels = {{"k", "v"}};
  ChatMessage user;
  user.role = "user";
  user.content = "hi";
  session.messages = {user};
  session.num_tokens = 12;
  session.kv_blocks = 1;
  session.turns = 1;
  session.created = absl::FromUnixSeconds(100);
  session.last_used = absl::FromUnixSeconds(110);
  session.ttl = absl::Seconds(60);
  session.expires = absl::FromUnixSeconds(170);
  const nlohmann::json json = SessionJson(session, /*with_messages=*/true);
  EXPECT_EQ(json["id"], session.id);
  EXPECT_EQ(json["object"], "session");
  EXPECT_EQ(json["labels"]["k"], "v");
  EXPECT_EQ(json["messages"][0]["role"], "user");
  EXPECT_EQ(json["messages"][0]["content"], "hi");
  EXPECT_EQ(json["num_messages"], 1);
  EXPECT_EQ(json["kv_cached"], true);
  EXPECT_EQ(json["expires"], 170.0);
  EXPECT_EQ(json["ttl_seconds"], 60.0);
  EXPECT_FALSE(SessionJson(session, /*with_messages=*/false).contains("messages"));
}

TEST(OpenAiJsonTest, UsageSaysWhetherASessionTurnWasSaved) {
  v1::Usage usage;
  usage.set_prompt_tokens(5);
  EXPECT_FALSE(OpenAiUsage(usage).contains("session_saved"));
  usage.set_session_saved(true);
  EXPECT_EQ(OpenAiUsage(usage)["session_saved"], true);
  EXPECT_FALSE(OpenAiUsage(usage).contains("session_save_error"));
  usage.set_session_saved(false);
  usage.set_session_save_error("session store unavailable");
  EXPECT_EQ(OpenAiUsage(usage)["session_saved"], false);
  EXPECT_EQ(OpenAiUsage(usage)["session_save_error"], "session store unavailable");
}

TEST(OpenAiJsonTest, ErrorsMapFromStatusCodes) {
  EXPECT_EQ(ToOpenAiError(absl::InvalidArgumentError("x")).http_status, 400);
  EXPECT_EQ(ToOpenAiError(absl::NotFoundError("x")).http_status, 404);
  EXPECT_EQ(ToOpenAiError(absl::AbortedError("x")).http_status, 409);
  EXPECT_EQ(ToOpenAiError(absl::ResourceExhaustedError("x")).http_status, 429);
  EXPECT_EQ(ToOpenAiError(absl::ResourceExhaustedError("over the context limit")).http_status, 400);
  EXPECT_EQ(ToOpenAiError(absl::UnavailableError("x")).http_status, 503);
  EXPECT_EQ(ToOpenAiError(absl::UnauthenticatedError("x")).http_status, 401);
  EXPECT_EQ(ToOpenAiError(absl::InternalError("boom")).body["error"]["message"], "boom");
}

}  // namespace
}  // namespace minimind
