#include "service/sessions/turn_lease.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/sessions/memory_session_store.h"
#include "tests/service/sessions/fake_kv.h"

namespace minimind {
namespace {

using ::testing::HasSubstr;

class TurnLeaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<MemorySessionStore>> store =
        MemorySessionStore::Make(TestOptions(clock_));
    ASSERT_TRUE(store.ok());
    store_ = std::move(*store);
    absl::StatusOr<SessionSnapshot> session = store_->Create("alice", "sys", absl::Seconds(10), {});
    ASSERT_TRUE(session.ok());
    id_ = session->id;
  }

  ManualClock clock_;
  std::unique_ptr<SessionStore> store_;
  std::string id_;
};

TEST_F(TurnLeaseTest, SecondTurnWhileBusyIsAborted) {
  absl::StatusOr<TurnLease> first = store_->BeginTurn(id_, "alice");
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->snapshot().busy);
  EXPECT_TRUE(store_->Get(id_, "alice")->busy);
  absl::Status second = store_->BeginTurn(id_, "alice").status();
  EXPECT_EQ(second.code(), absl::StatusCode::kAborted);
  EXPECT_THAT(second.message(), HasSubstr("busy"));
}

TEST_F(TurnLeaseTest, CommitAppliesTheTurn) {
  clock_.Advance(absl::Seconds(3));
  absl::StatusOr<TurnLease> lease = store_->BeginTurn(id_, "alice");
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ(lease->snapshot().last_used, clock_.Now());  // BeginTurn refreshes last_used
  auto kv = MakeFakeKv(2);
  clock_.Advance(absl::Seconds(1));
  ASSERT_TRUE(
      lease->Commit({Message("user", "hi"), Message("assistant", "yo")}, {7, 8, 9}, kv).ok());
  EXPECT_FALSE(lease->valid());
  absl::StatusOr<SessionSnapshot> session = store_->Get(id_, "alice");
  ASSERT_TRUE(session.ok());
  ASSERT_EQ(session->messages.size(), 2u);
  EXPECT_EQ(session->messages[0].role, "user");
  EXPECT_EQ(session->messages[1].content, "yo");
  EXPECT_EQ(session->tokens, (std::vector<int32_t>{7, 8, 9}));
  EXPECT_EQ(session->kv.get(), kv.get());
  EXPECT_EQ(session->kv_blocks, 2);
  EXPECT_EQ(session->turns, 1);
  EXPECT_FALSE(session->busy);
  EXPECT_EQ(session->last_used, clock_.Now());
  EXPECT_EQ(session->expires, clock_.Now() + absl::Seconds(10));
  // A committed lease cannot commit again.
  absl::Status again = lease->Commit({}, {}, nullptr);
  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(store_->BeginTurn(id_, "alice").ok());
}

TEST_F(TurnLeaseTest, DroppingTheLeaseRollsBack) {
  {
    absl::StatusOr<TurnLease> lease = store_->BeginTurn(id_, "alice");
    ASSERT_TRUE(lease.ok());
    ASSERT_TRUE(lease->Commit({Message("user", "one")}, {1}, nullptr).ok());
  }
  {
    absl::StatusOr<TurnLease> lease = store_->BeginTurn(id_, "alice");
    ASSERT_TRUE(lease.ok());
    EXPECT_EQ(lease->snapshot().messages.size(), 1u);
    // Destroyed without Commit: a failed or cancelled turn.
  }
  absl::StatusOr<SessionSnapshot> session = store_->Get(id_, "alice");
  ASSERT_TRUE(session.ok());
  EXPECT_EQ(session->messages.size(), 1u);
  EXPECT_EQ(session->tokens, (std::vector<int32_t>{1}));
  EXPECT_EQ(session->turns, 1);
  EXPECT_FALSE(session->busy);
  absl::StatusOr<TurnLease> lease = store_->BeginTurn(id_, "alice");
  ASSERT_TRUE(lease.ok());
  lease->Release();
  EXPECT_FALSE(lease->valid());
  EXPECT_FALSE(store_->Get(id_, "alice")->busy);
}

TEST_F(TurnLeaseTest, CommitAfterDeleteIsNotFoundAndAppliesNothing) {
  absl::StatusOr<TurnLease> lease = store_->BeginTurn(id_, "alice");
  ASSERT_TRUE(lease.ok());
  ASSERT_TRUE(store_->Delete(id_, "alice").ok());  // allowed while busy
  auto kv = MakeFakeKv(3);
  absl::Status status = lease->Commit({Message("user", "x")}, {1}, kv);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("was deleted"));
  EXPECT_EQ(store_->stats().pinned_kv_blocks, 0);
  EXPECT_EQ(kv.use_count(), 1);  // the store kept no reference
}

TEST_F(TurnLeaseTest, MovedLeaseOwnsTheTurn) {
  absl::StatusOr<TurnLease> lease = store_->BeginTurn(id_, "alice");
  ASSERT_TRUE(lease.ok());
  TurnLease moved = std::move(*lease);
  EXPECT_FALSE(lease->valid());
  EXPECT_TRUE(moved.valid());
  lease->Release();  // no effect: the moved-from lease holds nothing
  EXPECT_TRUE(store_->Get(id_, "alice")->busy);
  TurnLease assigned;
  assigned = std::move(moved);
  EXPECT_TRUE(store_->Get(id_, "alice")->busy);
  ASSERT_TRUE(assigned.Commit({Message("user", "x")}, {4}, nullptr).ok());
  EXPECT_EQ(store_->Get(id_, "alice")->turns, 1);
  EXPECT_EQ(TurnLease().Commit({}, {}, nullptr).code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(TurnLeaseTest, BusySessionKeepsItsKvUnderThePinCap) {
  SessionStoreOptions options = TestOptions(clock_);
  options.max_pinned_kv_blocks = 5;
  absl::StatusOr<std::unique_ptr<MemorySessionStore>> store = MemorySessionStore::Make(options);
  ASSERT_TRUE(store.ok());
  const std::string a = (*store)->Create("alice", "", absl::ZeroDuration(), {})->id;
  const std::string b = (*store)->Create("alice", "", absl::ZeroDuration(), {})->id;
  {
    absl::StatusOr<TurnLease> lease = (*store)->BeginTurn(a, "alice");
    ASSERT_TRUE(lease->Commit({}, {1}, MakeFakeKv(4)).ok());
  }
  absl::StatusOr<TurnLease> busy_a = (*store)->BeginTurn(a, "alice");
  ASSERT_TRUE(busy_a.ok());
  {
    absl::StatusOr<TurnLease> lease = (*store)->BeginTurn(b, "alice");
    // 8 > 5, but a is busy: b (the only idle holder) loses its own KV.
    ASSERT_TRUE(lease->Commit({}, {1}, MakeFakeKv(4)).ok());
  }
  EXPECT_EQ((*store)->Get(b, "alice")->kv, nullptr);
  EXPECT_NE((*store)->Get(a, "alice")->kv, nullptr);
  EXPECT_EQ((*store)->stats().pinned_kv_blocks, 4);
}

}  // namespace
}  // namespace minimind
