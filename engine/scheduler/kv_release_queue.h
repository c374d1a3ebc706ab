// KvReleaseQueue: the one place where KV blocks cross threads. It owns the engine's KvCache
// (pool + prefix cache) and a list of sequences handed back by KvHandle destructors on any
// thread.
//
// While the engine thread runs, only it touches the cache (through cache(), without a lock), and
// a handle's destructor just appends its sequence to the pending list under the lock; the engine
// thread releases those blocks at the start of its next step (DrainPending). When the engine
// stops (StopEngine), ownership of the cache passes to the lock: later handle destructors
// release their blocks directly, serialised by the lock. The queue is shared (std::shared_ptr)
// by the engine and every live handle, so the pool outlives the last handle. Tasks that move KV
// in or out of the pool (Engine::ExportKv / ImportKv) cross the same way: queued under the lock,
// run by the engine thread after the releases of its next step, or at once under the lock when
// the engine has stopped; an export only reads a held sequence's blocks and runs on the caller's
// thread (ExportHeld).
#ifndef MINIMIND_ENGINE_SCHEDULER_KV_RELEASE_QUEUE_H_
#define MINIMIND_ENGINE_SCHEDULER_KV_RELEASE_QUEUE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "engine/kv/kv_cache.h"
#include "engine/kv/paged_kv_sequence.h"

namespace minimind {

class KvReleaseQueue {
 public:
  // `wake_engine` is called (under the queue's lock) after a release is posted, so an idle engine
  // thread frees the blocks promptly.
  KvReleaseQueue(KvCache cache, std::function<void()> wake_engine);
  KvReleaseQueue(const KvReleaseQueue&) = delete;
  KvReleaseQueue& operator=(const KvReleaseQueue&) = delete;
  ~KvReleaseQueue();

  // Engine thread only, before StopEngine.
  KvCache& cache() { return cache_; }

  // Any thread: gives a handle's sequence back (see the class comment).
  void Release(std::unique_ptr<PagedKvSequence> sequence);
  // Any thread: runs `task` with the cache on the engine thread (see the class comment).
  void RunOnEngine(absl::AnyInvocable<void(KvCache&) &&> task);
  // Any thread, without the engine: copies the blocks of `sequence`, which a live KvHandle of this
  // queue holds, into `out` (KvCache::ExportBlocksInto). Safe beside a running engine: a held
  // sequence never changes, its blocks are never written while shared (other sequences copy a
  // shared block before writing to it) nor reused while referenced, and the pool never moves.
  absl::Status ExportHeld(const PagedKvSequence& sequence, absl::Span<std::byte> out) const {
    return cache_.ExportBlocksInto(sequence, out);
  }

  // Engine thread: releases the blocks of every sequence posted so far.
  void DrainPending();

  // Engine thread, last call: releases what is pending and hands the cache to the lock.
  void StopEngine();

  // Live KvHandles created on this queue.
  int64_t live_handles() const { return live_handles_.load(std::memory_order_relaxed); }
  void HandleCreated() { live_handles_.fetch_add(1, std::memory_order_relaxed); }

 private:
  absl::Mutex mutex_;
  // Declared before pending_ so that pending sequences are destroyed while the pool still exists.
  KvCache cache_;
  bool engine_running_ ABSL_GUARDED_BY(mutex_) = true;
  std::vector<std::unique_ptr<PagedKvSequence>> pending_ ABSL_GUARDED_BY(mutex_);
  std::vector<absl::AnyInvocable<void(KvCache&) &&>> tasks_ ABSL_GUARDED_BY(mutex_);
  std::function<void()> wake_engine_ ABSL_GUARDED_BY(mutex_);
  std::atomic<int64_t> live_handles_{0};
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_SCHEDULER_KV_RELEASE_QUEUE_H_
