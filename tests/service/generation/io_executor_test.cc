#include "service/generation/io_executor.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace minimind {
namespace {

TEST(IoExecutorTest, OneThreadRunsJobsInTheOrderPosted) {
  std::vector<int> order;
  absl::Mutex mutex;
  IoExecutor executor(/*threads=*/1);
  for (int i = 0; i < 100; ++i) {
    executor.Post([&, i] {
      absl::MutexLock lock(&mutex);
      order.push_back(i);
    });
  }
  ASSERT_TRUE(executor.Flush(absl::Seconds(10)));
  absl::MutexLock lock(&mutex);
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[i], i);
}

// Post returns at once even while every worker is stuck in a slow job (a hung store): the poster
// (the engine thread) is never held up.
TEST(IoExecutorTest, PostNeverWaitsForASlowJob) {
  IoExecutor executor(/*threads=*/2);
  absl::Notification release;
  for (int i = 0; i < 2; ++i) executor.Post([&] { release.WaitForNotification(); });
  std::atomic<int> ran{0};
  const absl::Time start = absl::Now();
  for (int i = 0; i < 1000; ++i) executor.Post([&] { ran.fetch_add(1); });
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(500));
  EXPECT_EQ(executor.pending(), 1002);
  EXPECT_FALSE(executor.Flush(absl::Milliseconds(50)));  // Stuck jobs: Flush times out.
  EXPECT_EQ(ran.load(), 0);
  release.Notify();
  EXPECT_TRUE(executor.Flush(absl::Seconds(10)));
  EXPECT_EQ(ran.load(), 1000);
  EXPECT_EQ(executor.pending(), 0);
}

// A job is never dropped: the destructor runs what is still queued (each job holds a call waiting
// for its last message).
TEST(IoExecutorTest, DestructorRunsEveryQueuedJob) {
  std::atomic<int> ran{0};
  {
    IoExecutor executor(/*threads=*/1);
    executor.Post([] { absl::SleepFor(absl::Milliseconds(50)); });
    for (int i = 0; i < 10; ++i) executor.Post([&] { ran.fetch_add(1); });
  }
  EXPECT_EQ(ran.load(), 10);
}

// Jobs that post jobs (a commit that delivers and then releases) do not deadlock Flush.
TEST(IoExecutorTest, JobsMayPostJobs) {
  IoExecutor executor(/*threads=*/1);
  std::atomic<int> ran{0};
  executor.Post([&] {
    ran.fetch_add(1);
    executor.Post([&] { ran.fetch_add(1); });
  });
  EXPECT_TRUE(executor.Flush(absl::Seconds(10)));
  EXPECT_EQ(ran.load(), 2);
}

}  // namespace
}  // namespace minimind
