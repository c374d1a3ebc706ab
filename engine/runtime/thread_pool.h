// ThreadPool: a fixed set of worker threads that, together with the calling thread, run the
// tasks of one ParallelFor at a time. The engine thread uses it to split each forward step over
// cores (matmul output features, attention (sequence, head) pairs); see engine/model/forward.h.
//
// Contract:
//   * A pool of N threads owns N - 1 worker threads, started by Create and joined by the
//     destructor; ParallelFor never creates threads. The calling thread is worker 0 and runs
//     tasks too, so N = 1 means "run inline" and costs nothing.
//   * ParallelFor(num_tasks, fn) calls fn(task, worker) exactly once for every task in
//     [0, num_tasks), in no particular order and on any worker in [0, N); it returns once every
//     call has returned and no worker will touch `fn` again. `worker` lets a task use per-worker
//     scratch: two calls running at the same time always have distinct `worker` values.
//   * Tasks are claimed dynamically (one atomic counter), and ParallelFor waits only for workers
//     that joined the job, so a worker the OS delays (2 busy cores) does not hold back the
//     others: the caller runs whatever is left. Which worker runs which task varies; callers that
//     want deterministic results must make each task's output independent of that (the forward
//     pass does).
//   * Idle workers spin for a few microseconds (so the back-to-back ParallelFor calls of one
//     forward pass do not pay a wake-up each) and then block on a condition variable, so an idle
//     pool uses no CPU.
// Thread-safety: ParallelFor must be called from one thread at a time (the engine thread); it is
// not reentrant (fn must not call ParallelFor on the same pool). fn must not throw. Not movable:
// workers refer to the pool; hold it by std::unique_ptr.
#ifndef MINIMIND_ENGINE_RUNTIME_THREAD_POOL_H_
#define MINIMIND_ENGINE_RUNTIME_THREAD_POOL_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace minimind {

class ThreadPool {
 public:
  // The largest pool Create accepts.
  static constexpr int kMaxThreads = 256;

  // A pool of `num_threads` threads in total, the caller's included: InvalidArgument unless
  // 1 ≤ num_threads ≤ kMaxThreads.
  static absl::StatusOr<std::unique_ptr<ThreadPool>> Create(int num_threads);

  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  // Wakes and joins every worker. Must not run concurrently with ParallelFor.
  ~ThreadPool();

  int num_threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Runs fn(task, worker) for every task in [0, num_tasks) (none for num_tasks ≤ 0) and waits for
  // all of them; see the contract above.
  void ParallelFor(int64_t num_tasks, absl::FunctionRef<void(int64_t task, int worker)> fn);

 private:
  explicit ThreadPool(int num_threads);

  void WorkerLoop(int worker);
  // Claims and runs tasks of the current job until none is left.
  void RunTasks(int worker);

  // The job word: generation (bits 63..32, incremented to post each job), `kOpen` (bit 31: the
  // job still accepts workers) and the number of workers inside the job (bits 30..0). A worker
  // joins by a compare-and-swap that requires the generation it saw and kOpen, and leaves by
  // decrementing; ParallelFor clears kOpen once every task is claimed and returns when the count
  // is 0. So a worker that wakes late never touches a finished job, and ParallelFor waits only
  // for workers that actually run its tasks.
  static constexpr uint64_t kOpen = uint64_t{1} << 31;
  static constexpr uint64_t kWorkersMask = kOpen - 1;
  std::atomic<uint64_t> state_{0};

  // The current job: written by ParallelFor before it posts the generation, read by workers only
  // after they joined it (the join's acquire orders them); unchanged while any worker is inside.
  const absl::FunctionRef<void(int64_t, int)>* job_ = nullptr;
  int64_t job_num_tasks_ = 0;
  std::atomic<int64_t> next_task_{0};

  // Sleeping is a Dekker handshake, so that a job is posted (and a worker leaves) without a
  // system call while nobody sleeps: a worker increments sleepers_ and then rereads state_ under
  // mutex_ before it waits; ParallelFor stores state_ and then reads sleepers_, locking mutex_
  // to signal only when it is non-zero. With sequentially consistent accesses at least one side
  // sees the other's write, and the lock makes the signal come after the worker is waiting.
  // caller_waiting_ does the same for the caller blocking in ParallelFor and the last worker to
  // leave its job.
  std::atomic<int> sleepers_{0};
  std::atomic<bool> caller_waiting_{false};

  absl::Mutex mutex_;  // Guards stopping_ and the waits on the condition variables.
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  absl::CondVar job_posted_;    // A new generation was posted, or stopping_ set.
  absl::CondVar job_finished_;  // The last worker left a closed job.

  std::vector<std::thread> workers_;  // [num_threads - 1]; worker i + 1 runs workers_[i].
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_RUNTIME_THREAD_POOL_H_
