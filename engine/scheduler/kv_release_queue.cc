#include "engine/scheduler/kv_release_queue.h"

#include <utility>

namespace minimind {

KvReleaseQueue::KvReleaseQueue(KvCache cache, std::function<void()> wake_engine)
    : cache_(std::move(cache)), wake_engine_(std::move(wake_engine)) {}

KvReleaseQueue::~KvReleaseQueue() {
  absl::MutexLock lock(&mutex_);
  pending_.clear();
}

void KvReleaseQueue::Release(std::unique_ptr<PagedKvSequence> sequence) {
  live_handles_.fetch_sub(1, std::memory_order_relaxed);
  absl::MutexLock lock(&mutex_);
  if (!engine_running_) {
    sequence.reset();  // The pool is ours under the lock now.
    return;
  }
  pending_.push_back(std::move(sequence));
  // Under the lock so that StopEngine cannot clear it meanwhile; it only takes the inbox's lock,
  // which is never held while this one is taken.
  if (wake_engine_) wake_engine_();
}

void KvReleaseQueue::RunOnEngine(absl::AnyInvocable<void(KvCache&) &&> task) {
  absl::MutexLock lock(&mutex_);
  if (!engine_running_) {
    std::move(task)(cache_);  // The pool is ours under the lock now.
    return;
  }
  tasks_.push_back(std::move(task));
  if (wake_engine_) wake_engine_();
}

void KvReleaseQueue::DrainPending() {
  std::vector<std::unique_ptr<PagedKvSequence>> released;
  std::vector<absl::AnyInvocable<void(KvCache&) &&>> tasks;
  {
    absl::MutexLock lock(&mutex_);
    released.swap(pending_);
    tasks.swap(tasks_);
  }
  released.clear();  // The engine thread owns the pool: no lock needed to free blocks.
  for (auto& task : tasks) std::move(task)(cache_);  // After the releases: imports find room.
}

void KvReleaseQueue::StopEngine() {
  absl::MutexLock lock(&mutex_);
  pending_.clear();
  for (auto& task : tasks_) std::move(task)(cache_);
  engine_running_ = false;
  wake_engine_ = nullptr;
}

}  // namespace minimind
