#include "service/sessions/redis_session_store.h"

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/service/sessions/fake_kv.h"
#include "tests/service/sessions/redis_server.h"

namespace minimind {
namespace {

using ::testing::HasSubstr;

// Each test gets its own redis-server; two stores on it are two replicas.
class RedisSessionStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!RedisServerInstalled()) {
      GTEST_SKIP() << kRedisServerPath << " is not installed (apt-get install redis-server)";
    }
    absl::StatusOr<std::unique_ptr<RedisServer>> server = RedisServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  RedisSessionStoreOptions Options() {
    RedisSessionStoreOptions options;
    options.sessions = TestOptions(clock_);
    options.address.host = "127.0.0.1";
    options.address.port = server_->port();
    options.key_prefix =
        absl::StrCat("test:", ::testing::UnitTest::GetInstance()->current_test_info()->name(), ":");
    options.connect_timeout = absl::Milliseconds(500);
    options.command_timeout = absl::Milliseconds(500);
    options.commit_deadline = absl::Seconds(1);
    return options;
  }

  std::unique_ptr<RedisSessionStore> MakeStore(RedisSessionStoreOptions options) {
    absl::StatusOr<std::unique_ptr<RedisSessionStore>> store =
        RedisSessionStore::Make(std::move(options));
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }
  std::unique_ptr<RedisSessionStore> MakeStore() { return MakeStore(Options()); }

  std::string CreateSession(SessionStore& store, absl::string_view owner = "alice",
                            absl::Duration ttl = absl::ZeroDuration()) {
    absl::StatusOr<SessionSnapshot> session = store.Create(owner, "be brief", ttl, {});
    EXPECT_TRUE(session.ok()) << session.status();
    return session.ok() ? session->id : "";
  }

  // BeginTurn on `store` until it succeeds (the session's lease freed) or `within` passed.
  static absl::StatusOr<TurnLease> BeginTurnWithin(SessionStore& store, const std::string& id,
                                                   absl::Duration within) {
    absl::StatusOr<TurnLease> lease = absl::AbortedError("not tried");
    const absl::Time deadline = absl::Now() + within;
    while (!lease.ok() && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(20));
      lease = store.BeginTurn(id, "alice");
    }
    return lease;
  }

  // One committed turn: appends a user and an assistant message and three tokens, sets the KV.
  void CommitTurn(SessionStore& store, const std::string& id, std::shared_ptr<const KvHandle> kv,
                  absl::string_view owner = "alice") {
    absl::StatusOr<TurnLease> lease = store.BeginTurn(id, owner);
    ASSERT_TRUE(lease.ok()) << lease.status();
    std::vector<int32_t> tokens = lease->snapshot().tokens;
    tokens.insert(tokens.end(), {1, 2, 3});
    absl::Status status = lease->Commit({Message("user", "hi"), Message("assistant", "hello")},
                                        std::move(tokens), std::move(kv));
    ASSERT_TRUE(status.ok()) << status;
  }

  ManualClock clock_;
  std::unique_ptr<RedisServer> server_;
};

TEST_F(RedisSessionStoreTest, MakeValidatesOptionsButNotRedis) {
  RedisSessionStoreOptions options = Options();
  options.sessions.max_sessions = 0;
  EXPECT_THAT(RedisSessionStore::Make(options).status().message(), HasSubstr("max_sessions"));
  options = Options();
  options.address.port = 70000;
  EXPECT_THAT(RedisSessionStore::Make(options).status().message(), HasSubstr("port"));
  options = Options();
  options.key_prefix = "";
  EXPECT_THAT(RedisSessionStore::Make(options).status().message(), HasSubstr("prefix"));
  options = Options();
  options.lease = absl::ZeroDuration();
  EXPECT_THAT(RedisSessionStore::Make(options).status().message(), HasSubstr("lease"));
  options = Options();
  options.command_timeout = absl::ZeroDuration();
  EXPECT_EQ(RedisSessionStore::Make(options).status().code(), absl::StatusCode::kInvalidArgument);

  // Nothing listens there: Make succeeds, calls say Redis is unavailable.
  server_->Kill();
  auto store = MakeStore();
  ASSERT_NE(store, nullptr);
  absl::Status status = store->Create("alice", "", absl::ZeroDuration(), {}).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(status.message(),
              HasSubstr(absl::StrCat(
                  "session store unavailable: redis at 127.0.0.1:", server_->port(), ": ")));
}

TEST_F(RedisSessionStoreTest, CreateGetTouchDelete) {
  auto store = MakeStore();
  const absl::Time start = clock_.Now();
  absl::StatusOr<SessionSnapshot> created =
      store->Create("alice", "be brief", absl::ZeroDuration(), {{"app", "cli"}, {"ü", "ß"}});
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->id.size(), 32u);
  EXPECT_EQ(created->ttl, absl::Seconds(60));
  EXPECT_EQ(created->created, start);
  EXPECT_EQ(created->expires, start + absl::Seconds(60));

  clock_.Advance(absl::Seconds(5));
  absl::StatusOr<SessionSnapshot> got = store->Get(created->id, "alice");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->id, created->id);
  EXPECT_EQ(got->owner, "alice");
  EXPECT_EQ(got->system_prompt, "be brief");
  EXPECT_EQ(got->labels, (SessionLabels{{"app", "cli"}, {"ü", "ß"}}));
  EXPECT_TRUE(got->messages.empty());
  EXPECT_TRUE(got->tokens.empty());
  EXPECT_EQ(got->kv, nullptr);
  EXPECT_FALSE(got->busy);
  EXPECT_EQ(got->turns, 0);
  EXPECT_EQ(got->created, start);
  EXPECT_EQ(got->last_used, start);  // Get does not refresh the TTL

  ASSERT_TRUE(store->Touch(created->id, "alice").ok());
  got = store->Get(created->id, "alice");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->last_used, start + absl::Seconds(5));
  EXPECT_EQ(got->expires, start + absl::Seconds(65));
  // Ids are accepted in either case.
  std::string upper = created->id;
  for (char& c : upper) c = static_cast<char>(toupper(c));
  EXPECT_TRUE(store->Get(upper, "alice").ok());

  EXPECT_EQ(store->stats().sessions, 1);
  EXPECT_EQ(store->stats().created, 1);
  ASSERT_TRUE(store->Delete(created->id, "alice").ok());
  absl::Status status = store->Get(created->id, "alice").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("was deleted"));
  EXPECT_THAT(store->Delete(created->id, "alice").message(), HasSubstr("was deleted"));
  // Only the owner learns why: to anyone else the id never existed.
  EXPECT_EQ(store->Get(created->id, "mallory").status().message(),
            absl::StrCat("session ", created->id, " not found"));
  EXPECT_EQ(store->stats().sessions, 0);
  EXPECT_EQ(store->stats().deleted, 1);
}

TEST_F(RedisSessionStoreTest, TheDbOfTheAddressSeparatesStores) {
  RedisSessionStoreOptions options = Options();
  auto db0 = MakeStore(options);
  options.address.db = 1;
  auto db1 = MakeStore(options);
  const std::string id = CreateSession(*db1);
  EXPECT_TRUE(db1->Get(id, "alice").ok());
  EXPECT_THAT(db0->Get(id, "alice").status().message(), HasSubstr("not found"));
  EXPECT_EQ(db0->stats().sessions, 0);
  EXPECT_EQ(db1->stats().sessions, 1);
  options.address.db = 100000;  // beyond the server's databases
  EXPECT_EQ(MakeStore(options)->Create("alice", "", absl::ZeroDuration(), {}).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(RedisSessionStoreTest, CreateValidatesTtlAndLabels) {
  auto store = MakeStore();
  absl::Status too_long = store->Create("a", "", absl::Hours(2), {}).status();
  EXPECT_EQ(too_long.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(too_long.message(), HasSubstr("exceeds the maximum of 1h"));
  EXPECT_EQ(store->Create("a", "", absl::Seconds(-1), {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<SessionSnapshot> custom = store->Create("a", "", absl::Seconds(7), {});
  ASSERT_TRUE(custom.ok());
  EXPECT_EQ(custom->ttl, absl::Seconds(7));
  EXPECT_EQ(store->Get(custom->id, "a")->ttl, absl::Seconds(7));

  SessionLabels many;
  for (int i = 0; i < 65; ++i) many.emplace(absl::StrCat("k", i), std::string(1, 'v'));
  EXPECT_THAT(store->Create("a", "", absl::ZeroDuration(), many).status().message(),
              HasSubstr("at most 64 labels"));
  EXPECT_THAT(store->Create("a", "", absl::ZeroDuration(), {{"", "v"}}).status().message(),
              HasSubstr("empty key"));
  EXPECT_THAT(store->Create("a", "", absl::ZeroDuration(), {{"k", std::string(300, 'x')}})
                  .status()
                  .message(),
              HasSubstr("at most 256 bytes"));
  EXPECT_EQ(store->stats().sessions, 1);
}

TEST_F(RedisSessionStoreTest, UnknownMalformedAndForeignIds) {
  auto store = MakeStore();
  const std::string id = CreateSession(*store, "alice");
  absl::Status unknown = store->Get("00000000000000000000000000000001", "alice").status();
  EXPECT_EQ(unknown.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(unknown.message(), HasSubstr("not found"));
  EXPECT_EQ(store->Get("xyz", "alice").status().code(), absl::StatusCode::kInvalidArgument);
  // Another owner's session answers exactly as an id that never existed.
  absl::Status foreign = store->Get(id, "mallory").status();
  EXPECT_EQ(foreign.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(foreign.message(), absl::StrCat("session ", id, " not found"));
  EXPECT_EQ(store->Touch(id, "mallory").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->Delete(id, "mallory").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->BeginTurn(id, "mallory").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->Fork(id, "mallory", std::nullopt).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(store->Get(id, "alice").ok());
  EXPECT_EQ(store->List("mallory", 0, "")->sessions.size(), 0u);
  EXPECT_TRUE(store->BeginTurn(id, "alice").ok());  // mallory's attempt left no lease behind
}

TEST_F(RedisSessionStoreTest, TurnsStoreTheExactTranscriptAndTokens) {
  auto store = MakeStore();
  const std::string id = CreateSession(*store);
  absl::StatusOr<TurnLease> lease = store->BeginTurn(id, "alice");
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_TRUE(lease->snapshot().busy);
  EXPECT_TRUE(store->Get(id, "alice")->busy);
  ChatMessage user = Message("user", "line one\nline \"two\" \xe2\x9c\x93");
  ChatMessage assistant;
  assistant.role = "assistant";  // content stays null
  assistant.reasoning_content = "";
  assistant.tool_calls = {ToolCall{"search", "{\"q\": \"x\"}", true}, ToolCall{"noop", "", false}};
  ChatMessage tool = Message("tool", "");
  const std::vector<int32_t> tokens = {0, -1, 2147483647, -2147483647 - 1, 6400, 10};
  auto kv = MakeFakeKv(3);
  ASSERT_TRUE(lease->Commit({user, assistant, tool}, tokens, kv).ok());

  absl::StatusOr<SessionSnapshot> got = store->Get(id, "alice");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_FALSE(got->busy);
  EXPECT_EQ(got->turns, 1);
  EXPECT_EQ(got->tokens, tokens);
  EXPECT_EQ(got->num_tokens, 6);
  ASSERT_EQ(got->messages.size(), 3u);
  EXPECT_EQ(got->num_messages, 3);
  EXPECT_EQ(got->messages[0].role, "user");
  EXPECT_EQ(got->messages[0].content, user.content);
  EXPECT_FALSE(got->messages[1].content.has_value());
  EXPECT_EQ(got->messages[1].reasoning_content, std::optional<std::string>(""));
  ASSERT_EQ(got->messages[1].tool_calls.size(), 2u);
  EXPECT_EQ(got->messages[1].tool_calls[0].name, "search");
  EXPECT_EQ(got->messages[1].tool_calls[0].arguments, "{\"q\": \"x\"}");
  EXPECT_TRUE(got->messages[1].tool_calls[0].arguments_is_json);
  EXPECT_FALSE(got->messages[1].tool_calls[1].arguments_is_json);
  EXPECT_EQ(got->messages[2].content, std::optional<std::string>(""));
  EXPECT_FALSE(got->messages[2].reasoning_content.has_value());
  EXPECT_EQ(got->kv.get(), kv.get());  // this replica made the KV
  EXPECT_EQ(got->kv_blocks, 3);
  EXPECT_EQ(store->stats().pinned_kv_blocks, 3);

  // A released lease changes nothing but last_used; a committed one cannot commit again.
  clock_.Advance(absl::Seconds(2));
  {
    absl::StatusOr<TurnLease> released = store->BeginTurn(id, "alice");
    ASSERT_TRUE(released.ok());
  }
  got = store->Get(id, "alice");
  EXPECT_EQ(got->turns, 1);
  EXPECT_EQ(got->messages.size(), 3u);
  EXPECT_FALSE(got->busy);
  EXPECT_EQ(got->last_used, clock_.Now());
  EXPECT_EQ(lease->Commit({}, {}, nullptr).code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(RedisSessionStoreTest, AnotherReplicaContinuesTheSessionWithoutKv) {
  auto replica_a = MakeStore();
  auto replica_b = MakeStore();
  const std::string id = CreateSession(*replica_a);
  auto kv_a = MakeFakeKv(4);
  CommitTurn(*replica_a, id, kv_a);

  absl::StatusOr<SessionSnapshot> on_b = replica_b->Get(id, "alice");
  ASSERT_TRUE(on_b.ok()) << on_b.status();
  EXPECT_EQ(on_b->messages.size(), 2u);
  EXPECT_EQ(on_b->tokens, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(on_b->turns, 1);
  EXPECT_EQ(on_b->kv, nullptr);  // B never had this KV: the service prefills again
  EXPECT_EQ(replica_a->Get(id, "alice")->kv.get(), kv_a.get());

  CommitTurn(*replica_b, id, MakeFakeKv(5));
  absl::StatusOr<SessionSnapshot> on_a = replica_a->Get(id, "alice");
  ASSERT_TRUE(on_a.ok());
  EXPECT_EQ(on_a->messages.size(), 4u);
  EXPECT_EQ(on_a->tokens, (std::vector<int32_t>{1, 2, 3, 1, 2, 3}));
  EXPECT_EQ(on_a->turns, 2);
  EXPECT_EQ(on_a->kv, nullptr);  // A's KV covers the old history: dropped, not reused
  EXPECT_EQ(replica_a->stats().sessions_with_kv, 0);
  EXPECT_NE(replica_b->Get(id, "alice")->kv, nullptr);
  EXPECT_EQ(replica_a->stats().sessions, 1);
  EXPECT_EQ(replica_b->stats().sessions, 1);
  EXPECT_EQ(replica_b->stats().created, 0);  // counters are per replica
}

TEST_F(RedisSessionStoreTest, ConcurrentTurnsAcrossReplicasAreAborted) {
  auto replica_a = MakeStore();
  auto replica_b = MakeStore();
  const std::string id = CreateSession(*replica_a);
  absl::StatusOr<TurnLease> lease = replica_a->BeginTurn(id, "alice");
  ASSERT_TRUE(lease.ok());
  for (SessionStore* store : {replica_b.get(), replica_a.get()}) {
    absl::Status busy = store->BeginTurn(id, "alice").status();
    EXPECT_EQ(busy.code(), absl::StatusCode::kAborted);
    EXPECT_THAT(busy.message(),
                HasSubstr(absl::StrCat("session ", id, " is busy: another turn is in progress")));
  }
  EXPECT_TRUE(replica_b->Get(id, "alice")->busy);
  // Another owner learns nothing about the turn, on either replica.
  EXPECT_EQ(replica_a->BeginTurn(id, "mallory").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(replica_b->BeginTurn(id, "mallory").status().code(), absl::StatusCode::kNotFound);
  lease->Release();
  absl::StatusOr<TurnLease> on_b = replica_b->BeginTurn(id, "alice");
  ASSERT_TRUE(on_b.ok()) << on_b.status();
  ASSERT_TRUE(on_b->Commit({Message("user", "from b")}, {7}, nullptr).ok());
  EXPECT_EQ(replica_a->Get(id, "alice")->messages.at(0).content, "from b");
}

TEST_F(RedisSessionStoreTest, ThreadsOnTwoReplicasNeverOverlapTurns) {
  auto replica_a = MakeStore();
  auto replica_b = MakeStore();
  const std::string id = CreateSession(*replica_a);
  std::atomic<int> inside{0}, overlaps{0}, committed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    SessionStore* store = t % 2 == 0 ? replica_a.get() : replica_b.get();
    threads.emplace_back([&, store] {
      for (int i = 0; i < 100; ++i) {
        absl::StatusOr<TurnLease> lease = store->BeginTurn(id, "alice");
        if (!lease.ok()) {
          EXPECT_EQ(lease.status().code(), absl::StatusCode::kAborted) << lease.status();
          continue;
        }
        if (inside.fetch_add(1) != 0) overlaps.fetch_add(1);
        std::vector<int32_t> tokens = lease->snapshot().tokens;
        tokens.push_back(static_cast<int32_t>(tokens.size()));
        inside.fetch_sub(1);
        if (i % 2 == 0) {
          EXPECT_TRUE(lease->Commit({Message("user", "x")}, std::move(tokens), nullptr).ok());
          committed.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(overlaps.load(), 0);
  absl::StatusOr<SessionSnapshot> session = replica_b->Get(id, "alice");
  ASSERT_TRUE(session.ok());
  EXPECT_GT(committed.load(), 0);
  EXPECT_EQ(session->turns, committed.load());
  ASSERT_EQ(session->tokens.size(), static_cast<size_t>(committed.load()));
  for (size_t i = 0; i < session->tokens.size(); ++i) EXPECT_EQ(session->tokens[i], i);
  EXPECT_FALSE(session->busy);
}

// A replica restarted under its name (a crashed StatefulSet pod, or kill -9 and restart in place)
// frees at once the sessions its predecessor left mid-turn, instead of after the lease; a
// replica of another name still waits for the lease, and the dead process's commit cannot land.
TEST_F(RedisSessionStoreTest, ARestartedReplicaReleasesItsPredecessorsLeases) {
  RedisSessionStoreOptions options = Options();
  options.lease = absl::Seconds(30);
  options.lease_owner = "host-a:50051";
  auto crashed = MakeStore(options);
  const std::string id = CreateSession(*crashed);
  absl::StatusOr<TurnLease> stuck = crashed->BeginTurn(id, "alice");
  ASSERT_TRUE(stuck.ok());
  crashed->StopHeartbeatForTesting();  // crashed mid-turn: its lease would stay for 30 s

  RedisSessionStoreOptions other_options = options;
  other_options.lease_owner = "host-b:50051";
  auto other = MakeStore(other_options);
  absl::SleepFor(absl::Milliseconds(300));  // its heartbeat's first round has run
  EXPECT_EQ(other->BeginTurn(id, "alice").status().code(), absl::StatusCode::kAborted);

  auto restarted = MakeStore(options);  // the same name
  absl::StatusOr<TurnLease> taken = BeginTurnWithin(*restarted, id, absl::Seconds(5));
  ASSERT_TRUE(taken.ok()) << taken.status();
  // Its own lease stays (the release spares this process's tokens).
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(other->BeginTurn(id, "alice").status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(stuck->Commit({Message("user", "late")}, {1}, nullptr).code(),
            absl::StatusCode::kAborted);
  ASSERT_TRUE(taken->Commit({Message("user", "after the restart")}, {2}, nullptr).ok());
  absl::StatusOr<SessionSnapshot> session = other->Get(id, "alice");
  ASSERT_TRUE(session.ok()) << session.status();
  ASSERT_EQ(session->messages.size(), 1u);
  EXPECT_EQ(session->messages[0].content, "after the restart");
}

TEST_F(RedisSessionStoreTest, AnExpiredLeaseLetsAnotherReplicaTakeOver) {
  RedisSessionStoreOptions options = Options();
  options.lease = absl::Milliseconds(300);
  auto replica_a = MakeStore(options);
  auto replica_b = MakeStore(options);
  const std::string id = CreateSession(*replica_a);
  absl::StatusOr<TurnLease> stuck = replica_a->BeginTurn(id, "alice");
  ASSERT_TRUE(stuck.ok());
  // The heartbeat keeps a live replica's lease beyond its duration.
  absl::SleepFor(absl::Milliseconds(700));
  EXPECT_EQ(replica_b->BeginTurn(id, "alice").status().code(), absl::StatusCode::kAborted);

  replica_a->StopHeartbeatForTesting();  // A hangs (or crashed) mid-turn
  absl::StatusOr<TurnLease> taken = BeginTurnWithin(*replica_b, id, absl::Seconds(2));
  ASSERT_TRUE(taken.ok()) << taken.status();
  // A's late commit must not overwrite B's turn.
  absl::Status late = stuck->Commit({Message("user", "from a")}, {1}, MakeFakeKv(1));
  EXPECT_EQ(late.code(), absl::StatusCode::kAborted);
  EXPECT_THAT(late.message(), HasSubstr("lease expired"));
  EXPECT_EQ(replica_a->stats().sessions_with_kv, 0);
  ASSERT_TRUE(taken->Commit({Message("user", "from b")}, {2}, nullptr).ok());
  absl::StatusOr<SessionSnapshot> session = replica_a->Get(id, "alice");
  ASSERT_TRUE(session.ok());
  ASSERT_EQ(session->messages.size(), 1u);
  EXPECT_EQ(session->messages[0].content, "from b");
  EXPECT_EQ(session->turns, 1);
  replica_a.reset();  // destroying the "crashed" replica disturbs nothing
  EXPECT_TRUE(replica_b->BeginTurn(id, "alice").ok());
}

TEST_F(RedisSessionStoreTest, CommitAfterDeleteIsNotFound) {
  auto replica_a = MakeStore();
  auto replica_b = MakeStore();
  const std::string id = CreateSession(*replica_a);
  absl::StatusOr<TurnLease> lease = replica_a->BeginTurn(id, "alice");
  ASSERT_TRUE(lease.ok());
  ASSERT_TRUE(replica_b->Delete(id, "alice").ok());  // even while busy
  absl::Status status = lease->Commit({Message("user", "q")}, {5}, MakeFakeKv(2));
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("was deleted"));
  EXPECT_EQ(replica_a->stats().sessions_with_kv, 0);
  EXPECT_EQ(replica_a->stats().sessions, 0);
}

TEST_F(RedisSessionStoreTest, IdleTtlFollowsTheInjectedClock) {
  auto store = MakeStore();
  const std::string id = CreateSession(*store, "alice", absl::Seconds(10));
  clock_.Advance(absl::Seconds(9));
  ASSERT_TRUE(store->Get(id, "alice").ok());
  CommitTurn(*store, id, nullptr);   // at t=9: expires at 19
  clock_.Advance(absl::Seconds(9));  // t=18
  ASSERT_TRUE(store->Get(id, "alice").ok());
  ASSERT_TRUE(store->Touch(id, "alice").ok());  // t=18: expires at 28
  clock_.Advance(absl::Seconds(9));             // t=27
  ASSERT_TRUE(store->Get(id, "alice").ok());
  clock_.Advance(absl::Seconds(1));  // t=28: expired, even before the reaper runs
  absl::Status status = store->Get(id, "alice").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("expired"));
  EXPECT_THAT(status.message(), HasSubstr("TTL of 10s"));
  EXPECT_THAT(store->Touch(id, "alice").message(), HasSubstr("TTL of 10s"));
  EXPECT_EQ(store->stats().evicted_ttl, 1);
  EXPECT_EQ(store->stats().sessions, 0);
}

TEST_F(RedisSessionStoreTest, ReapRemovesExactlyTheExpiredOnAnyReplica) {
  auto replica_a = MakeStore();
  auto replica_b = MakeStore();
  std::vector<std::string> short_lived, long_lived, refreshed;
  for (int i = 0; i < 10; ++i) {
    short_lived.push_back(CreateSession(*replica_a, "a", absl::Seconds(5)));
  }
  for (int i = 0; i < 5; ++i)
    long_lived.push_back(CreateSession(*replica_a, "a", absl::Seconds(60)));
  for (int i = 0; i < 3; ++i) refreshed.push_back(CreateSession(*replica_a, "a", absl::Seconds(5)));
  CommitTurn(*replica_a, short_lived[0], MakeFakeKv(2), "a");
  const std::string busy = CreateSession(*replica_a, "a", absl::Seconds(5));
  absl::StatusOr<TurnLease> lease = replica_a->BeginTurn(busy, "a");
  ASSERT_TRUE(lease.ok());
  clock_.Advance(absl::Seconds(4));
  for (const std::string& id : refreshed) ASSERT_TRUE(replica_a->Touch(id, "a").ok());
  EXPECT_EQ(replica_b->ReapExpired(clock_.Now()), 0);
  clock_.Advance(absl::Seconds(2));  // t=6: the 10 short-lived are due; refreshed ones at t=9
  EXPECT_EQ(replica_a->stats().sessions_with_kv, 1);
  EXPECT_EQ(replica_b->ReapExpired(clock_.Now()), 10);  // B reaps A's sessions
  EXPECT_EQ(replica_a->ReapExpired(clock_.Now()), 0);
  EXPECT_EQ(replica_a->stats().sessions_with_kv, 0);  // A forgot the KV of a reaped session
  for (const std::string& id : short_lived) {
    EXPECT_THAT(replica_a->Get(id, "a").status().message(), HasSubstr("expired"));
  }
  for (const std::string& id : long_lived) EXPECT_TRUE(replica_a->Get(id, "a").ok());
  for (const std::string& id : refreshed) EXPECT_TRUE(replica_a->Get(id, "a").ok());
  EXPECT_TRUE(replica_a->Get(busy, "a").ok());  // a turn keeps it alive
  clock_.Advance(absl::Seconds(3));             // t=9
  EXPECT_EQ(replica_b->ReapExpired(clock_.Now()), 3);
  EXPECT_EQ(replica_b->stats().evicted_ttl, 13);
  EXPECT_EQ(replica_a->stats().sessions, 6);
  ASSERT_TRUE(lease->Commit({}, {}, nullptr).ok());
  clock_.Advance(absl::Seconds(5));
  EXPECT_EQ(replica_a->ReapExpired(clock_.Now()), 1);
}

TEST_F(RedisSessionStoreTest, MaxSessionsEvictsTheLeastRecentlyUsedIdle) {
  RedisSessionStoreOptions options = Options();
  options.sessions.max_sessions = 3;
  auto replica_a = MakeStore(options);
  auto replica_b = MakeStore(options);
  const std::string a = CreateSession(*replica_a);
  const std::string b = CreateSession(*replica_b);
  const std::string c = CreateSession(*replica_a);
  ASSERT_TRUE(replica_b->Touch(a, "alice").ok());  // LRU order now b, c, a
  const std::string d = CreateSession(*replica_a);
  EXPECT_EQ(replica_a->stats().sessions, 3);
  absl::Status evicted = replica_b->Get(b, "alice").status();
  EXPECT_EQ(evicted.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(evicted.message(), HasSubstr("evicted"));
  EXPECT_THAT(evicted.message(), HasSubstr("limit of 3 sessions"));
  for (const std::string& id : {a, c, d}) EXPECT_TRUE(replica_b->Get(id, "alice").ok());
  EXPECT_EQ(replica_a->stats().evicted_lru, 1);

  // Busy sessions are never evicted, whichever replica runs their turn.
  std::vector<TurnLease> leases;
  for (const std::string& id : {a, c}) leases.push_back(*replica_a->BeginTurn(id, "alice"));
  leases.push_back(*replica_b->BeginTurn(d, "alice"));
  absl::Status full = replica_b->Create("alice", "", absl::ZeroDuration(), {}).status();
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(full.message(), HasSubstr("every one is busy"));
  leases.pop_back();  // d is idle again
  EXPECT_TRUE(replica_b->Create("alice", "", absl::ZeroDuration(), {}).ok());
  EXPECT_THAT(replica_a->Get(d, "alice").status().message(), HasSubstr("evicted"));
  EXPECT_EQ(replica_a->stats().sessions, 3);
}

TEST_F(RedisSessionStoreTest, ListPagesAreStableAndPerOwner) {
  RedisSessionStoreOptions options = Options();
  options.sessions.list_page_size_max = 20;
  options.sessions.list_page_size_default = 8;
  auto store = MakeStore(options);
  auto other = MakeStore(options);
  std::set<std::string> alice;
  for (int i = 0; i < 45; ++i) alice.insert(CreateSession(i % 2 ? *store : *other, "alice"));
  for (int i = 0; i < 5; ++i) CreateSession(*store, "bob");
  const std::string expired = CreateSession(*store, "alice", absl::Seconds(1));
  clock_.Advance(absl::Seconds(2));  // listed nowhere, though not reaped yet

  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  std::set<std::string> deleted;
  do {
    absl::StatusOr<SessionPage> page = store->List("alice", 10, token);
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_LE(page->sessions.size(), 10u);
    for (const SessionSnapshot& s : page->sessions) {
      EXPECT_EQ(s.owner, "alice");
      EXPECT_EQ(s.system_prompt, "be brief");
      EXPECT_TRUE(s.messages.empty());
      if (!seen.empty()) {
        EXPECT_LT(seen.back(), s.id);  // ascending, no repeats
      }
      seen.push_back(s.id);
    }
    token = page->next_page_token;
    ++pages;
    if (pages == 1) {  // churn between pages
      const std::string victim = *alice.rbegin();
      ASSERT_TRUE(other->Delete(victim, "alice").ok());
      deleted.insert(victim);
      for (int i = 0; i < 3; ++i) CreateSession(*other, "alice");
    }
  } while (!token.empty());
  const std::set<std::string> seen_set(seen.begin(), seen.end());
  for (const std::string& id : alice) {
    if (deleted.count(id) == 0) {
      EXPECT_EQ(seen_set.count(id), 1u) << id;
    }
  }
  for (const std::string& id : deleted) EXPECT_EQ(seen_set.count(id), 0u);
  EXPECT_EQ(seen_set.count(expired), 0u);
  EXPECT_GE(pages, 5);

  absl::StatusOr<SessionPage> bob = store->List("bob", 0, "");
  ASSERT_TRUE(bob.ok());
  EXPECT_EQ(bob->sessions.size(), 5u);
  EXPECT_TRUE(bob->next_page_token.empty());
  absl::StatusOr<SessionPage> capped = store->List("alice", 1000, "");
  ASSERT_TRUE(capped.ok());
  EXPECT_EQ(capped->sessions.size(), 20u);
  EXPECT_FALSE(capped->next_page_token.empty());
  EXPECT_THAT(store->List("alice", 10, "garbage").status().message(),
              HasSubstr("invalid page token"));
  absl::StatusOr<SessionPage> nobody = store->List("carol", 10, "");
  ASSERT_TRUE(nobody.ok());
  EXPECT_TRUE(nobody->sessions.empty());
}

TEST_F(RedisSessionStoreTest, ForkCopiesTranscriptAndSharesLocalKv) {
  RedisSessionStoreOptions options = Options();
  options.sessions.max_pinned_kv_blocks = 100;
  auto store = MakeStore(options);
  auto other = MakeStore(options);
  absl::StatusOr<SessionSnapshot> parent =
      store->Create("alice", "sys", absl::Seconds(100), {{"k", "v"}});
  ASSERT_TRUE(parent.ok());
  auto kv = MakeFakeKv(7);
  CommitTurn(*store, parent->id, kv);
  absl::StatusOr<SessionSnapshot> child = store->Fork(parent->id, "alice", std::nullopt);
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_NE(child->id, parent->id);
  EXPECT_EQ(child->system_prompt, "sys");
  EXPECT_EQ(child->labels.at("k"), "v");
  EXPECT_EQ(child->messages.size(), 2u);
  EXPECT_EQ(child->tokens, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(child->kv.get(), kv.get());  // the same handle, shared
  EXPECT_EQ(child->ttl, absl::Seconds(100));
  EXPECT_EQ(child->turns, 1);
  EXPECT_FALSE(child->busy);
  EXPECT_EQ(store->stats().pinned_kv_blocks, 7);  // counted once
  EXPECT_EQ(store->stats().sessions_with_kv, 2);
  EXPECT_EQ(store->stats().forked, 1);
  EXPECT_EQ(store->stats().created, 2);
  absl::StatusOr<SessionSnapshot> stored = other->Get(child->id, "alice");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->messages.size(), 2u);
  EXPECT_EQ(stored->labels.at("k"), "v");
  EXPECT_EQ(stored->kv, nullptr);
  EXPECT_EQ(store->Get(child->id, "alice")->kv.get(), kv.get());

  // A fork on a replica without the KV has none; the branches diverge.
  absl::StatusOr<SessionSnapshot> remote = other->Fork(parent->id, "alice", absl::Seconds(3));
  ASSERT_TRUE(remote.ok()) << remote.status();
  EXPECT_EQ(remote->kv, nullptr);
  EXPECT_EQ(remote->ttl, absl::Seconds(3));
  CommitTurn(*store, child->id, MakeFakeKv(9));
  EXPECT_EQ(other->Get(child->id, "alice")->messages.size(), 4u);
  EXPECT_EQ(other->Get(parent->id, "alice")->messages.size(), 2u);
  EXPECT_EQ(store->stats().pinned_kv_blocks, 16);
  EXPECT_EQ(store->Fork(parent->id, "alice", absl::Hours(3)).status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(store->Delete(parent->id, "alice").ok());
  EXPECT_THAT(other->Fork(parent->id, "alice", std::nullopt).status().message(),
              HasSubstr("was deleted"));
}

TEST_F(RedisSessionStoreTest, PinCapDropsKvOfLeastRecentlyUsedButKeepsTranscript) {
  RedisSessionStoreOptions options = Options();
  options.sessions.max_pinned_kv_blocks = 10;
  auto store = MakeStore(options);
  const std::string a = CreateSession(*store);
  const std::string b = CreateSession(*store);
  const std::string c = CreateSession(*store);
  CommitTurn(*store, a, MakeFakeKv(4));
  CommitTurn(*store, b, MakeFakeKv(4));
  EXPECT_EQ(store->stats().pinned_kv_blocks, 8);
  CommitTurn(*store, c, MakeFakeKv(4));  // 12 > 10: a (least recently used) loses its KV
  EXPECT_EQ(store->stats().pinned_kv_blocks, 8);
  EXPECT_EQ(store->stats().kv_drops, 1);
  absl::StatusOr<SessionSnapshot> dropped = store->Get(a, "alice");
  ASSERT_TRUE(dropped.ok());
  EXPECT_EQ(dropped->kv, nullptr);
  EXPECT_EQ(dropped->kv_blocks, 0);
  EXPECT_EQ(dropped->messages.size(), 2u);
  EXPECT_NE(store->Get(b, "alice")->kv, nullptr);
  ASSERT_TRUE(store->Touch(b, "alice").ok());  // c is now the LRU holder
  CommitTurn(*store, a, MakeFakeKv(6));        // 14 > 10: drop c
  EXPECT_EQ(store->Get(c, "alice")->kv, nullptr);
  EXPECT_NE(store->Get(b, "alice")->kv, nullptr);
  EXPECT_EQ(store->stats().pinned_kv_blocks, 10);
  ASSERT_TRUE(store->Delete(a, "alice").ok());
  EXPECT_EQ(store->stats().pinned_kv_blocks, 4);

  options.sessions.max_pinned_kv_blocks = 0;
  options.key_prefix += "zero:";
  auto keeps_none = MakeStore(options);
  const std::string d = CreateSession(*keeps_none);
  CommitTurn(*keeps_none, d, MakeFakeKv(1));
  EXPECT_EQ(keeps_none->Get(d, "alice")->kv, nullptr);
  EXPECT_EQ(keeps_none->stats().pinned_kv_blocks, 0);
}

TEST_F(RedisSessionStoreTest, RedisDownIsUnavailableAndTheStoreReconnects) {
  auto store = MakeStore();
  const std::string id = CreateSession(*store);
  ASSERT_TRUE(store->Get(id, "alice").ok());
  EXPECT_EQ(store->stats().sessions, 1);
  server_->Kill();

  const absl::Time start = absl::Now();
  const std::string expected =
      absl::StrCat("session store unavailable: redis at 127.0.0.1:", server_->port(), ": ");
  for (absl::Status status :
       {store->Get(id, "alice").status(), store->Touch(id, "alice"),
        store->BeginTurn(id, "alice").status(), store->Delete(id, "alice"),
        store->Create("alice", "", absl::ZeroDuration(), {}).status(),
        store->Fork(id, "alice", std::nullopt).status(), store->List("alice", 10, "").status()}) {
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
    EXPECT_THAT(status.message(), HasSubstr(expected));
  }
  EXPECT_EQ(store->ReapExpired(clock_.Now()), 0);
  EXPECT_EQ(store->stats().sessions, 1);  // the last count read
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));

  // A turn begun before the outage cannot commit during it.
  ASSERT_TRUE(server_->Restart().ok());
  const std::string fresh = CreateSession(*store);  // the same store, a new server
  ASSERT_FALSE(fresh.empty());
  EXPECT_THAT(store->Get(id, "alice").status().message(),
              HasSubstr("not found"));  // no persistence
  absl::StatusOr<TurnLease> lease = store->BeginTurn(fresh, "alice");
  ASSERT_TRUE(lease.ok()) << lease.status();
  server_->Kill();
  EXPECT_EQ(lease->Commit({Message("user", "q")}, {1}, nullptr).code(),
            absl::StatusCode::kUnavailable);
  ASSERT_TRUE(server_->Restart().ok());
  EXPECT_TRUE(store->Create("alice", "", absl::ZeroDuration(), {}).ok());
  EXPECT_EQ(store->stats().sessions, 1);
}

// Redis hangs (SIGSTOP) while a turn commits and comes back within the commit deadline: the
// commit waits for it and lands exactly once, although the first attempts timed out with their
// EVALs queued in the paused server's sockets (each runs when it resumes).
TEST_F(RedisSessionStoreTest, CommitRidesOutAPausedRedisAndAppliesOnce) {
  RedisSessionStoreOptions options = Options();
  options.command_timeout = absl::Milliseconds(200);
  options.commit_deadline = absl::Seconds(5);
  auto store = MakeStore(options);
  const std::string id = CreateSession(*store);
  absl::StatusOr<TurnLease> lease = store->BeginTurn(id, "alice");
  ASSERT_TRUE(lease.ok()) << lease.status();

  server_->Pause();
  std::thread resume([this] {
    absl::SleepFor(absl::Milliseconds(1500));
    server_->Resume();
  });
  const absl::Time start = absl::Now();
  absl::Status status =
      lease->Commit({Message("user", "q"), Message("assistant", "a")}, {7, 8, 9}, nullptr);
  const absl::Duration took = absl::Now() - start;
  resume.join();
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_GE(took, absl::Milliseconds(1400));
  EXPECT_LT(took, absl::Seconds(5));

  absl::StatusOr<SessionSnapshot> session = store->Get(id, "alice");
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_EQ(session->turns, 1);
  ASSERT_EQ(session->messages.size(), 2u);
  EXPECT_EQ(session->tokens, (std::vector<int32_t>{7, 8, 9}));
  EXPECT_FALSE(session->busy);
  EXPECT_TRUE(store->BeginTurn(id, "alice").ok());  // the lease was ended by the commit
}

// Redis hangs past the commit deadline: Commit reports Unavailable saying the turn was not saved,
// and when Redis resumes, none of the queued attempts lands (they are past their apply-by time):
// the session holds exactly its earlier state, never half a turn or a turn reported unsaved.
TEST_F(RedisSessionStoreTest, CommitPastTheDeadlineIsNotSavedAndNeverLandsLater) {
  RedisSessionStoreOptions options = Options();
  options.command_timeout = absl::Milliseconds(200);
  options.commit_deadline = absl::Milliseconds(800);
  auto store = MakeStore(options);
  const std::string id = CreateSession(*store);
  CommitTurn(*store, id, nullptr);
  absl::StatusOr<TurnLease> lease = store->BeginTurn(id, "alice");
  ASSERT_TRUE(lease.ok()) << lease.status();

  server_->Pause();
  absl::Status status =
      lease->Commit({Message("user", "q"), Message("assistant", "a")}, {1, 2, 3, 4, 5, 6}, nullptr);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_THAT(status.message(), HasSubstr("the turn was not saved"));
  server_->Resume();
  absl::SleepFor(absl::Milliseconds(300));  // The queued attempts run (and are refused) first.

  absl::StatusOr<SessionSnapshot> session = store->Get(id, "alice");
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_EQ(session->turns, 1);
  EXPECT_EQ(session->messages.size(), 2u);
  EXPECT_EQ(session->tokens, (std::vector<int32_t>{1, 2, 3}));
}

}  // namespace
}  // namespace minimind
