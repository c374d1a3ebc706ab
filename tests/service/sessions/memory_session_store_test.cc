#include "service/sessions/memory_session_store.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/service/sessions/fake_kv.h"

namespace minimind {
namespace {

using ::testing::HasSubstr;

class SessionStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<SessionStore> MakeStore(SessionStoreOptions options) {
    absl::StatusOr<std::unique_ptr<MemorySessionStore>> store =
        MemorySessionStore::Make(std::move(options));
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }
  std::unique_ptr<SessionStore> MakeStore() { return MakeStore(TestOptions(clock_)); }

  std::string CreateSession(SessionStore& store, absl::string_view owner = "alice",
                            absl::Duration ttl = absl::ZeroDuration()) {
    absl::StatusOr<SessionSnapshot> session = store.Create(owner, "be brief", ttl, {});
    EXPECT_TRUE(session.ok()) << session.status();
    return session.ok() ? session->id : "";
  }

  // One committed turn: appends a user and an assistant message, sets tokens and KV.
  void CommitTurn(SessionStore& store, const std::string& id, std::shared_ptr<const KvHandle> kv,
                  absl::string_view owner = "alice") {
    absl::StatusOr<TurnLease> lease = store.BeginTurn(id, owner);
    ASSERT_TRUE(lease.ok()) << lease.status();
    std::vector<int32_t> tokens = lease->snapshot().tokens;
    tokens.insert(tokens.end(), {1, 2, 3});
    ASSERT_TRUE(lease
                    ->Commit({Message("user", "hi"), Message("assistant", "hello")},
                             std::move(tokens), std::move(kv))
                    .ok());
  }

  ManualClock clock_;
};

TEST_F(SessionStoreTest, MakeRejectsInconsistentOptions) {
  SessionStoreOptions options = TestOptions(clock_);
  options.num_shards = 0;
  EXPECT_THAT(MemorySessionStore::Make(options).status().message(), HasSubstr("num_shards"));
  options = TestOptions(clock_);
  options.max_sessions = 0;
  EXPECT_THAT(MemorySessionStore::Make(options).status().message(), HasSubstr("max_sessions"));
  options = TestOptions(clock_);
  options.max_ttl = absl::Seconds(1);
  EXPECT_THAT(MemorySessionStore::Make(options).status().message(), HasSubstr("below the default"));
  options = TestOptions(clock_);
  options.max_pinned_kv_blocks = -1;
  EXPECT_EQ(MemorySessionStore::Make(options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(SessionStoreTest, CreateThenGetReturnsTheSession) {
  auto store = MakeStore();
  const absl::Time start = clock_.Now();
  absl::StatusOr<SessionSnapshot> created =
      store->Create("alice", "be brief", absl::ZeroDuration(), {{"app", "cli"}});
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->id.size(), 32u);
  EXPECT_EQ(created->ttl, absl::Seconds(60));  // the default
  EXPECT_EQ(created->created, start);
  EXPECT_EQ(created->expires, start + absl::Seconds(60));

  clock_.Advance(absl::Seconds(5));
  absl::StatusOr<SessionSnapshot> got = store->Get(created->id, "alice");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->owner, "alice");
  EXPECT_EQ(got->system_prompt, "be brief");
  EXPECT_EQ(got->labels.at("app"), "cli");
  EXPECT_TRUE(got->messages.empty());
  EXPECT_EQ(got->kv, nullptr);
  EXPECT_FALSE(got->busy);
  EXPECT_EQ(got->turns, 0);
  EXPECT_EQ(got->last_used, start);  // Get does not refresh the TTL
  EXPECT_EQ(store->stats().sessions, 1);
  EXPECT_EQ(store->stats().created, 1);
}

TEST_F(SessionStoreTest, CreateValidatesTtlAndLabels) {
  auto store = MakeStore();
  absl::Status too_long = store->Create("a", "", absl::Hours(2), {}).status();
  EXPECT_EQ(too_long.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(too_long.message(), HasSubstr("exceeds the maximum of 1h"));
  EXPECT_EQ(store->Create("a", "", absl::Seconds(-1), {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<SessionSnapshot> custom = store->Create("a", "", absl::Seconds(7), {});
  ASSERT_TRUE(custom.ok());
  EXPECT_EQ(custom->ttl, absl::Seconds(7));

  SessionLabels many;
  for (int i = 0; i < 65; ++i) many["k" + std::to_string(i)] = "v";
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

TEST_F(SessionStoreTest, UnknownMalformedAndForeignIds) {
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
  EXPECT_EQ(store->Delete(id, "mallory").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->BeginTurn(id, "mallory").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->Fork(id, "mallory", std::nullopt).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(store->Get(id, "alice").ok());
  EXPECT_EQ(store->List("mallory", 0, "")->sessions.size(), 0u);
}

TEST_F(SessionStoreTest, DeletedSessionsSayDeleted) {
  auto store = MakeStore();
  const std::string id = CreateSession(*store);
  ASSERT_TRUE(store->Delete(id, "alice").ok());
  absl::Status status = store->Get(id, "alice").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("was deleted"));
  EXPECT_THAT(store->Delete(id, "alice").message(), HasSubstr("was deleted"));
  // Only the owner learns why: to anyone else the id never existed.
  EXPECT_EQ(store->Get(id, "mallory").status().message(),
            absl::StrCat("session ", id, " not found"));
  EXPECT_EQ(store->stats().sessions, 0);
  EXPECT_EQ(store->stats().deleted, 1);
}

TEST_F(SessionStoreTest, IdleTtlIsRefreshedByTurnsNotByGet) {
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
  EXPECT_EQ(store->stats().evicted_ttl, 1);
  EXPECT_EQ(store->stats().sessions, 0);
}

TEST_F(SessionStoreTest, ReapRemovesExactlyTheExpired) {
  auto store = MakeStore();
  std::vector<std::string> short_lived, long_lived, refreshed;
  for (int i = 0; i < 10; ++i) short_lived.push_back(CreateSession(*store, "a", absl::Seconds(5)));
  for (int i = 0; i < 5; ++i) long_lived.push_back(CreateSession(*store, "a", absl::Seconds(60)));
  for (int i = 0; i < 3; ++i) refreshed.push_back(CreateSession(*store, "a", absl::Seconds(5)));
  clock_.Advance(absl::Seconds(4));
  for (const std::string& id : refreshed) ASSERT_TRUE(store->Touch(id, "a").ok());
  EXPECT_EQ(store->ReapExpired(clock_.Now()), 0);
  clock_.Advance(absl::Seconds(2));  // t=6: the 10 short-lived are due; refreshed ones at t=9
  EXPECT_EQ(store->ReapExpired(clock_.Now()), 10);
  EXPECT_EQ(store->ReapExpired(clock_.Now()), 0);
  for (const std::string& id : short_lived) {
    EXPECT_THAT(store->Get(id, "a").status().message(), HasSubstr("expired"));
  }
  for (const std::string& id : long_lived) EXPECT_TRUE(store->Get(id, "a").ok());
  for (const std::string& id : refreshed) EXPECT_TRUE(store->Get(id, "a").ok());
  clock_.Advance(absl::Seconds(3));  // t=9
  EXPECT_EQ(store->ReapExpired(clock_.Now()), 3);
  EXPECT_EQ(store->stats().sessions, 5);
  EXPECT_EQ(store->stats().evicted_ttl, 13);
}

TEST_F(SessionStoreTest, SessionsTheStoreRemovesByItselfAreReported) {
  std::vector<std::string> gone;
  SessionStoreOptions options = TestOptions(clock_);
  options.max_sessions = 3;
  options.session_gone = [&gone](std::string id) { gone.push_back(std::move(id)); };
  auto store = MakeStore(options);
  const std::string expiring = CreateSession(*store, "alice", absl::Seconds(5));
  const std::string deleted = CreateSession(*store);
  const std::string lazily_expired = CreateSession(*store, "alice", absl::Seconds(5));
  ASSERT_TRUE(store->Delete(deleted, "alice").ok());  // its caller knows: not reported
  EXPECT_TRUE(gone.empty());
  clock_.Advance(absl::Seconds(6));
  // A lookup that finds the session expired removes it too.
  EXPECT_EQ(store->Get(lazily_expired, "alice").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->ReapExpired(clock_.Now()), 1);
  EXPECT_THAT(gone, ::testing::UnorderedElementsAre(expiring, lazily_expired));
  gone.clear();
  const std::string a = CreateSession(*store);
  CreateSession(*store);
  CreateSession(*store);
  CreateSession(*store);  // over max_sessions: `a`, the least recently used, is evicted
  EXPECT_THAT(gone, ::testing::ElementsAre(a));
}

TEST_F(SessionStoreTest, VolatileSessionsAreAdoptedByAnotherStoreAsTheyWere) {
  auto store = MakeStore();
  absl::StatusOr<SessionSnapshot> created = store->Create(
      "alice", "be brief", absl::Seconds(600), {{"app", "cli"}}, ContextOverflow::kError);
  ASSERT_TRUE(created.ok());
  CommitTurn(*store, created->id, MakeFakeKv(4));
  const std::string other = CreateSession(*store, "bob");
  clock_.Advance(absl::Seconds(10));
  const std::vector<SessionSnapshot> saved = store->VolatileSessions();
  ASSERT_EQ(saved.size(), 2u);
  for (const SessionSnapshot& session : saved) EXPECT_EQ(session.kv, nullptr);

  auto restarted = MakeStore();
  for (const SessionSnapshot& session : saved) ASSERT_TRUE(restarted->AdoptSession(session).ok());
  absl::StatusOr<SessionSnapshot> adopted = restarted->Get(created->id, "alice");
  ASSERT_TRUE(adopted.ok()) << adopted.status();
  const absl::StatusOr<SessionSnapshot> original = store->Get(created->id, "alice");
  EXPECT_EQ(adopted->system_prompt, "be brief");
  EXPECT_EQ(adopted->labels, original->labels);
  ASSERT_EQ(adopted->messages.size(), 2u);
  EXPECT_EQ(adopted->messages[1].content, "hello");
  EXPECT_EQ(adopted->tokens, original->tokens);
  EXPECT_EQ(adopted->turns, 1);
  EXPECT_EQ(adopted->context_overflow, ContextOverflow::kError);
  EXPECT_EQ(adopted->created, original->created);
  EXPECT_EQ(adopted->expires, original->expires);
  EXPECT_EQ(adopted->kv, nullptr);
  // Another owner still cannot see it; its owner can take a turn.
  EXPECT_EQ(restarted->Get(created->id, "bob").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(restarted->Get(other, "bob").ok());
  CommitTurn(*restarted, created->id, nullptr);
  EXPECT_EQ(restarted->Get(created->id, "alice")->turns, 2);

  // An id in use, a session whose TTL ran out, and a malformed one are refused.
  EXPECT_EQ(restarted->AdoptSession(saved[0]).code(), absl::StatusCode::kAlreadyExists);
  auto later = MakeStore();
  clock_.Advance(absl::Seconds(60));  // bob's session had the 60 s default
  for (const SessionSnapshot& session : saved) {
    const absl::Status status = later->AdoptSession(session);
    if (session.id == other) {
      EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
    } else {
      EXPECT_TRUE(status.ok()) << status;
    }
  }
  SessionSnapshot bad = saved[0];
  bad.id = "nope";
  EXPECT_EQ(later->AdoptSession(bad).code(), absl::StatusCode::kInvalidArgument);
  bad = saved[0];
  bad.id = std::string(32, 'a');
  bad.window_start = 7;
  EXPECT_EQ(later->AdoptSession(bad).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(later->stats().sessions, 1);
}

TEST_F(SessionStoreTest, BusySessionsOutliveTheirTtl) {
  auto store = MakeStore();
  const std::string id = CreateSession(*store, "a", absl::Seconds(5));
  absl::StatusOr<TurnLease> lease = store->BeginTurn(id, "a");
  ASSERT_TRUE(lease.ok());
  clock_.Advance(absl::Seconds(30));
  EXPECT_EQ(store->ReapExpired(clock_.Now()), 0);
  EXPECT_TRUE(store->Get(id, "a").ok());
  ASSERT_TRUE(lease->Commit({Message("user", "q")}, {5}, nullptr).ok());
  clock_.Advance(absl::Seconds(4));
  EXPECT_EQ(store->ReapExpired(clock_.Now()), 0);  // the commit refreshed the TTL
  clock_.Advance(absl::Seconds(2));
  EXPECT_EQ(store->ReapExpired(clock_.Now()), 1);
}

TEST_F(SessionStoreTest, ReapHandlesManyDeletionsAndRefreshes) {
  // Exercises the lazy heap: deleted sessions leave stale entries (and a rebuild), refreshed
  // ones are re-pushed.
  auto store = MakeStore();
  std::vector<std::string> ids;
  for (int i = 0; i < 500; ++i) ids.push_back(CreateSession(*store, "a", absl::Seconds(10)));
  for (int i = 0; i < 400; ++i) ASSERT_TRUE(store->Delete(ids[i], "a").ok());
  for (int i = 0; i < 200; ++i) ids.push_back(CreateSession(*store, "a", absl::Seconds(10)));
  clock_.Advance(absl::Seconds(5));
  for (int i = 400; i < 450; ++i) ASSERT_TRUE(store->Touch(ids[i], "a").ok());
  clock_.Advance(absl::Seconds(5));  // t=10: all but the 50 touched are due
  EXPECT_EQ(store->ReapExpired(clock_.Now()), 250);
  EXPECT_EQ(store->stats().sessions, 50);
  clock_.Advance(absl::Seconds(5));
  EXPECT_EQ(store->ReapExpired(clock_.Now()), 50);
  EXPECT_EQ(store->stats().sessions, 0);
}

TEST_F(SessionStoreTest, MaxSessionsEvictsTheLeastRecentlyUsed) {
  SessionStoreOptions options = TestOptions(clock_);
  options.max_sessions = 3;
  auto store = MakeStore(options);
  const std::string a = CreateSession(*store);
  const std::string b = CreateSession(*store);
  const std::string c = CreateSession(*store);
  ASSERT_TRUE(store->Touch(a, "alice").ok());  // LRU order now b, c, a
  const std::string d = CreateSession(*store);
  EXPECT_EQ(store->stats().sessions, 3);
  absl::Status evicted = store->Get(b, "alice").status();
  EXPECT_EQ(evicted.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(evicted.message(), HasSubstr("evicted"));
  EXPECT_THAT(evicted.message(), HasSubstr("limit of 3 sessions"));
  for (const std::string& id : {a, c, d}) EXPECT_TRUE(store->Get(id, "alice").ok());
  // Get is not a use: c is still the LRU.
  const std::string e = CreateSession(*store);
  EXPECT_THAT(store->Get(c, "alice").status().message(), HasSubstr("evicted"));
  EXPECT_EQ(store->stats().evicted_lru, 2);
  (void)e;
}

TEST_F(SessionStoreTest, MaxSessionsNeverEvictsBusySessions) {
  SessionStoreOptions options = TestOptions(clock_);
  options.max_sessions = 2;
  auto store = MakeStore(options);
  const std::string a = CreateSession(*store);
  const std::string b = CreateSession(*store);
  absl::StatusOr<TurnLease> lease_a = store->BeginTurn(a, "alice");
  ASSERT_TRUE(lease_a.ok());
  ASSERT_TRUE(store->Touch(b, "alice").ok());  // b is newer but a is busy: b goes
  CreateSession(*store);
  EXPECT_THAT(store->Get(b, "alice").status().message(), HasSubstr("evicted"));
  EXPECT_TRUE(store->Get(a, "alice").ok());
  // Now a (busy) and the new session; make the new one busy too and the cap is exhausted.
  absl::StatusOr<SessionPage> page = store->List("alice", 10, "");
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->sessions.size(), 2u);
  std::vector<TurnLease> leases;
  for (const SessionSnapshot& s : page->sessions) {
    if (s.id == a) continue;
    absl::StatusOr<TurnLease> lease = store->BeginTurn(s.id, "alice");
    ASSERT_TRUE(lease.ok());
    leases.push_back(std::move(*lease));
  }
  absl::Status full = store->Create("alice", "", absl::ZeroDuration(), {}).status();
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(full.message(), HasSubstr("every one is busy"));
  EXPECT_EQ(store->stats().sessions, 2);
  leases.clear();
  EXPECT_TRUE(store->Create("alice", "", absl::ZeroDuration(), {}).ok());
  EXPECT_EQ(store->stats().sessions, 2);
}

TEST_F(SessionStoreTest, PinCapDropsKvOfLeastRecentlyUsedButKeepsTranscript) {
  SessionStoreOptions options = TestOptions(clock_);
  options.max_pinned_kv_blocks = 10;
  auto store = MakeStore(options);
  const std::string a = CreateSession(*store);
  const std::string b = CreateSession(*store);
  const std::string c = CreateSession(*store);
  CommitTurn(*store, a, MakeFakeKv(4));
  CommitTurn(*store, b, MakeFakeKv(4));
  EXPECT_EQ(store->stats().pinned_kv_blocks, 8);
  EXPECT_EQ(store->stats().sessions_with_kv, 2);
  CommitTurn(*store, c, MakeFakeKv(4));  // 12 > 10: a (least recently used) loses its KV
  EXPECT_EQ(store->stats().pinned_kv_blocks, 8);
  EXPECT_EQ(store->stats().kv_drops, 1);
  absl::StatusOr<SessionSnapshot> dropped = store->Get(a, "alice");
  ASSERT_TRUE(dropped.ok());
  EXPECT_EQ(dropped->kv, nullptr);
  EXPECT_EQ(dropped->kv_blocks, 0);
  EXPECT_EQ(dropped->messages.size(), 2u);  // transcript kept
  EXPECT_EQ(dropped->tokens, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_NE(store->Get(b, "alice")->kv, nullptr);
  EXPECT_NE(store->Get(c, "alice")->kv, nullptr);

  // Using b makes c the LRU holder; a larger KV for a then evicts c, then b if needed.
  ASSERT_TRUE(store->Touch(b, "alice").ok());
  CommitTurn(*store, a, MakeFakeKv(6));  // 14 > 10: drop c (LRU) -> 10
  EXPECT_EQ(store->Get(c, "alice")->kv, nullptr);
  EXPECT_NE(store->Get(b, "alice")->kv, nullptr);
  EXPECT_EQ(store->stats().pinned_kv_blocks, 10);
  // Deleting releases the pin.
  ASSERT_TRUE(store->Delete(a, "alice").ok());
  EXPECT_EQ(store->stats().pinned_kv_blocks, 4);
  EXPECT_EQ(store->stats().sessions_with_kv, 1);
}

TEST_F(SessionStoreTest, ZeroPinCapKeepsNoKv) {
  SessionStoreOptions options = TestOptions(clock_);
  options.max_pinned_kv_blocks = 0;
  auto store = MakeStore(options);
  const std::string a = CreateSession(*store);
  CommitTurn(*store, a, MakeFakeKv(1));
  EXPECT_EQ(store->Get(a, "alice")->kv, nullptr);
  EXPECT_EQ(store->stats().pinned_kv_blocks, 0);
}

TEST_F(SessionStoreTest, ForkCopiesTranscriptAndSharesKv) {
  SessionStoreOptions options = TestOptions(clock_);
  options.max_pinned_kv_blocks = 100;
  auto store = MakeStore(options);
  absl::StatusOr<SessionSnapshot> parent =
      store->Create("alice", "sys", absl::Seconds(100), {{"k", "v"}});
  ASSERT_TRUE(parent.ok());
  auto kv = MakeFakeKv(7);
  CommitTurn(*store, parent->id, kv);
  absl::StatusOr<SessionSnapshot> child = store->Fork(parent->id, "alice", std::nullopt);
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_NE(child->id, parent->id);
  EXPECT_EQ(child->owner, "alice");
  EXPECT_EQ(child->system_prompt, "sys");
  EXPECT_EQ(child->labels.at("k"), "v");
  EXPECT_EQ(child->messages.size(), 2u);
  EXPECT_EQ(child->tokens, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(child->kv.get(), kv.get());  // the same handle, shared
  EXPECT_EQ(child->ttl, absl::Seconds(100));
  EXPECT_EQ(child->turns, 1);
  // The shared handle is pinned once.
  EXPECT_EQ(store->stats().pinned_kv_blocks, 7);
  EXPECT_EQ(store->stats().sessions_with_kv, 2);
  EXPECT_EQ(store->stats().forked, 1);

  // The branches diverge.
  CommitTurn(*store, child->id, MakeFakeKv(9));
  EXPECT_EQ(store->Get(child->id, "alice")->messages.size(), 4u);
  EXPECT_EQ(store->Get(parent->id, "alice")->messages.size(), 2u);
  EXPECT_EQ(store->stats().pinned_kv_blocks, 16);

  absl::StatusOr<SessionSnapshot> short_fork = store->Fork(parent->id, "alice", absl::Seconds(3));
  ASSERT_TRUE(short_fork.ok());
  EXPECT_EQ(short_fork->ttl, absl::Seconds(3));
  EXPECT_EQ(store->Fork(parent->id, "alice", absl::Hours(3)).status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(store->Delete(parent->id, "alice").ok());
  EXPECT_THAT(store->Fork(parent->id, "alice", std::nullopt).status().message(),
              HasSubstr("was deleted"));
}

TEST_F(SessionStoreTest, TombstonesAreBounded) {
  SessionStoreOptions options = TestOptions(clock_);
  options.num_shards = 1;
  options.tombstones = 2;
  auto store = MakeStore(options);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(CreateSession(*store));
  for (const std::string& id : ids) ASSERT_TRUE(store->Delete(id, "alice").ok());
  // The oldest tombstone was dropped: its id is now merely unknown.
  absl::Status oldest = store->Get(ids[0], "alice").status();
  EXPECT_EQ(oldest.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(oldest.message(), HasSubstr("not found"));
  EXPECT_THAT(store->Get(ids[1], "alice").status().message(), HasSubstr("was deleted"));
  EXPECT_THAT(store->Get(ids[2], "alice").status().message(), HasSubstr("was deleted"));
}

TEST_F(SessionStoreTest, ListPagesAreStableAndPerOwner) {
  SessionStoreOptions options = TestOptions(clock_);
  options.list_page_size_max = 20;
  options.list_page_size_default = 8;
  auto store = MakeStore(options);
  std::set<std::string> alice;
  for (int i = 0; i < 45; ++i) alice.insert(CreateSession(*store, "alice"));
  for (int i = 0; i < 5; ++i) CreateSession(*store, "bob");

  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  std::set<std::string> deleted, added;
  do {
    absl::StatusOr<SessionPage> page = store->List("alice", 10, token);
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_LE(page->sessions.size(), 10u);
    for (const SessionSnapshot& s : page->sessions) {
      EXPECT_EQ(s.owner, "alice");
      EXPECT_TRUE(s.messages.empty());
      if (!seen.empty()) {
        EXPECT_LT(seen.back(), s.id);  // ascending, no repeats
      }
      seen.push_back(s.id);
    }
    token = page->next_page_token;
    ++pages;
    // Churn between pages: delete a session not yet listed and add new ones.
    if (pages == 1) {
      const std::string victim = *alice.rbegin();
      ASSERT_TRUE(store->Delete(victim, "alice").ok());
      deleted.insert(victim);
      for (int i = 0; i < 3; ++i) added.insert(CreateSession(*store, "alice"));
    }
  } while (!token.empty());
  const std::set<std::string> seen_set(seen.begin(), seen.end());
  for (const std::string& id : alice) {
    if (deleted.count(id) == 0) {
      EXPECT_EQ(seen_set.count(id), 1u) << id;
    }
  }
  for (const std::string& id : deleted) EXPECT_EQ(seen_set.count(id), 0u);
  EXPECT_GE(pages, 5);

  absl::StatusOr<SessionPage> bob = store->List("bob", 0, "");
  ASSERT_TRUE(bob.ok());
  EXPECT_EQ(bob->sessions.size(), 5u);  // fewer than the default page
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

// Enough churn per shard that the owner index merges its pending additions and removals many
// times (also keys added and removed between two merges); List must stay exact and stable.
TEST_F(SessionStoreTest, ListStaysExactThroughHeavyChurn) {
  SessionStoreOptions options = TestOptions(clock_);
  options.num_shards = 2;
  options.max_sessions = 100000;
  options.list_page_size_max = 1000;
  auto store = MakeStore(options);
  std::vector<std::string> created;
  std::set<std::string> live;
  for (int round = 0; round < 6; ++round) {
    for (int i = 0; i < 300; ++i) created.push_back(CreateSession(*store, "alice"));
    // Delete every third session created so far that is still live (old and brand-new ones).
    for (size_t i = round; i < created.size(); i += 3) {
      if (created[i].empty()) continue;
      ASSERT_TRUE(store->Delete(created[i], "alice").ok());
      EXPECT_THAT(store->Get(created[i], "alice").status().message(), HasSubstr("was deleted"));
      created[i].clear();
    }
    CreateSession(*store, "bob");
  }
  for (const std::string& id : created) {
    if (!id.empty()) live.insert(id);
  }
  ASSERT_EQ(store->stats().sessions, static_cast<int64_t>(live.size()) + 6);
  for (const std::string& id : live) ASSERT_TRUE(store->Get(id, "alice").ok()) << id;

  // Page through with churn between pages: sessions that live throughout appear exactly once.
  std::vector<std::string> seen;
  std::string token;
  std::set<std::string> deleted_while_paging;
  do {
    absl::StatusOr<SessionPage> page = store->List("alice", 37, token);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const SessionSnapshot& s : page->sessions) {
      if (!seen.empty()) {
        ASSERT_LT(seen.back(), s.id);
      }
      seen.push_back(s.id);
    }
    token = page->next_page_token;
    for (int i = 0; i < 40; ++i) {
      const std::string fresh = CreateSession(*store, "alice");
      if (i % 2 == 0) {
        ASSERT_TRUE(store->Delete(fresh, "alice").ok());
      }
    }
    const std::string victim = *live.rbegin();
    if (deleted_while_paging.insert(victim).second) {
      ASSERT_TRUE(store->Delete(victim, "alice").ok());
    }
  } while (!token.empty());
  const std::set<std::string> seen_set(seen.begin(), seen.end());
  for (const std::string& id : live) {
    if (deleted_while_paging.count(id) == 0) {
      EXPECT_EQ(seen_set.count(id), 1u) << id;
    }
  }
  for (const std::string& id : deleted_while_paging) EXPECT_EQ(seen_set.count(id), 0u) << id;
  EXPECT_EQ(store->List("bob", 100, "")->sessions.size(), 6u);
}

TEST_F(SessionStoreTest, ConcurrentTurnsOnOneSessionAreExclusive) {
  auto store = MakeStore();
  const std::string id = CreateSession(*store);
  std::atomic<int> inside{0}, overlaps{0}, aborted{0}, committed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        absl::StatusOr<TurnLease> lease = store->BeginTurn(id, "alice");
        if (!lease.ok()) {
          EXPECT_EQ(lease.status().code(), absl::StatusCode::kAborted);
          EXPECT_THAT(lease.status().message(), HasSubstr("busy"));
          aborted.fetch_add(1);
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
  absl::StatusOr<SessionSnapshot> session = store->Get(id, "alice");
  ASSERT_TRUE(session.ok());
  // Every commit appended exactly one message and one token on top of the previous commit.
  EXPECT_EQ(session->turns, committed.load());
  EXPECT_EQ(session->messages.size(), static_cast<size_t>(committed.load()));
  ASSERT_EQ(session->tokens.size(), static_cast<size_t>(committed.load()));
  for (size_t i = 0; i < session->tokens.size(); ++i) EXPECT_EQ(session->tokens[i], i);
  EXPECT_FALSE(session->busy);
}

TEST_F(SessionStoreTest, ManyThreadsHammeringKeepTheBooksConsistent) {
  SessionStoreOptions options = TestOptions(clock_);
  options.max_sessions = 64;
  options.max_pinned_kv_blocks = 40;
  options.num_shards = 8;
  auto store = MakeStore(options);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::string> mine;
      const std::string owner = "owner" + std::to_string(t % 2);
      for (int i = 0; i < 2000; ++i) {
        const int op = (i * 7 + t) % 10;
        if (mine.empty() || op == 0) {
          absl::StatusOr<SessionSnapshot> s =
              store->Create(owner, "", absl::Seconds(1 + i % 5), {});
          if (s.ok()) mine.push_back(s->id);
          continue;
        }
        const std::string& id = mine[static_cast<size_t>(i) % mine.size()];
        switch (op) {
          case 1:
          case 2: {
            absl::StatusOr<TurnLease> lease = store->BeginTurn(id, owner);
            if (lease.ok() && i % 3 != 0) {
              (void)lease->Commit({Message("user", "x")}, {1, 2}, MakeFakeKv(1 + i % 4));
            }
            break;
          }
          case 3:
            (void)store->Get(id, owner);
            break;
          case 4:
            (void)store->Touch(id, owner);
            break;
          case 5:
            (void)store->Delete(id, owner);
            break;
          case 6: {
            absl::StatusOr<SessionSnapshot> s = store->Fork(id, owner, std::nullopt);
            if (s.ok()) mine.push_back(s->id);
            break;
          }
          case 7:
            (void)store->List(owner, 5, "");
            break;
          case 8:
            store->ReapExpired(store->Now());
            break;
          default:
            if (t == 0) clock_.Advance(absl::Milliseconds(10));
            break;
        }
        if (mine.size() > 200) mine.erase(mine.begin(), mine.begin() + 100);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const SessionStoreStats stats = store->stats();
  EXPECT_LE(stats.sessions, 64);
  EXPECT_LE(stats.pinned_kv_blocks, 40);
  EXPECT_EQ(stats.sessions, stats.created - stats.deleted - stats.evicted_ttl - stats.evicted_lru);
  // Every live session is listed exactly once.
  int64_t listed = 0;
  for (const std::string owner : {"owner0", "owner1"}) {
    std::string token;
    do {
      absl::StatusOr<SessionPage> page = store->List(owner, 50, token);
      ASSERT_TRUE(page.ok());
      for (const SessionSnapshot& s : page->sessions) {
        EXPECT_FALSE(s.busy);
        ++listed;
      }
      token = page->next_page_token;
    } while (!token.empty());
  }
  // Listing skips sessions that expired but were not reaped yet; reap them first.
  EXPECT_EQ(listed + store->ReapExpired(store->Now()), stats.sessions);
}

}  // namespace
}  // namespace minimind
