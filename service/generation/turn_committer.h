// TurnCommitter: where finished session turns are committed, off the engine thread.
//
// The engine thread only pushes events (ARCHITECTURE.md: it never waits on I/O). A session turn's
// end needs the chat template rendered, the reply tokenized and the session store written — a
// Redis round trip that can take as long as the store's commit deadline when Redis hangs. The
// generation core (generation_core.h) therefore posts each finished turn here as a job; the job
// commits (or releases) the turn's lease and only then delivers the call's last message, so a
// client that sees the end of a turn can send the next one at once.
//
// Jobs start on `threads` worker threads in the order posted (one job per thread at a time). A job
// mostly waits on the store, so there are several: a store that hangs delays the commits (each up
// to the store's commit deadline; more than `threads` finished turns then wait their turn), never
// a token of any stream. Post never
// blocks. Flush waits until every job posted before it has run (the drain calls it before the
// session store goes). The destructor runs every job still queued, then joins: a job is never
// dropped, because each holds a call that waits for its last message.
//
// Thread-safety: Post, Flush and pending from any thread.
#ifndef MINIMIND_SERVICE_GENERATION_TURN_COMMITTER_H_
#define MINIMIND_SERVICE_GENERATION_TURN_COMMITTER_H_

#include <cstdint>
#include <deque>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace minimind {

class TurnCommitter {
 public:
  explicit TurnCommitter(int threads = 8);
  TurnCommitter(const TurnCommitter&) = delete;
  TurnCommitter& operator=(const TurnCommitter&) = delete;
  ~TurnCommitter();

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

#endif  // MINIMIND_SERVICE_GENERATION_TURN_COMMITTER_H_
