// PinLedger: how many KV blocks sessions pin, for SessionStore's pin cap. Internal to SessionStore
// (session_store.cc).
// Thread-safety: thread-safe (its own mutex; total() is a relaxed atomic read).
#ifndef MINIMIND_SERVICE_SESSIONS_PIN_LEDGER_H_
#define MINIMIND_SERVICE_SESSIONS_PIN_LEDGER_H_

#include <atomic>
#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "engine/scheduler/kv_handle.h"

namespace minimind {
namespace sessions_internal {

// Blocks pinned by sessions' KV handles, each distinct handle counted once however many sessions
// (forks) hold it. A handle's address is a valid key while counted: the sessions counting it keep
// it alive.
class PinLedger {
 public:
  void Add(const KvHandle* kv, int64_t blocks) {
    absl::MutexLock lock(&mutex_);
    Entry& entry = entries_[kv];
    if (entry.refs++ == 0) {
      entry.blocks = blocks;
      total_.fetch_add(blocks, std::memory_order_relaxed);
    }
  }
  void Remove(const KvHandle* kv) {
    absl::MutexLock lock(&mutex_);
    auto it = entries_.find(kv);
    if (it == entries_.end()) return;
    if (--it->second.refs == 0) {
      total_.fetch_sub(it->second.blocks, std::memory_order_relaxed);
      entries_.erase(it);
    }
  }
  int64_t total() const { return total_.load(std::memory_order_relaxed); }

 private:
  struct Entry {
    int64_t refs = 0;
    int64_t blocks = 0;
  };
  absl::Mutex mutex_;
  absl::flat_hash_map<const KvHandle*, Entry> entries_ ABSL_GUARDED_BY(mutex_);
  std::atomic<int64_t> total_{0};
};

}  // namespace sessions_internal
}  // namespace minimind

#endif  // MINIMIND_SERVICE_SESSIONS_PIN_LEDGER_H_
