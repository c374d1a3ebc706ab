// The SessionStore contract (session_store.h), one typed suite run against every implementation:
// MemorySessionStore, and RedisSessionStore on a real redis-server (skipped without one). What an
// implementation does beyond the contract is tested in its own file.
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/sessions/memory_session_store.h"
#include "service/sessions/redis_session_store.h"
#include "tests/service/sessions/fake_kv.h"
#include "tests/service/sessions/redis_server.h"

namespace minimind {
namespace {

using ::testing::HasSubstr;

struct MemoryStoreFactory {
  static constexpr bool kNeedsRedis = false;
  std::unique_ptr<SessionStore> Make(SessionStoreOptions options, RedisServer* /*redis*/) {
    absl::StatusOr<std::unique_ptr<MemorySessionStore>> store =
        MemorySessionStore::Make(std::move(options));
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }
};

struct RedisStoreFactory {
  static constexpr bool kNeedsRedis = true;
  std::unique_ptr<SessionStore> Make(SessionStoreOptions options, RedisServer* redis) {
    RedisSessionStoreOptions redis_options;
    redis_options.sessions = std::move(options);
    redis_options.address.host = "127.0.0.1";
    redis_options.address.port = redis->port();
    redis_options.key_prefix = absl::StrCat(
        "contract:", ::testing::UnitTest::GetInstance()->current_test_info()->name(), ":");
    absl::StatusOr<std::unique_ptr<RedisSessionStore>> store =
        RedisSessionStore::Make(std::move(redis_options));
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }
};

template <typename Factory>
class SessionStoreContractTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (Factory::kNeedsRedis) {
      if (!RedisServerInstalled()) {
        GTEST_SKIP() << kRedisServerPath << " is not installed (apt-get install redis-server)";
      }
      absl::StatusOr<std::unique_ptr<RedisServer>> server = RedisServer::Start();
      ASSERT_TRUE(server.ok()) << server.status();
      redis_ = *std::move(server);
    }
  }

  std::unique_ptr<SessionStore> MakeStore(SessionStoreOptions options) {
    return factory_.Make(std::move(options), redis_.get());
  }
  std::unique_ptr<SessionStore> MakeStore() { return MakeStore(TestOptions(clock_)); }

  std::string CreateSession(SessionStore& store, absl::string_view owner = "alice") {
    absl::StatusOr<SessionSnapshot> session =
        store.Create(owner, "be brief", absl::ZeroDuration(), {});
    EXPECT_TRUE(session.ok()) << session.status();
    return session.ok() ? session->id : "";
  }

  Factory factory_;
  ManualClock clock_;
  std::unique_ptr<RedisServer> redis_;
};

using Implementations = ::testing::Types<MemoryStoreFactory, RedisStoreFactory>;
TYPED_TEST_SUITE(SessionStoreContractTest, Implementations);

TYPED_TEST(SessionStoreContractTest, CreateAppliesTheDefaultTtlAndChecksLimits) {
  auto store = this->MakeStore();
  absl::StatusOr<SessionSnapshot> created =
      store->Create("alice", "sys", absl::ZeroDuration(), {{"app", "chat"}});
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->id.size(), 32u);
  EXPECT_EQ(created->ttl, absl::Seconds(60));
  EXPECT_EQ(created->system_prompt, "sys");
  EXPECT_EQ(created->labels.at("app"), "chat");
  EXPECT_EQ(created->turns, 0);

  EXPECT_THAT(store->Create("alice", "", absl::Hours(2), {}).status().message(),
              HasSubstr("exceeds the maximum of 1h"));
  EXPECT_EQ(store->Create("alice", "", -absl::Seconds(1), {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  SessionLabels too_many;
  for (int i = 0; i < 65; ++i) too_many[absl::StrCat("k", i)] = "v";
  EXPECT_THAT(store->Create("alice", "", absl::ZeroDuration(), too_many).status().message(),
              HasSubstr("at most 64 labels"));
}

TYPED_TEST(SessionStoreContractTest, ForeignAndUnknownIdsAreTheSameNotFound) {
  auto store = this->MakeStore();
  const std::string id = this->CreateSession(*store, "alice");
  const std::string unknown(32, 'a');
  const absl::Status foreign = store->Get(id, "mallory").status();
  EXPECT_EQ(foreign, absl::NotFoundError(absl::StrCat("session ", id, " not found")));
  EXPECT_EQ(store->Get(unknown, "alice").status(),
            absl::NotFoundError(absl::StrCat("session ", unknown, " not found")));
  EXPECT_EQ(store->BeginTurn(id, "mallory").status(), foreign);
  EXPECT_EQ(store->Delete(id, "mallory"), foreign);
  EXPECT_EQ(store->Get("not-hex", "alice").status().code(), absl::StatusCode::kInvalidArgument);
}

TYPED_TEST(SessionStoreContractTest, DeletedSessionSaysSoToItsOwner) {
  auto store = this->MakeStore();
  const std::string id = this->CreateSession(*store);
  ASSERT_TRUE(store->Delete(id, "alice").ok());
  EXPECT_EQ(store->Get(id, "alice").status(),
            absl::NotFoundError(absl::StrCat("session ", id, " was deleted")));
  EXPECT_EQ(store->Get(id, "mallory").status(),
            absl::NotFoundError(absl::StrCat("session ", id, " not found")));
}

TYPED_TEST(SessionStoreContractTest, OneTurnAtATimeAndAnUncommittedTurnChangesNothing) {
  auto store = this->MakeStore();
  const std::string id = this->CreateSession(*store);
  {
    absl::StatusOr<TurnLease> lease = store->BeginTurn(id, "alice");
    ASSERT_TRUE(lease.ok()) << lease.status();
    EXPECT_EQ(
        store->BeginTurn(id, "alice").status(),
        absl::AbortedError(absl::StrCat("session ", id, " is busy: another turn is in progress")));
    absl::StatusOr<SessionSnapshot> busy = store->Get(id, "alice");
    ASSERT_TRUE(busy.ok());
    EXPECT_TRUE(busy->busy);
  }  // Released without a commit.
  absl::StatusOr<SessionSnapshot> after = store->Get(id, "alice");
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(after->busy);
  EXPECT_EQ(after->turns, 0);
  EXPECT_TRUE(after->messages.empty());
  EXPECT_TRUE(store->BeginTurn(id, "alice").ok());
}

TYPED_TEST(SessionStoreContractTest, CommitAppendsExactlyTheTurn) {
  auto store = this->MakeStore();
  const std::string id = this->CreateSession(*store);
  for (int turn = 0; turn < 3; ++turn) {
    absl::StatusOr<TurnLease> lease = store->BeginTurn(id, "alice");
    ASSERT_TRUE(lease.ok()) << lease.status();
    std::vector<int32_t> tokens = lease->snapshot().tokens;
    tokens.insert(tokens.end(), {turn, turn + 100});
    ASSERT_TRUE(lease
                    ->Commit({Message("user", absl::StrCat("q", turn)),
                              Message("assistant", absl::StrCat("a", turn))},
                             std::move(tokens), nullptr)
                    .ok());
    EXPECT_EQ(lease->Commit({}, {}, nullptr).code(), absl::StatusCode::kFailedPrecondition);
  }
  absl::StatusOr<SessionSnapshot> session = store->Get(id, "alice");
  ASSERT_TRUE(session.ok());
  EXPECT_EQ(session->turns, 3);
  ASSERT_EQ(session->messages.size(), 6u);
  EXPECT_EQ(session->messages[4].content, "q2");
  EXPECT_EQ(session->messages[5].role, "assistant");
  EXPECT_EQ(session->tokens, (std::vector<int32_t>{0, 100, 1, 101, 2, 102}));
  EXPECT_EQ(session->num_tokens, 6);
}

TYPED_TEST(SessionStoreContractTest, CommitAfterDeleteIsNotFoundAndStaysDeleted) {
  auto store = this->MakeStore();
  const std::string id = this->CreateSession(*store);
  absl::StatusOr<TurnLease> lease = store->BeginTurn(id, "alice");
  ASSERT_TRUE(lease.ok());
  ASSERT_TRUE(store->Delete(id, "alice").ok());
  const absl::Status status = lease->Commit({Message("user", "q")}, {1}, nullptr);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("deleted"));
  EXPECT_EQ(store->Get(id, "alice").status().code(), absl::StatusCode::kNotFound);
}

TYPED_TEST(SessionStoreContractTest, IdleSessionsExpireAfterTheirTtl) {
  auto store = this->MakeStore();
  absl::StatusOr<SessionSnapshot> session = store->Create("alice", "", absl::Seconds(10), {});
  ASSERT_TRUE(session.ok());
  this->clock_.Advance(absl::Seconds(9));
  ASSERT_TRUE(store->Touch(session->id, "alice").ok());
  this->clock_.Advance(absl::Seconds(9));
  EXPECT_TRUE(store->Get(session->id, "alice").ok());  // touched 9 s ago
  this->clock_.Advance(absl::Seconds(2));
  EXPECT_EQ(store->Get(session->id, "alice").status(),
            absl::NotFoundError(absl::StrCat("session ", session->id,
                                             " expired: it was idle longer than its TTL of 10s")));
}

TYPED_TEST(SessionStoreContractTest, ListPagesEveryOwnSessionOnceWithTheDefaultPageSize) {
  SessionStoreOptions options = TestOptions(this->clock_);
  options.list_page_size_default = 3;
  options.list_page_size_max = 4;
  auto store = this->MakeStore(options);
  std::set<std::string> created;
  for (int i = 0; i < 10; ++i) created.insert(this->CreateSession(*store, "alice"));
  this->CreateSession(*store, "bob");

  std::set<std::string> listed;
  std::string token;
  std::vector<size_t> sizes;
  do {
    absl::StatusOr<SessionPage> page = store->List("alice", 0, token);
    ASSERT_TRUE(page.ok()) << page.status();
    sizes.push_back(page->sessions.size());
    for (const SessionSnapshot& session : page->sessions) {
      EXPECT_TRUE(listed.insert(session.id).second) << "listed twice: " << session.id;
      EXPECT_TRUE(session.messages.empty());
    }
    token = page->next_page_token;
  } while (!token.empty());
  EXPECT_EQ(listed, created);
  EXPECT_EQ(sizes, (std::vector<size_t>{3, 3, 3, 1}));
  absl::StatusOr<SessionPage> capped = store->List("alice", 1000, "");
  ASSERT_TRUE(capped.ok());
  EXPECT_EQ(capped->sessions.size(), 4u);  // list_page_size_max
  EXPECT_EQ(store->List("alice", 0, "garbage!").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TYPED_TEST(SessionStoreContractTest, ForkCopiesTheTranscriptIntoANewSession) {
  auto store = this->MakeStore();
  const std::string id = this->CreateSession(*store);
  absl::StatusOr<TurnLease> lease = store->BeginTurn(id, "alice");
  ASSERT_TRUE(lease.ok());
  ASSERT_TRUE(
      lease->Commit({Message("user", "q"), Message("assistant", "a")}, {5, 6}, nullptr).ok());
  absl::StatusOr<SessionSnapshot> fork = store->Fork(id, "alice", std::nullopt);
  ASSERT_TRUE(fork.ok()) << fork.status();
  EXPECT_NE(fork->id, id);
  absl::StatusOr<SessionSnapshot> child = store->Get(fork->id, "alice");
  ASSERT_TRUE(child.ok());
  EXPECT_EQ(child->system_prompt, "be brief");
  EXPECT_EQ(child->messages.size(), 2u);
  EXPECT_EQ(child->tokens, (std::vector<int32_t>{5, 6}));
  EXPECT_EQ(store->Fork(id, "mallory", std::nullopt).status().code(), absl::StatusCode::kNotFound);
}

// The context policy and window travel with the session: set at Create, moved only by a commit,
// copied by Fork, shown by Get and List; the transcript keeps every message.
TYPED_TEST(SessionStoreContractTest, ContextPolicyAndWindowPersist) {
  auto store = this->MakeStore();
  absl::StatusOr<SessionSnapshot> strict =
      store->Create("alice", "", absl::ZeroDuration(), {}, ContextOverflow::kError);
  ASSERT_TRUE(strict.ok()) << strict.status();
  EXPECT_EQ(strict->context_overflow, ContextOverflow::kError);
  const std::string id = this->CreateSession(*store);
  absl::StatusOr<SessionSnapshot> fresh = store->Get(id, "alice");
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->context_overflow, ContextOverflow::kTruncate);
  EXPECT_EQ(fresh->window_start, 0);

  for (int turn = 0; turn < 2; ++turn) {
    absl::StatusOr<TurnLease> lease = store->BeginTurn(id, "alice");
    ASSERT_TRUE(lease.ok());
    // The second turn moves the window past the first turn's two messages.
    std::optional<int64_t> window;
    if (turn == 1) window = 2;
    ASSERT_TRUE(lease
                    ->Commit({Message("user", absl::StrCat("q", turn)),
                              Message("assistant", absl::StrCat("a", turn))},
                             {turn}, nullptr, window)
                    .ok());
  }
  absl::StatusOr<SessionSnapshot> session = store->Get(id, "alice");
  ASSERT_TRUE(session.ok());
  EXPECT_EQ(session->messages.size(), 4u);  // the transcript keeps everything
  EXPECT_EQ(session->window_start, 2);
  EXPECT_EQ(session->tokens, (std::vector<int32_t>{1}));
  {  // A commit without a window keeps it.
    absl::StatusOr<TurnLease> lease = store->BeginTurn(id, "alice");
    ASSERT_TRUE(lease.ok());
    ASSERT_TRUE(lease->Commit({Message("user", "q2")}, {1, 2}, nullptr).ok());
  }
  EXPECT_EQ(store->Get(id, "alice")->window_start, 2);
  absl::StatusOr<SessionSnapshot> fork = store->Fork(id, "alice", std::nullopt);
  ASSERT_TRUE(fork.ok());
  EXPECT_EQ(store->Get(fork->id, "alice")->window_start, 2);
  absl::StatusOr<SessionPage> page = store->List("alice", 0, "");
  ASSERT_TRUE(page.ok());
  for (const SessionSnapshot& listed : page->sessions) {
    if (listed.id == id) {
      EXPECT_EQ(listed.window_start, 2);
    }
    if (listed.id == strict->id) {
      EXPECT_EQ(listed.context_overflow, ContextOverflow::kError);
    }
  }
}

TYPED_TEST(SessionStoreContractTest, TheSessionCapEvictsTheLeastRecentlyUsed) {
  SessionStoreOptions options = TestOptions(this->clock_);
  options.max_sessions = 2;
  auto store = this->MakeStore(options);
  const std::string oldest = this->CreateSession(*store);
  this->clock_.Advance(absl::Seconds(1));
  const std::string newer = this->CreateSession(*store);
  this->clock_.Advance(absl::Seconds(1));
  ASSERT_TRUE(store->Touch(oldest, "alice").ok());  // newer is now the least recently used
  this->clock_.Advance(absl::Seconds(1));
  this->CreateSession(*store);
  EXPECT_EQ(store->Get(newer, "alice").status(),
            absl::NotFoundError(absl::StrCat(
                "session ", newer,
                " was evicted: the server reached its limit of 2 sessions and dropped the least "
                "recently used")));
  EXPECT_TRUE(store->Get(oldest, "alice").ok());
}

}  // namespace
}  // namespace minimind
