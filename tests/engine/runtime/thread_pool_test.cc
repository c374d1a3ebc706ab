#include "engine/runtime/thread_pool.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace minimind {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<ThreadPool> MakePool(int num_threads) {
  absl::StatusOr<std::unique_ptr<ThreadPool>> pool = ThreadPool::Create(num_threads);
  EXPECT_TRUE(pool.ok()) << pool.status();
  return *std::move(pool);
}

class ThreadPoolTest : public ::testing::TestWithParam<int> {};

TEST_P(ThreadPoolTest, EveryTaskRunsExactlyOnceOnAValidWorker) {
  std::unique_ptr<ThreadPool> pool = MakePool(GetParam());
  ASSERT_EQ(pool->num_threads(), GetParam());
  for (const int64_t num_tasks : {2, 3, 7, 64, 1000}) {
    std::vector<std::atomic<int>> runs(num_tasks);
    std::atomic<bool> bad_worker{false};
    pool->ParallelFor(num_tasks, [&](int64_t task, int worker) {
      runs[task].fetch_add(1);
      if (worker < 0 || worker >= GetParam()) bad_worker = true;
    });
    for (int64_t task = 0; task < num_tasks; ++task) {
      EXPECT_EQ(runs[task].load(), 1) << "task " << task << " of " << num_tasks;
    }
    EXPECT_FALSE(bad_worker);
  }
}

TEST_P(ThreadPoolTest, ZeroTasksRunNothingAndOneTaskRunsOnTheCaller) {
  std::unique_ptr<ThreadPool> pool = MakePool(GetParam());
  int calls = 0;
  pool->ParallelFor(0, [&](int64_t, int) { ++calls; });
  pool->ParallelFor(-3, [&](int64_t, int) { ++calls; });
  EXPECT_EQ(calls, 0);
  const std::thread::id caller = std::this_thread::get_id();
  pool->ParallelFor(1, [&](int64_t task, int worker) {
    ++calls;
    EXPECT_EQ(task, 0);
    EXPECT_EQ(worker, 0);
    EXPECT_EQ(std::this_thread::get_id(), caller);
  });
  EXPECT_EQ(calls, 1);
}

// Many short jobs in a row, as a forward pass issues them: each sees all its tasks done when
// ParallelFor returns (no task of one job leaks into the next).
TEST_P(ThreadPoolTest, ManyCallsInARowEachCompleteOnReturn) {
  std::unique_ptr<ThreadPool> pool = MakePool(GetParam());
  std::vector<int64_t> out(16);
  for (int64_t call = 0; call < 5000; ++call) {
    pool->ParallelFor(16, [&](int64_t task, int) { out[task] = call * 16 + task; });
    for (int64_t task = 0; task < 16; ++task) ASSERT_EQ(out[task], call * 16 + task);
  }
}

// Calls separated by pauses long enough for the workers to stop spinning and block.
TEST_P(ThreadPoolTest, CallsAfterWorkersBlockStillRunEveryTask) {
  std::unique_ptr<ThreadPool> pool = MakePool(GetParam());
  for (int call = 0; call < 3; ++call) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::atomic<int64_t> sum{0};
    pool->ParallelFor(100, [&](int64_t task, int) { sum += task; });
    EXPECT_EQ(sum.load(), 99 * 100 / 2);
  }
}

// Pauses between calls and task lengths that straddle the spin limits (workers 20 µs, caller
// 50 µs), so that workers go to sleep and the caller blocks at every point of the handshake: a
// lost wake-up of the caller would hang here, and every job still runs every task once.
TEST_P(ThreadPoolTest, CallsAroundTheSpinLimitsNeverLoseAWakeUp) {
  std::unique_ptr<ThreadPool> pool = MakePool(GetParam());
  const auto busy_wait = [](int64_t microseconds) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::microseconds(microseconds);
    while (std::chrono::steady_clock::now() < end) {
    }
  };
  for (int64_t call = 0; call < 600; ++call) {
    busy_wait(call % 7 * 10);  // 0 to 60 µs.
    std::atomic<int64_t> sum{0};
    pool->ParallelFor(4, [&](int64_t task, int worker) {
      if (worker != 0) busy_wait(call % 11 * 10);  // Workers finish after the caller.
      sum += task + 1;
    });
    ASSERT_EQ(sum.load(), 10) << call;
  }
}

// Two tasks running at the same time never share a worker index (what per-worker scratch needs).
TEST_P(ThreadPoolTest, ConcurrentTasksHaveDistinctWorkers) {
  std::unique_ptr<ThreadPool> pool = MakePool(GetParam());
  std::vector<std::atomic<int>> in_use(GetParam());
  std::atomic<bool> shared{false};
  for (int call = 0; call < 200; ++call) {
    pool->ParallelFor(32, [&](int64_t, int worker) {
      if (in_use[worker].fetch_add(1) != 0) shared = true;
      std::this_thread::yield();  // Widens the window in which an overlap would show.
      in_use[worker].fetch_sub(1);
    });
  }
  EXPECT_FALSE(shared);
}

TEST_P(ThreadPoolTest, WorkersShareTheTasksWhenTasksWait) {
  if (GetParam() == 1) GTEST_SKIP() << "one thread: nothing to share";
  std::unique_ptr<ThreadPool> pool = MakePool(GetParam());
  std::vector<std::atomic<int>> tasks_per_worker(GetParam());
  // Each task sleeps, so the caller alone cannot take them all before a worker wakes.
  pool->ParallelFor(8 * GetParam(), [&](int64_t, int worker) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    tasks_per_worker[worker].fetch_add(1);
  });
  int workers_used = 0;
  for (const std::atomic<int>& count : tasks_per_worker) workers_used += count.load() > 0;
  EXPECT_GT(workers_used, 1);
}

TEST_P(ThreadPoolTest, DestructionJoinsIdleAndJustUsedPools) {
  for (int round = 0; round < 20; ++round) {
    std::unique_ptr<ThreadPool> pool = MakePool(GetParam());
    if (round % 2 == 0) {
      std::atomic<int> count{0};
      pool->ParallelFor(10, [&](int64_t, int) { ++count; });
      EXPECT_EQ(count.load(), 10);
    }
    pool.reset();  // Must return (join) whether the workers are spinning or blocked.
  }
}

INSTANTIATE_TEST_SUITE_P(ThreadCounts, ThreadPoolTest, ::testing::Values(1, 2, 3, 8));

TEST(ThreadPoolCreateTest, RejectsThreadCountsOutOfRange) {
  for (const int bad : {0, -1, ThreadPool::kMaxThreads + 1}) {
    absl::StatusOr<std::unique_ptr<ThreadPool>> pool = ThreadPool::Create(bad);
    ASSERT_FALSE(pool.ok()) << bad;
    EXPECT_EQ(pool.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(pool.status().message(), HasSubstr("thread count"));
  }
}

}  // namespace
}  // namespace minimind
