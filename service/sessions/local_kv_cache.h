// LocalKvCache: the KV handles one replica keeps for Redis-backed sessions (RedisSessionStore).
// Internal to RedisSessionStore.
//
// Redis holds the transcript; a KV handle lives only in the process whose engine made it. Each
// entry remembers the session's committed turn count when it was stored, and Find hands the
// handle out only while the session still has that count: once another replica commits a turn
// the local KV is stale (it covers a different history) and is dropped instead of being reused.
//
// Pin cap: the blocks of distinct handles are counted once (PinLedger; forks share a handle).
// EnforceCap drops the KV of the least recently used entries, skipping the sessions whose turn
// this replica is running, until the total is within the cap.
//
// Thread-safety: thread-safe (one mutex; the ledger's mutex is taken inside it). Handles dropped
// are destroyed after the mutex is released (a KvHandle's destructor posts to the engine).
#ifndef MINIMIND_SERVICE_SESSIONS_LOCAL_KV_CACHE_H_
#define MINIMIND_SERVICE_SESSIONS_LOCAL_KV_CACHE_H_

#include <cstdint>
#include <list>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "engine/scheduler/kv_handle.h"
#include "service/sessions/pin_ledger.h"
#include "service/sessions/session_id.h"

namespace minimind {
namespace sessions_internal {

class LocalKvCache {
 public:
  struct Found {
    std::shared_ptr<const KvHandle> kv;  // null if none or stale
    int64_t blocks = 0;
  };

  explicit LocalKvCache(int64_t max_blocks) : max_blocks_(max_blocks) {}
  LocalKvCache(const LocalKvCache&) = delete;
  LocalKvCache& operator=(const LocalKvCache&) = delete;

  // The handle stored for `key` at `turns` committed turns. An entry stored at another count is
  // stale and dropped. `use` moves the entry to the most recently used end.
  Found Find(const SessionKey& key, int64_t turns, bool use);

  // Replaces the entry of `key` (null `kv` removes it). Does not enforce the cap.
  void Put(const SessionKey& key, std::shared_ptr<const KvHandle> kv, int64_t blocks,
           int64_t turns);
  void Erase(const SessionKey& key);
  // Erases the entries of `keys` (sessions gone from Redis).
  void EraseAll(const std::vector<SessionKey>& keys);

  // Drops least recently used entries not in `busy` until the pinned blocks are within the cap;
  // returns the dropped entries' keys and handles (the caller may spill them).
  std::vector<std::pair<SessionKey, std::shared_ptr<const KvHandle>>> EnforceCap(
      const absl::flat_hash_set<SessionKey>& busy);

  std::vector<SessionKey> Keys() const;
  // Every entry's key and handle.
  std::vector<std::pair<SessionKey, std::shared_ptr<const KvHandle>>> Entries() const;
  int64_t size() const;
  int64_t pinned_blocks() const { return ledger_.total(); }
  int64_t max_blocks() const { return max_blocks_; }

 private:
  struct Entry {
    std::shared_ptr<const KvHandle> kv;
    int64_t blocks = 0;
    int64_t turns = 0;
    std::list<SessionKey>::iterator lru;  // position in lru_
  };

  // Removes `it`; the handle moves to `garbage`.
  void EraseLocked(absl::flat_hash_map<SessionKey, Entry>::iterator it,
                   std::vector<std::shared_ptr<const KvHandle>>& garbage)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const int64_t max_blocks_;
  mutable absl::Mutex mutex_;
  absl::flat_hash_map<SessionKey, Entry> entries_ ABSL_GUARDED_BY(mutex_);
  std::list<SessionKey> lru_ ABSL_GUARDED_BY(mutex_);  // front = most recently used
  PinLedger ledger_;
};

}  // namespace sessions_internal
}  // namespace minimind

#endif  // MINIMIND_SERVICE_SESSIONS_LOCAL_KV_CACHE_H_
