#include "service/sessions/session_reaper.h"

#include <chrono>
#include <memory>
#include <thread>

#include "gtest/gtest.h"
#include "tests/service/sessions/fake_kv.h"

namespace minimind {
namespace {

TEST(SessionReaperTest, ReapsExpiredSessionsInTheBackground) {
  ManualClock clock;
  absl::StatusOr<std::unique_ptr<MemorySessionStore>> store =
      MemorySessionStore::Make(TestOptions(clock));
  ASSERT_TRUE(store.ok());
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE((*store)->Create("a", "", i < 15 ? absl::Seconds(1) : absl::Seconds(100), {}).ok());
  }
  SessionReaper reaper(**store, absl::Milliseconds(1));
  clock.Advance(absl::Seconds(2));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (reaper.reaped() < 15 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(reaper.reaped(), 15);
  EXPECT_EQ((*store)->stats().sessions, 5);
  EXPECT_EQ((*store)->stats().evicted_ttl, 15);
}

TEST(SessionReaperTest, DestructorDoesNotWaitOutTheInterval) {
  ManualClock clock;
  absl::StatusOr<std::unique_ptr<MemorySessionStore>> store =
      MemorySessionStore::Make(TestOptions(clock));
  ASSERT_TRUE(store.ok());
  const auto start = std::chrono::steady_clock::now();
  { SessionReaper reaper(**store, absl::Hours(1)); }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

}  // namespace
}  // namespace minimind
