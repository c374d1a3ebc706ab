// IoExecutor: a small thread pool for work that waits on the session store, so that neither the
// engine thread nor gRPC's callback threads ever do.
//
// The engine thread only pushes events (ARCHITECTURE.md: it never waits on I/O), and a gRPC
// reaction must not block either: gRPC runs every reaction of every call (the next write of a
// stateless stream included) on a few callback threads, so one blocked in a Redis round trip stalls
// unrelated streams. Two instances serve the server:
//   - commits (ServingModel::commits): a finished session turn's commit — chat template, tokenize,
//     store write (a Redis round trip, retried up to the commit deadline when Redis hangs) — after
//     which the job delivers the call's last message (generation_core.h);
//   - session calls (Server): gRPC calls that touch the store before they can answer — a session
//     turn's start (BeginTurn) and the Sessions service's RPCs; each job finishes its call.
//
// Jobs start on `threads` worker threads in the order posted (one job per thread at a time). A job
// mostly waits on the store, so there are several: a store that hangs delays the jobs (more than
// `threads` of them then wait their turn), never a token of any stream. Post never blocks. Flush
// waits until every job posted before it has run (the drain calls it before the session store
// goes). The destructor runs every job still queued, then joins: a job is never dropped, because
// each holds a call that waits for it.
//
// Thread-safety: Post, Flush and pending from any thread.
#ifndef MINIMIND_SERVICE_GENERATION_IO_EXECUTOR_H_
#define MINIMIND_SERVICE_GENERATION_IO_EXECUTOR_H_

#include <cstdint>
#include <deque>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace minimind {

class IoExecutor {
 public:
  explicit IoExecutor(int threads = 8);
  IoExecutor(const IoExecutor&) = delete;
  IoExecutor& operator=(const IoExecutor&) = delete;
  ~IoExecutor();

  void Post(absl::AnyInvocable<void() &&> job);

  // Waits until every job posted so far has finished, or `timeout` passed; true when they have.
  bool Flush(absl::Duration timeout);

  // Jobs queued or running.
  int64_t pending() const;

 private:
  void Work();

  mutable absl::Mutex mutex_;
  std::deque<absl::AnyInvocable<void() &&>> jobs_ ABSL_GUARDED_BY(mutex_);
  int64_t running_ ABSL_GUARDED_BY(mutex_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::vector<std::thread> threads_;  // last: started once the queue exists
};

}  // namespace minimind

#endif  // MINIMIND_SERVICE_GENERATION_IO_EXECUTOR_H_
