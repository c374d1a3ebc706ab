// Integration tests of minimind-server's services: an in-process Server on a tiny random model,
// driven through the generated C++ client stubs over a real TCP connection.
#include "service/server.h"

#include <grpcpp/generic/generic_stub.h>
#include <sched.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/service/test_server.h"
#include "tests/support/test_paths.h"

namespace minimind {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;

struct StreamResult {
  std::vector<v1::GenerateResponse> messages;
  grpc::Status status;
  std::string text;
  std::vector<int32_t> token_ids;
  v1::GenerateResponse last;
};

StreamResult ReadAll(grpc::ClientReader<v1::GenerateResponse>& reader) {
  StreamResult result;
  v1::GenerateResponse message;
  while (reader.Read(&message)) {
    result.text += message.text();
    result.token_ids.insert(result.token_ids.end(), message.token_ids().begin(),
                            message.token_ids().end());
    result.messages.push_back(message);
  }
  result.status = reader.Finish();
  if (!result.messages.empty()) result.last = result.messages.back();
  return result;
}

StreamResult Stream(v1::Inference::Stub& stub, const v1::GenerateRequest& request) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  std::unique_ptr<grpc::ClientReader<v1::GenerateResponse>> reader =
      stub.Generate(&context, request);
  return ReadAll(*reader);
}

grpc::Status Complete(v1::Inference::Stub& stub, const v1::GenerateRequest& request,
                      v1::GenerateResponse& response) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  return stub.Complete(&context, request, &response);
}

v1::ModelInfo ModelInfo(v1::Models::Stub& stub) {
  grpc::ClientContext context;
  v1::ModelInfo info;
  const grpc::Status status = stub.GetModelInfo(&context, v1::GetModelInfoRequest(), &info);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return info;
}

// Polls until no KV block is referenced (the engine frees a cancelled request's blocks on its
// next step); returns the last count seen.
int64_t WaitForNoBlocksInUse(v1::Models::Stub& stub) {
  int64_t in_use = -1;
  for (int i = 0; i < 500; ++i) {
    in_use = ModelInfo(stub).kv_blocks_in_use();
    if (in_use == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return in_use;
}

v1::GenerateRequest PromptRequest(const std::string& prompt, int max_tokens, uint64_t seed) {
  v1::GenerateRequest request;
  request.set_prompt(prompt);
  request.set_max_tokens(max_tokens);
  request.set_seed(seed);
  request.set_ignore_eos(true);
  return request;
}

v1::GenerateRequest TurnRequest(const std::string& session_id, const std::string& user,
                                int max_tokens, uint64_t seed) {
  v1::GenerateRequest request;
  request.set_session_id(session_id);
  v1::ChatMessage* message = request.mutable_messages()->add_messages();
  message->set_role("user");
  message->set_content(user);
  request.set_max_tokens(max_tokens);
  request.set_seed(seed);
  request.set_ignore_eos(true);
  return request;
}

class ServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model_dir_ = new std::string(
        (std::filesystem::temp_directory_path() / absl::StrCat("minimind_service_test_", getpid()))
            .string());
    ASSERT_TRUE(testing::WriteTinyModel(*model_dir_).ok());
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*model_dir_);
    delete model_dir_;
  }

  void SetUp() override { Restart(ServerOptions()); }

  void Restart(ServerOptions options) {
    test_ = {};
    options.kv_cache_memory_bytes = 16 << 20;
    absl::StatusOr<testing::TestServer> server = testing::StartTestServer(options, *model_dir_);
    ASSERT_TRUE(server.ok()) << server.status();
    test_ = *std::move(server);
  }

  v1::Session CreateSession(const std::string& system_prompt, int ttl_seconds = 0,
                            v1::ContextOverflow overflow = v1::CONTEXT_OVERFLOW_UNSPECIFIED) {
    grpc::ClientContext context;
    v1::CreateSessionRequest request;
    request.set_system_prompt(system_prompt);
    request.set_context_overflow(overflow);
    if (ttl_seconds > 0) request.mutable_ttl()->set_seconds(ttl_seconds);
    v1::Session session;
    const grpc::Status status = test_.sessions->CreateSession(&context, request, &session);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return session;
  }

  grpc::Status GetSession(const std::string& id, v1::Session& session) {
    grpc::ClientContext context;
    v1::GetSessionRequest request;
    request.set_session_id(id);
    return test_.sessions->GetSession(&context, request, &session);
  }

  v1::Session Fork(const std::string& id) {
    grpc::ClientContext context;
    v1::ForkSessionRequest request;
    request.set_session_id(id);
    v1::Session session;
    const grpc::Status status = test_.sessions->ForkSession(&context, request, &session);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return session;
  }

  static std::string* model_dir_;
  testing::TestServer test_;
};

std::string* ServerTest::model_dir_ = nullptr;

TEST_F(ServerTest, HealthIsNotServingUntilTheModelIsServed) {
  ServerOptions options;
  options.kv_cache_memory_bytes = 16 << 20;
  absl::StatusOr<testing::TestServer> loading = testing::StartTestServer(options, "");
  ASSERT_TRUE(loading.ok()) << loading.status();
  EXPECT_EQ(testing::HealthStatus(*loading->channel), 2);  // NOT_SERVING
  grpc::ClientContext context;
  v1::ModelInfo info;
  const grpc::Status status =
      loading->models->GetModelInfo(&context, v1::GetModelInfoRequest(), &info);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("loading"));

  ModelBundleOptions bundle_options;
  bundle_options.model_path = *model_dir_;
  absl::StatusOr<ModelBundle> bundle = LoadModelBundle(bundle_options);
  ASSERT_TRUE(bundle.ok());
  ASSERT_TRUE(loading->server->ServeModel(*std::move(bundle)).ok());
  EXPECT_EQ(testing::HealthStatus(*loading->channel), 1);  // SERVING

  loading->server->Shutdown(absl::ZeroDuration());
}

TEST_F(ServerTest, ThreadsOptionSizesTheForwardPass) {
  for (int64_t threads : {int64_t{2}, int64_t{0}}) {
    ServerOptions options;
    options.kv_cache_memory_bytes = 16 << 20;
    options.threads = threads;
    absl::StatusOr<testing::TestServer> server = testing::StartTestServer(options, *model_dir_);
    ASSERT_TRUE(server.ok()) << server.status();
    if (threads > 0) {
      EXPECT_EQ(server->server->engine()->forward_threads(), threads);
    } else {  // One per CPU this process may use.
      cpu_set_t cpus;
      ASSERT_EQ(sched_getaffinity(0, sizeof(cpus), &cpus), 0);
      EXPECT_EQ(server->server->engine()->forward_threads(), CPU_COUNT(&cpus));
    }
    server->server->Shutdown(absl::ZeroDuration());
  }
}

TEST_F(ServerTest, ModelInfoDescribesModelAndKvCache) {
  const v1::ModelInfo info = ModelInfo(*test_.models);
  EXPECT_EQ(info.architecture(), "qwen3");
  EXPECT_EQ(info.tokenizer_vocab_size(), 259);
  EXPECT_EQ(info.context_length(), 4096);
  EXPECT_EQ(info.kv_dtype(), "f32");
  EXPECT_EQ(info.kv_block_size(), 16);
  EXPECT_EQ(info.kv_memory_bytes(), 16 << 20);
  EXPECT_GT(info.kv_blocks_total(), 0);
  EXPECT_EQ(info.kv_blocks_in_use(), 0);
  EXPECT_GT(info.parameter_count(), 0);
  EXPECT_TRUE(info.has_chat_template());
}

TEST_F(ServerTest, TokenizeAndDetokenizeRoundTrip) {
  grpc::ClientContext tokenize_context;
  v1::TokenizeRequest tokenize;
  tokenize.set_text("héllo");
  v1::TokenizeResponse tokens;
  ASSERT_TRUE(test_.models->Tokenize(&tokenize_context, tokenize, &tokens).ok());
  EXPECT_THAT(tokens.token_ids(), SizeIs(6));  // Byte-level: one token per UTF-8 byte.

  grpc::ClientContext detokenize_context;
  v1::DetokenizeRequest detokenize;
  *detokenize.mutable_token_ids() = tokens.token_ids();
  v1::DetokenizeResponse text;
  ASSERT_TRUE(test_.models->Detokenize(&detokenize_context, detokenize, &text).ok());
  EXPECT_EQ(text.text(), "héllo");
}

TEST_F(ServerTest, GenerateStreamsAndEndsWithFinishReasonAndUsage) {
  const StreamResult result = Stream(*test_.inference, PromptRequest("hello", 12, 5));
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  ASSERT_FALSE(result.messages.empty());
  EXPECT_THAT(result.token_ids, SizeIs(12));
  EXPECT_EQ(result.last.finish_reason(), v1::FINISH_REASON_LENGTH);
  EXPECT_EQ(result.last.usage().prompt_tokens(), 5);
  EXPECT_EQ(result.last.usage().completion_tokens(), 12);
  EXPECT_GT(result.last.usage().timing().time_to_first_token_seconds(), 0.0);
  EXPECT_FALSE(result.last.request_id().empty());
  for (size_t i = 0; i + 1 < result.messages.size(); ++i) {
    EXPECT_EQ(result.messages[i].finish_reason(), v1::FINISH_REASON_UNSPECIFIED);
    EXPECT_FALSE(result.messages[i].has_usage());
  }
}

TEST_F(ServerTest, UnsetMaxTokensRunsToTheContextLimitInsteadOfFailing) {
  ServerOptions options;
  options.max_context = 64;  // Far below --max-tokens-cap (4096), like the shipped model's 512.
  Restart(options);
  v1::GenerateRequest request = PromptRequest("hello", 1, 5);
  request.clear_max_tokens();
  const StreamResult result = Stream(*test_.inference, request);
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.last.finish_reason(), v1::FINISH_REASON_LENGTH);
  EXPECT_EQ(result.last.usage().prompt_tokens() + result.last.usage().completion_tokens(), 64);

  // A session turn's default is clipped by its whole history; each turn fills the context again.
  // With context_overflow ERROR the history itself finally leaves no room...
  const v1::Session strict = CreateSession("", 0, v1::CONTEXT_OVERFLOW_ERROR);
  EXPECT_EQ(strict.context_overflow(), v1::CONTEXT_OVERFLOW_ERROR);
  v1::GenerateRequest turn = TurnRequest(strict.session_id(), "hi", 1, 7);
  turn.clear_max_tokens();
  v1::GenerateResponse reply;
  ASSERT_TRUE(Complete(*test_.inference, turn, reply).ok());
  EXPECT_EQ(reply.usage().prompt_tokens() + reply.usage().completion_tokens(), 64);
  const grpc::Status full = Complete(*test_.inference, turn, reply);
  EXPECT_EQ(full.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(full.error_message(), HasSubstr("context limit of 64"));

  // ...while a session with the default (TRUNCATE) drops the old turn and goes on.
  const v1::Session session = CreateSession("");
  EXPECT_EQ(session.context_overflow(), v1::CONTEXT_OVERFLOW_TRUNCATE);
  turn.set_session_id(session.session_id());
  ASSERT_TRUE(Complete(*test_.inference, turn, reply).ok());
  EXPECT_EQ(reply.usage().context_dropped_messages(), 0);
  const grpc::Status truncated = Complete(*test_.inference, turn, reply);
  ASSERT_TRUE(truncated.ok()) << truncated.error_message();
  EXPECT_EQ(reply.usage().context_dropped_messages(), 2);
  EXPECT_GT(reply.usage().context_dropped_tokens(), 0);
  EXPECT_TRUE(reply.usage().session_saved());
  v1::Session after;
  ASSERT_TRUE(GetSession(session.session_id(), after).ok());
  EXPECT_EQ(after.messages_size(), 4);
  EXPECT_EQ(after.window_start(), 2);

  // An explicit max_tokens over the room is still the caller's error, stated precisely.
  request.set_max_tokens(100);
  const StreamResult explicit_over = Stream(*test_.inference, request);
  EXPECT_EQ(explicit_over.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(explicit_over.status.error_message(), HasSubstr("max_tokens 100"));
}

TEST_F(ServerTest, CompleteEqualsTheCollectedStream) {
  v1::GenerateRequest request = PromptRequest("the same seed", 16, 42);
  request.set_logprobs(true);
  request.set_top_logprobs(2);
  const StreamResult streamed = Stream(*test_.inference, request);
  ASSERT_TRUE(streamed.status.ok());
  v1::GenerateResponse complete;
  ASSERT_TRUE(Complete(*test_.inference, request, complete).ok());
  EXPECT_EQ(std::vector<int32_t>(complete.token_ids().begin(), complete.token_ids().end()),
            streamed.token_ids);
  EXPECT_EQ(complete.text(), streamed.text);
  ASSERT_EQ(complete.logprobs_size(), 16);
  EXPECT_EQ(complete.logprobs(0).top_logprobs_size(), 2);
  EXPECT_EQ(complete.finish_reason(), v1::FINISH_REASON_LENGTH);
  EXPECT_EQ(complete.usage().completion_tokens(), 16);
}

TEST_F(ServerTest, SlowReaderDoesNotStallTheEngineAndLosesNothing) {
  const int64_t completed_before = test_.server->engine()->Stats().completed;
  grpc::ClientContext context;
  auto reader = test_.inference->Generate(&context, PromptRequest("slow reader", 600, 4));
  // Read nothing until the engine reports the request finished.
  for (int i = 0; i < 1000 && test_.server->engine()->Stats().completed == completed_before; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GT(test_.server->engine()->Stats().completed, completed_before);
  const StreamResult result = ReadAll(*reader);
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_THAT(result.token_ids, SizeIs(600));
  EXPECT_EQ(result.last.usage().completion_tokens(), 600);
}

TEST_F(ServerTest, CancelFromAnotherConnectionStopsTheStreamAndFreesKv) {
  v1::GenerateRequest request = PromptRequest("a long one", 3000, 1);
  request.set_request_id("cancel-me");
  grpc::ClientContext context;
  auto reader = test_.inference->Generate(&context, request);
  v1::GenerateResponse first;
  ASSERT_TRUE(reader->Read(&first));

  auto other = v1::Inference::NewStub(test_.NewChannel());
  grpc::ClientContext cancel_context;
  v1::CancelRequest cancel;
  cancel.set_request_id("cancel-me");
  v1::CancelResponse cancelled;
  ASSERT_TRUE(other->Cancel(&cancel_context, cancel, &cancelled).ok());
  EXPECT_TRUE(cancelled.cancelled());

  StreamResult rest = ReadAll(*reader);
  EXPECT_TRUE(rest.status.ok()) << rest.status.error_message();
  EXPECT_EQ(rest.last.finish_reason(), v1::FINISH_REASON_CANCELLED);
  EXPECT_LT(rest.last.usage().completion_tokens(), 3000);
  EXPECT_EQ(WaitForNoBlocksInUse(*test_.models), 0);

  grpc::ClientContext again_context;
  v1::CancelResponse again;
  ASSERT_TRUE(other->Cancel(&again_context, cancel, &again).ok());
  EXPECT_FALSE(again.cancelled());
}

TEST_F(ServerTest, ClientCancellationFreesKv) {
  grpc::ClientContext context;
  auto reader = test_.inference->Generate(&context, PromptRequest("abandoned", 3000, 2));
  v1::GenerateResponse first;
  ASSERT_TRUE(reader->Read(&first));
  context.TryCancel();
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_EQ(WaitForNoBlocksInUse(*test_.models), 0);
}

TEST_F(ServerTest, DeadlineStopsGenerationAndFreesKv) {
  grpc::ClientContext context;
  // 4000 tokens take several hundred ms even on a fast machine: the deadline comes first.
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(100));
  v1::GenerateResponse response;
  const grpc::Status status =
      test_.inference->Complete(&context, PromptRequest("too slow", 4000, 3), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(WaitForNoBlocksInUse(*test_.models), 0);
  // The engine counted it as cancelled, not completed.
  EXPECT_GE(test_.server->engine()->Stats().cancelled, 1);
}

TEST_F(ServerTest, SessionTurnsReuseTheKvOfPreviousTurns) {
  const v1::Session session = CreateSession("You are terse.");
  ASSERT_EQ(session.session_id().size(), 32u);

  int64_t history = 0;  // Tokens of the previous turns (prompt + reply).
  for (int turn = 0; turn < 3; ++turn) {
    v1::GenerateResponse reply;
    const grpc::Status status =
        Complete(*test_.inference,
                 TurnRequest(session.session_id(), absl::StrCat("turn ", turn), 8, turn), reply);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(reply.session_id(), session.session_id());
    ASSERT_TRUE(reply.usage().has_session_saved());
    EXPECT_TRUE(reply.usage().session_saved()) << reply.usage().session_save_error();
    EXPECT_EQ(reply.usage().session_save_error(), "");
    if (turn == 0) {
      EXPECT_EQ(reply.usage().cached_prompt_tokens(), 0);
    } else {
      // Everything but the previous reply's last token (whose KV is computed by this turn).
      EXPECT_EQ(reply.usage().cached_prompt_tokens(), history - 1) << "turn " << turn;
    }
    EXPECT_GT(reply.usage().prompt_tokens(), history);
    history = reply.usage().prompt_tokens() + reply.usage().completion_tokens();
  }
  v1::Session after;
  ASSERT_TRUE(GetSession(session.session_id(), after).ok());
  EXPECT_EQ(after.turns(), 3);
  ASSERT_EQ(after.messages_size(), 6);
  EXPECT_EQ(after.messages(0).role(), "user");
  EXPECT_EQ(after.messages(0).content(), "turn 0");
  EXPECT_EQ(after.messages(1).role(), "assistant");
  EXPECT_TRUE(after.kv_cached());
  EXPECT_GE(after.num_tokens(), history);
}

TEST_F(ServerTest, ForkSharesKvAndUncachedRunIsBitwiseEqual) {
  const v1::Session parent = CreateSession("Fork me.");
  v1::GenerateResponse first;
  ASSERT_TRUE(
      Complete(*test_.inference, TurnRequest(parent.session_id(), "hello", 10, 9), first).ok());
  const int64_t history = first.usage().prompt_tokens() + first.usage().completion_tokens();

  const v1::Session cached_branch = Fork(parent.session_id());
  const v1::Session fresh_branch = Fork(parent.session_id());
  EXPECT_NE(cached_branch.session_id(), parent.session_id());
  EXPECT_EQ(cached_branch.messages_size(), 2);
  EXPECT_TRUE(cached_branch.kv_cached());

  v1::GenerateRequest request = TurnRequest(cached_branch.session_id(), "next", 12, 77);
  request.set_logprobs(true);
  v1::GenerateResponse with_cache;
  ASSERT_TRUE(Complete(*test_.inference, request, with_cache).ok());
  EXPECT_EQ(with_cache.usage().cached_prompt_tokens(), history - 1);

  request.set_session_id(fresh_branch.session_id());
  request.set_use_cache(false);
  v1::GenerateResponse without_cache;
  ASSERT_TRUE(Complete(*test_.inference, request, without_cache).ok());
  EXPECT_EQ(without_cache.usage().cached_prompt_tokens(), 0);
  EXPECT_EQ(without_cache.usage().prompt_tokens(), with_cache.usage().prompt_tokens());
  EXPECT_EQ(
      std::vector<int32_t>(without_cache.token_ids().begin(), without_cache.token_ids().end()),
      std::vector<int32_t>(with_cache.token_ids().begin(), with_cache.token_ids().end()));
  ASSERT_EQ(without_cache.logprobs_size(), with_cache.logprobs_size());
  for (int i = 0; i < with_cache.logprobs_size(); ++i) {
    // Bitwise: the logprob floats compare equal exactly.
    EXPECT_EQ(without_cache.logprobs(i).logprob(), with_cache.logprobs(i).logprob()) << i;
  }

  // The parent is untouched by its branches.
  v1::Session parent_after;
  ASSERT_TRUE(GetSession(parent.session_id(), parent_after).ok());
  EXPECT_EQ(parent_after.messages_size(), 2);
}

TEST_F(ServerTest, CreateSessionChecksItsLimits) {
  grpc::ClientContext context;
  v1::CreateSessionRequest request;
  request.set_system_prompt(std::string((1 << 20) + 1, 's'));
  v1::Session session;
  grpc::Status status = test_.sessions->CreateSession(&context, request, &session);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr("system_prompt is 1048577 bytes; the limit is 1048576"));

  grpc::ClientContext ttl_context;
  v1::CreateSessionRequest long_ttl;
  long_ttl.mutable_ttl()->set_seconds(48 * 3600);
  status = test_.sessions->CreateSession(&ttl_context, long_ttl, &session);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("session TTL 48h exceeds the maximum of 24h"));
}

TEST_F(ServerTest, ExpiredSessionIsNotFound) {
  const v1::Session session = CreateSession("", /*ttl_seconds=*/1);
  std::this_thread::sleep_for(std::chrono::milliseconds(1300));
  v1::Session got;
  const grpc::Status status = GetSession(session.session_id(), got);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("expired"));

  v1::GenerateResponse reply;
  const grpc::Status turn =
      Complete(*test_.inference, TurnRequest(session.session_id(), "hi", 2, 1), reply);
  EXPECT_EQ(turn.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ServerTest, SessionCapEvictsTheLeastRecentlyUsed) {
  ServerOptions options;
  options.max_sessions = 2;
  Restart(options);
  const v1::Session oldest = CreateSession("a");
  const v1::Session middle = CreateSession("b");
  v1::Session touched;
  ASSERT_TRUE(GetSession(oldest.session_id(), touched).ok());  // Get does not refresh LRU...
  v1::GenerateResponse reply;                                  // ...a turn does.
  ASSERT_TRUE(
      Complete(*test_.inference, TurnRequest(oldest.session_id(), "keep me", 2, 1), reply).ok());
  const v1::Session newest = CreateSession("c");

  v1::Session got;
  const grpc::Status evicted = GetSession(middle.session_id(), got);
  EXPECT_EQ(evicted.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(evicted.error_message(), HasSubstr("evicted"));
  EXPECT_TRUE(GetSession(oldest.session_id(), got).ok());
  EXPECT_TRUE(GetSession(newest.session_id(), got).ok());
}

// A session deleted while its turn runs: the reply arrives whole, and says the turn was not saved
// (the session stays deleted). A stateless call's usage has no session_saved at all.
TEST_F(ServerTest, TurnOfASessionDeletedMeanwhileReportsItWasNotSaved) {
  const v1::Session session = CreateSession("deleted mid-turn");
  grpc::ClientContext context;
  v1::GenerateRequest turn = TurnRequest(session.session_id(), "go", 3000, 1);
  turn.set_ignore_eos(true);
  auto reader = test_.inference->Generate(&context, turn);
  v1::GenerateResponse first;
  ASSERT_TRUE(reader->Read(&first));
  grpc::ClientContext delete_context;
  v1::DeleteSessionRequest remove;
  remove.set_session_id(session.session_id());
  v1::DeleteSessionResponse removed;
  ASSERT_TRUE(test_.sessions->DeleteSession(&delete_context, remove, &removed).ok());
  const StreamResult rest = ReadAll(*reader);
  ASSERT_TRUE(rest.status.ok()) << rest.status.error_message();
  EXPECT_NE(rest.last.finish_reason(), v1::FINISH_REASON_CANCELLED);
  ASSERT_TRUE(rest.last.usage().has_session_saved());
  EXPECT_FALSE(rest.last.usage().session_saved());
  EXPECT_THAT(rest.last.usage().session_save_error(), HasSubstr("deleted"));
  v1::Session after;
  EXPECT_EQ(GetSession(session.session_id(), after).error_code(), grpc::StatusCode::NOT_FOUND);

  v1::GenerateRequest stateless;
  stateless.set_prompt("hello");
  stateless.set_max_tokens(2);
  v1::GenerateResponse reply;
  ASSERT_TRUE(Complete(*test_.inference, stateless, reply).ok());
  EXPECT_FALSE(reply.usage().has_session_saved());
}

TEST_F(ServerTest, ConcurrentTurnOnBusySessionIsAbortedAndCancelledTurnLeavesNoTrace) {
  const v1::Session session = CreateSession("busy");
  v1::GenerateRequest long_turn = TurnRequest(session.session_id(), "talk a lot", 3000, 1);
  long_turn.set_request_id("long-turn");
  grpc::ClientContext context;
  auto reader = test_.inference->Generate(&context, long_turn);
  v1::GenerateResponse first;
  ASSERT_TRUE(reader->Read(&first));

  v1::GenerateResponse second;
  const grpc::Status busy =
      Complete(*test_.inference, TurnRequest(session.session_id(), "me too", 2, 1), second);
  EXPECT_EQ(busy.error_code(), grpc::StatusCode::ABORTED);

  grpc::ClientContext cancel_context;
  v1::CancelRequest cancel;
  cancel.set_request_id("long-turn");
  v1::CancelResponse cancelled;
  ASSERT_TRUE(test_.inference->Cancel(&cancel_context, cancel, &cancelled).ok());
  const StreamResult rest = ReadAll(*reader);
  EXPECT_EQ(rest.last.finish_reason(), v1::FINISH_REASON_CANCELLED);
  ASSERT_TRUE(rest.last.usage().has_session_saved());
  EXPECT_FALSE(rest.last.usage().session_saved());
  EXPECT_THAT(rest.last.usage().session_save_error(), HasSubstr("cancelled"));

  v1::Session after;
  ASSERT_TRUE(GetSession(session.session_id(), after).ok());
  EXPECT_EQ(after.turns(), 0);
  EXPECT_EQ(after.messages_size(), 0);
  EXPECT_FALSE(after.busy());
  // The session is usable again.
  v1::GenerateResponse again;
  EXPECT_TRUE(
      Complete(*test_.inference, TurnRequest(session.session_id(), "now", 2, 1), again).ok());
}

struct BadInput {
  std::string name;
  v1::GenerateRequest request;
  grpc::StatusCode code;
  std::string message;
};

TEST_F(ServerTest, BadInputsGetPreciseCodesAndMessages) {
  std::vector<BadInput> cases;
  cases.push_back({"no input", v1::GenerateRequest(), grpc::StatusCode::INVALID_ARGUMENT,
                   "input is empty: set prompt, token_ids or messages"});
  {
    v1::GenerateRequest request;
    request.set_prompt("");
    cases.push_back({"empty prompt", request, grpc::StatusCode::INVALID_ARGUMENT,
                     "input is empty: prompt is \"\""});
  }
  {
    v1::GenerateRequest request;
    v1::ChatMessage* message = request.mutable_messages()->add_messages();
    message->set_role("wizard");
    message->set_content("hi");
    cases.push_back({"unknown role", request, grpc::StatusCode::INVALID_ARGUMENT,
                     "messages[0].role \"wizard\" is unknown"});
  }
  {
    v1::GenerateRequest request = PromptRequest("hi", 2, 1);
    request.set_temperature(-1.0f);
    cases.push_back({"temperature", request, grpc::StatusCode::INVALID_ARGUMENT, "temperature"});
  }
  {
    v1::GenerateRequest request = PromptRequest("hi", 2, 1);
    request.set_top_p(0.0f);
    cases.push_back({"top_p", request, grpc::StatusCode::INVALID_ARGUMENT, "top_p"});
  }
  {
    v1::GenerateRequest request = PromptRequest("hi", 5000, 1);
    cases.push_back({"max_tokens", request, grpc::StatusCode::INVALID_ARGUMENT,
                     "max_tokens must be in [1, 4096], got 5000"});
  }
  {
    v1::GenerateRequest request = TurnRequest("0123456789abcdef0123456789abcdef", "hi", 2, 1);
    cases.push_back({"unknown session", request, grpc::StatusCode::NOT_FOUND, "session"});
  }
  {
    v1::GenerateRequest request = PromptRequest(std::string(40000, 'x'), 2, 1);
    cases.push_back({"oversize prompt", request, grpc::StatusCode::INVALID_ARGUMENT,
                     "prompt is 40000 tokens; the limit is 32768"});
  }
  {
    v1::GenerateRequest request;
    request.mutable_token_ids()->add_ids(259);
    cases.push_back({"token id", request, grpc::StatusCode::INVALID_ARGUMENT,
                     "token_ids[0] = 259 is outside the vocabulary [0, 259)"});
  }
  for (const BadInput& bad : cases) {
    v1::GenerateResponse response;
    const grpc::Status unary = Complete(*test_.inference, bad.request, response);
    EXPECT_EQ(unary.error_code(), bad.code) << bad.name << ": " << unary.error_message();
    EXPECT_THAT(unary.error_message(), HasSubstr(bad.message)) << bad.name;
    const StreamResult streamed = Stream(*test_.inference, bad.request);
    EXPECT_EQ(streamed.status.error_code(), bad.code) << bad.name;
    EXPECT_TRUE(streamed.messages.empty()) << bad.name;
  }
}

// Requests are parsed leniently (proto/lenient_parse.h): invalid UTF-8 in any text field reaches
// the service, which answers INVALID_ARGUMENT naming the field and the first bad byte, before the
// engine is involved. The C++ client sends such bytes (protobuf only logs them).
class InvalidUtf8Test : public ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    steps_before_ = test_.server->engine()->Stats().steps;
  }
  void TearDown() override {
    EXPECT_EQ(test_.server->engine()->Stats().steps, steps_before_) << "the engine ran";
    EXPECT_EQ(WaitForNoBlocksInUse(*test_.models), 0);
  }

  // Complete and Generate both reject `request` with `message`.
  void ExpectGenerateRejected(const v1::GenerateRequest& request, const std::string& message) {
    v1::GenerateResponse response;
    const grpc::Status unary = Complete(*test_.inference, request, response);
    EXPECT_EQ(unary.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << unary.error_message();
    EXPECT_EQ(unary.error_message(), message);
    EXPECT_EQ(response.token_ids_size(), 0);
    const StreamResult streamed = Stream(*test_.inference, request);
    EXPECT_EQ(streamed.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << streamed.status.error_message();
    EXPECT_EQ(streamed.status.error_message(), message);
    EXPECT_TRUE(streamed.messages.empty());
  }

  int64_t steps_before_ = 0;
};

TEST_F(InvalidUtf8Test, PromptIsInvalidArgument) {
  ExpectGenerateRejected(PromptRequest("ab\xff", 4, 1),
                         "prompt is not valid UTF-8 (first bad byte at offset 2)");
}

TEST_F(InvalidUtf8Test, MessageFieldsAreInvalidArgument) {
  v1::GenerateRequest request = PromptRequest("", 4, 1);
  v1::ChatMessage* first = request.mutable_messages()->add_messages();
  first->set_role("system");
  first->set_content("fine");
  v1::ChatMessage* second = request.mutable_messages()->add_messages();
  second->set_role("user");
  second->set_content("bad \xC3\x28 byte");
  ExpectGenerateRejected(request,
                         "messages[1].content is not valid UTF-8 (first bad byte at offset 4)");
  second->set_content("ok");
  second->set_reasoning_content("\x80");
  ExpectGenerateRejected(request,
                         "messages[1].reasoning_content is not valid UTF-8 (first bad byte at "
                         "offset 0)");
  second->set_role("us\xe9r");
  ExpectGenerateRejected(request,
                         "messages[1].role is not valid UTF-8 (first bad byte at offset 2)");
}

TEST_F(InvalidUtf8Test, SessionTurnContentIsInvalidArgument) {
  const v1::Session session = CreateSession("be brief");
  ExpectGenerateRejected(TurnRequest(session.session_id(), "\xf0\x9f\x98", 4, 1),
                         "messages[0].content is not valid UTF-8 (first bad byte at offset 0)");
  v1::Session after;
  ASSERT_TRUE(GetSession(session.session_id(), after).ok());
  EXPECT_EQ(after.turns(), 0);
  EXPECT_FALSE(after.busy());
}

TEST_F(InvalidUtf8Test, StopStringAndIdsAreInvalidArgument) {
  v1::GenerateRequest request = PromptRequest("hi", 4, 1);
  request.add_stop("fine");
  request.add_stop("x\xff");
  ExpectGenerateRejected(request, "stop[1] is not valid UTF-8 (byte offset 1)");
  request = PromptRequest("hi", 4, 1);
  request.set_request_id("id\xff");
  ExpectGenerateRejected(request, "request_id must be printable ASCII without spaces");
  request = PromptRequest("hi", 4, 1);
  request.set_session_id("\xff");
  ExpectGenerateRejected(request, "session_id must be printable ASCII without spaces");

  grpc::ClientContext context;
  v1::CancelRequest cancel;
  cancel.set_request_id("r\xc3");
  v1::CancelResponse cancelled;
  const grpc::Status status = test_.inference->Cancel(&context, cancel, &cancelled);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "request_id is not valid UTF-8 (first bad byte at offset 1)");
}

TEST_F(InvalidUtf8Test, TokenizeTextIsInvalidArgument) {
  for (const bool parse_special : {true, false}) {
    grpc::ClientContext context;
    v1::TokenizeRequest request;
    request.set_text("abc\xfe");
    request.set_parse_special(parse_special);
    v1::TokenizeResponse response;
    const grpc::Status status = test_.models->Tokenize(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(status.error_message(), "text is not valid UTF-8 (first bad byte at offset 3)");
  }
  grpc::ClientContext context;
  v1::TokenizeRequest request;
  v1::ChatMessage* message = request.mutable_messages()->add_messages();
  message->set_role("user");
  message->set_content("\xff");
  v1::TokenizeResponse response;
  const grpc::Status status = test_.models->Tokenize(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "messages[0].content is not valid UTF-8 (first bad byte at offset 0)");
}

TEST_F(InvalidUtf8Test, SessionFieldsAreInvalidArgument) {
  struct Case {
    v1::CreateSessionRequest request;
    std::string message;
  };
  std::vector<Case> cases(3);
  cases[0].request.set_system_prompt("be \xff");
  cases[0].message = "system_prompt is not valid UTF-8 (first bad byte at offset 3)";
  (*cases[1].request.mutable_labels())["k\xff"] = "v";
  cases[1].message = "a labels key is not valid UTF-8 (first bad byte at offset 1)";
  (*cases[2].request.mutable_labels())["team"] = "\xc3";
  cases[2].message = "labels[\"team\"] is not valid UTF-8 (first bad byte at offset 0)";
  for (const Case& bad : cases) {
    grpc::ClientContext context;
    v1::Session session;
    const grpc::Status status = test_.sessions->CreateSession(&context, bad.request, &session);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(status.error_message(), bad.message);
  }

  const std::string bad_id = "0123\xff";
  const std::string id_message = "session_id is not valid UTF-8 (first bad byte at offset 4)";
  v1::Session session;
  grpc::Status status = GetSession(bad_id, session);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), id_message);
  {
    grpc::ClientContext context;
    v1::ForkSessionRequest request;
    request.set_session_id(bad_id);
    status = test_.sessions->ForkSession(&context, request, &session);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(status.error_message(), id_message);
  }
  {
    grpc::ClientContext context;
    v1::DeleteSessionRequest request;
    request.set_session_id(bad_id);
    v1::DeleteSessionResponse response;
    status = test_.sessions->DeleteSession(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(status.error_message(), id_message);
  }
  {
    grpc::ClientContext context;
    v1::ListSessionsRequest request;
    request.set_page_token("\xff");
    v1::ListSessionsResponse response;
    status = test_.sessions->ListSessions(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(status.error_message(), "page_token is not valid UTF-8 (first bad byte at offset 0)");
  }
}

// Bytes that are not a GenerateRequest at all: INVALID_ARGUMENT naming the type (gRPC alone would
// answer UNIMPLEMENTED with no message).
TEST_F(InvalidUtf8Test, MalformedRequestBytesAreInvalidArgument) {
  grpc::GenericStub stub(test_.channel);
  for (const std::string method :
       {"/minimind.v1.Inference/Complete", "/minimind.v1.Models/Tokenize",
        "/minimind.v1.Sessions/CreateSession"}) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Slice bytes(
        std::string("\x12\x05"
                    "ab",
                    4));  // field 2 claims 5 bytes, 2 follow
    grpc::ByteBuffer request(&bytes, 1);
    grpc::ByteBuffer response;
    std::promise<grpc::Status> done;
    stub.UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                   [&done](grpc::Status status) { done.set_value(std::move(status)); });
    const grpc::Status status = done.get_future().get();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << method;
    EXPECT_THAT(status.error_message(), HasSubstr(": malformed protobuf wire format (4 bytes)"))
        << method;
    EXPECT_THAT(status.error_message(), HasSubstr("request is not a valid minimind.v1.")) << method;
  }
}

}  // namespace
}  // namespace minimind
