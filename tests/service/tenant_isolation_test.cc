// Tenants through the real gRPC server: API keys, isolation of sessions, requests and the prefix
// cache, and per-tenant limits (docs/security.md).
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/auth/sha256.h"
#include "tests/service/test_server.h"

namespace minimind {
namespace {

using ::testing::HasSubstr;

constexpr char kKeyA[] = "key-of-tenant-a";
constexpr char kKeyB[] = "key-of-tenant-b";

std::string KeysFile(const std::string& dir, const std::string& extra_key_for_b = "") {
  std::string keys = absl::StrCat(R"({"sha256": ")", Sha256Hex(Sha256(kKeyA)),
                                  R"(", "tenant": "a"}, {"sha256": ")", Sha256Hex(Sha256(kKeyB)),
                                  R"(", "tenant": "b"})");
  if (!extra_key_for_b.empty()) {
    absl::StrAppend(&keys, R"(, {"sha256": ")", Sha256Hex(Sha256(extra_key_for_b)),
                    R"(", "tenant": "b"})");
  }
  const std::string path = dir + "/keys.json";
  std::ofstream(path) << R"({"tenants": {"a": {"max_concurrent_requests": 1, "max_sessions": 2,
                                              "max_tokens": 24, "kv_share": 0.01},
                                        "b": {}},
                             "keys": [)"
                      << keys << "]}";
  return path;
}

class TenantIsolationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(
        (std::filesystem::temp_directory_path() / absl::StrCat("minimind_tenant_test_", getpid()))
            .string());
    std::filesystem::create_directories(*dir_ + "/model");
    ASSERT_TRUE(testing::WriteTinyModel(*dir_ + "/model").ok());
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }

  void SetUp() override {
    ServerOptions options;
    options.kv_cache_memory_bytes = 16 << 20;
    options.api_keys_file = KeysFile(*dir_);
    absl::StatusOr<testing::TestServer> server =
        testing::StartTestServer(options, *dir_ + "/model");
    ASSERT_TRUE(server.ok()) << server.status();
    test_ = *std::move(server);
  }

  static void As(grpc::ClientContext& context, const char* key) {
    if (key != nullptr) context.AddMetadata("authorization", absl::StrCat("Bearer ", key));
  }

  grpc::Status Complete(const char* key, v1::GenerateRequest request, v1::GenerateResponse* out) {
    grpc::ClientContext context;
    As(context, key);
    return test_.inference->Complete(&context, request, out);
  }

  absl::StatusOr<std::string> CreateSession(const char* key) {
    grpc::ClientContext context;
    As(context, key);
    v1::Session session;
    grpc::Status status =
        test_.sessions->CreateSession(&context, v1::CreateSessionRequest(), &session);
    if (!status.ok())
      return absl::Status(absl::StatusCode(status.error_code()), status.error_message());
    return session.session_id();
  }

  static v1::GenerateRequest Turn(const std::string& session_id, const std::string& text) {
    v1::GenerateRequest request;
    request.set_session_id(session_id);
    v1::ChatMessage* message = request.mutable_messages()->add_messages();
    message->set_role("user");
    message->set_content(text);
    request.set_max_tokens(4);
    request.set_ignore_eos(true);
    return request;
  }

  static std::string* dir_;
  testing::TestServer test_;
};

std::string* TenantIsolationTest::dir_ = nullptr;

TEST_F(TenantIsolationTest, CallsWithoutAValidKeyAreUnauthenticatedButHealthIsOpen) {
  v1::GenerateRequest request;
  request.set_prompt("hi");
  request.set_max_tokens(2);
  v1::GenerateResponse response;
  grpc::Status missing = Complete(nullptr, request, &response);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(missing.error_message(), HasSubstr("authorization: Bearer KEY"));
  grpc::Status wrong = Complete("not-a-key", request, &response);
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(wrong.error_message(), "invalid API key");
  EXPECT_EQ(CreateSession(nullptr).status().code(), absl::StatusCode::kUnauthenticated);
  grpc::ClientContext info_context;
  v1::ModelInfo info;
  EXPECT_EQ(
      test_.models->GetModelInfo(&info_context, v1::GetModelInfoRequest(), &info).error_code(),
      grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(testing::HealthStatus(*test_.channel), 1);  // SERVING, no key needed.
  EXPECT_TRUE(Complete(kKeyA, request, &response).ok());
}

TEST_F(TenantIsolationTest, AnotherTenantsSessionAnswersExactlyAsANonexistentOne) {
  absl::StatusOr<std::string> session = CreateSession(kKeyA);
  ASSERT_TRUE(session.ok()) << session.status();
  v1::GenerateResponse reply;
  ASSERT_TRUE(Complete(kKeyA, Turn(*session, "mine"), &reply).ok());
  const std::string unknown = "0123456789abcdef0123456789abcdef";

  // Each of B's calls on A's session must answer as the same call on an unknown id does.
  auto expect_like_unknown = [&](auto call, const char* what) {
    const grpc::Status on_a = call(*session);
    const grpc::Status on_unknown = call(unknown);
    EXPECT_EQ(on_a.error_code(), grpc::StatusCode::NOT_FOUND) << what;
    EXPECT_EQ(on_a.error_code(), on_unknown.error_code()) << what;
    std::string message = on_a.error_message();
    const size_t at = message.find(*session);
    ASSERT_NE(at, std::string::npos) << what << ": " << message;
    message.replace(at, session->size(), unknown);
    EXPECT_EQ(message, on_unknown.error_message()) << what;
  };
  expect_like_unknown(
      [&](const std::string& id) {
        grpc::ClientContext context;
        As(context, kKeyB);
        v1::GetSessionRequest request;
        request.set_session_id(id);
        v1::Session out;
        return test_.sessions->GetSession(&context, request, &out);
      },
      "GetSession");
  expect_like_unknown(
      [&](const std::string& id) {
        v1::GenerateResponse out;
        return Complete(kKeyB, Turn(id, "theirs"), &out);
      },
      "turn");
  expect_like_unknown(
      [&](const std::string& id) {
        grpc::ClientContext context;
        As(context, kKeyB);
        v1::ForkSessionRequest request;
        request.set_session_id(id);
        v1::Session out;
        return test_.sessions->ForkSession(&context, request, &out);
      },
      "ForkSession");
  expect_like_unknown(
      [&](const std::string& id) {
        grpc::ClientContext context;
        As(context, kKeyB);
        v1::DeleteSessionRequest request;
        request.set_session_id(id);
        v1::DeleteSessionResponse out;
        return test_.sessions->DeleteSession(&context, request, &out);
      },
      "DeleteSession");
  {
    grpc::ClientContext context;
    As(context, kKeyB);
    v1::ListSessionsResponse listed;
    ASSERT_TRUE(test_.sessions->ListSessions(&context, v1::ListSessionsRequest(), &listed).ok());
    EXPECT_EQ(listed.sessions_size(), 0);
  }
  // A's session is untouched by all of it.
  grpc::ClientContext context;
  As(context, kKeyA);
  v1::GetSessionRequest request;
  request.set_session_id(*session);
  v1::Session mine;
  ASSERT_TRUE(test_.sessions->GetSession(&context, request, &mine).ok());
  EXPECT_EQ(mine.turns(), 1);
}

TEST_F(TenantIsolationTest, IdenticalPromptsOfTwoTenantsNeverShareCachedBlocks) {
  v1::GenerateRequest request;
  request.set_prompt(std::string(200, 's'));  // A shared "system prompt" of many blocks.
  request.set_max_tokens(2);
  request.set_ignore_eos(true);
  v1::GenerateResponse first, again, other;
  ASSERT_TRUE(Complete(kKeyB, request, &first).ok());
  ASSERT_TRUE(Complete(kKeyB, request, &again).ok());
  EXPECT_GT(again.usage().cached_prompt_tokens(), 0);  // B hits its own cache...
  request.set_prompt(std::string(40, 's'));            // (within A's small KV share)
  ASSERT_TRUE(Complete(kKeyB, request, &again).ok());
  EXPECT_GT(again.usage().cached_prompt_tokens(), 0);
  ASSERT_TRUE(Complete(kKeyA, request, &other).ok());
  EXPECT_EQ(other.usage().cached_prompt_tokens(), 0);  // ...A learns nothing from it.
}

TEST_F(TenantIsolationTest, CancelReachesOnlyTheCallersOwnRequests) {
  v1::GenerateRequest request;
  request.set_prompt("a long one");
  request.set_max_tokens(400);
  request.set_ignore_eos(true);
  request.set_request_id("shared-id");
  grpc::ClientContext stream_context;
  As(stream_context, kKeyB);  // B: no max_tokens limit.
  auto stream = test_.inference->Generate(&stream_context, request);
  v1::GenerateResponse message;
  ASSERT_TRUE(stream->Read(&message));

  auto cancel = [&](const char* key) {
    grpc::ClientContext context;
    As(context, key);
    v1::CancelRequest cancel_request;
    cancel_request.set_request_id("shared-id");
    v1::CancelResponse response;
    EXPECT_TRUE(test_.inference->Cancel(&context, cancel_request, &response).ok());
    return response.cancelled();
  };
  EXPECT_FALSE(cancel(kKeyA));
  EXPECT_TRUE(cancel(kKeyB));
  v1::GenerateResponse last;
  while (stream->Read(&message)) last = message;
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_EQ(last.finish_reason(), v1::FINISH_REASON_CANCELLED);
  EXPECT_EQ(last.request_id(), "shared-id");  // The client's id, not the namespaced one.
}

TEST_F(TenantIsolationTest, PerTenantLimitsAnswerResourceExhaustedNamingTheLimit) {
  v1::GenerateRequest request;
  request.set_prompt("x");
  request.set_max_tokens(25);
  v1::GenerateResponse response;
  grpc::Status over = Complete(kKeyA, request, &response);
  EXPECT_EQ(over.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(over.error_message(), HasSubstr("exceeds tenant a's limit of 24 (max_tokens)"));
  request.clear_max_tokens();  // Unset: the tenant's limit is the default.
  request.set_ignore_eos(true);
  ASSERT_TRUE(Complete(kKeyA, request, &response).ok());
  EXPECT_EQ(response.usage().completion_tokens(), 24);
  ASSERT_TRUE(Complete(kKeyB, request, &response).ok());  // B has no such limit.
  EXPECT_GT(response.usage().completion_tokens(), 24);

  ASSERT_TRUE(CreateSession(kKeyA).ok());
  ASSERT_TRUE(CreateSession(kKeyA).ok());
  absl::Status third = CreateSession(kKeyA).status();
  EXPECT_EQ(third.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(third.message(), HasSubstr("tenant a is at its limit of 2 sessions (max_sessions)"));
  EXPECT_TRUE(CreateSession(kKeyB).ok());

  // One request of A in flight (a stream it does not read) holds A's only slot.
  v1::GenerateRequest slow;
  slow.set_prompt("slow");
  slow.set_max_tokens(24);
  slow.set_ignore_eos(true);
  grpc::ClientContext stream_context;
  As(stream_context, kKeyA);
  auto stream = test_.inference->Generate(&stream_context, slow);
  v1::GenerateResponse message;
  ASSERT_TRUE(stream->Read(&message));
  request.set_max_tokens(1);
  grpc::Status busy = Complete(kKeyA, request, &response);
  // The stream may have finished already on a fast machine; then the call is admitted.
  if (!busy.ok()) {
    EXPECT_EQ(busy.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_THAT(busy.error_message(), HasSubstr("tenant a is at its limit of 1 concurrent requests "
                                                "(max_concurrent_requests)"));
  }
  EXPECT_TRUE(Complete(kKeyB, request, &response).ok());
  while (stream->Read(&message)) {
  }
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_TRUE(Complete(kKeyA, request, &response).ok());  // The slot came back.
}

TEST_F(TenantIsolationTest, APromptBeyondTheTenantsKvShareIsRefusedNamingIt) {
  grpc::ClientContext info_context;
  As(info_context, kKeyA);
  v1::ModelInfo info;
  ASSERT_TRUE(test_.models->GetModelInfo(&info_context, v1::GetModelInfoRequest(), &info).ok());
  const int64_t share_blocks = std::max<int64_t>(1, info.kv_blocks_total() / 100);
  const int64_t share_tokens = share_blocks * info.kv_block_size();
  v1::GenerateRequest request;
  request.set_prompt(std::string(share_tokens + 1, 'k'));  // Byte tokens: one per character.
  request.set_max_tokens(4);
  v1::GenerateResponse response;
  grpc::Status over = Complete(kKeyA, request, &response);
  EXPECT_EQ(over.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(over.error_message(),
              HasSubstr(absl::StrCat("KV share of ", share_blocks, " blocks")));
  EXPECT_TRUE(Complete(kKeyB, request, &response).ok());  // B has the whole pool.
  // Within the share A is served, and an unset max_tokens stops where the share ends.
  request.set_prompt(std::string(share_tokens - 8, 'k'));
  request.clear_max_tokens();
  request.set_ignore_eos(true);
  ASSERT_TRUE(Complete(kKeyA, request, &response).ok());
  EXPECT_LE(response.usage().prompt_tokens() + response.usage().completion_tokens(),
            share_tokens + 1);
}

TEST_F(TenantIsolationTest, ReloadedKeysApplyToNewCalls) {
  v1::GenerateRequest request;
  request.set_prompt("x");
  request.set_max_tokens(1);
  v1::GenerateResponse response;
  EXPECT_EQ(Complete("new-key-of-b", request, &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  KeysFile(*dir_, "new-key-of-b");
  ASSERT_TRUE(test_.server->ReloadApiKeys().ok());
  EXPECT_TRUE(Complete("new-key-of-b", request, &response).ok());
  std::ofstream(*dir_ + "/keys.json") << "{broken";
  EXPECT_FALSE(test_.server->ReloadApiKeys().ok());
  EXPECT_TRUE(Complete("new-key-of-b", request, &response).ok());  // The old keys stay.
  KeysFile(*dir_);
}

}  // namespace
}  // namespace minimind
