// The inside of one SessionStore shard: session records, their recency lists, the expiry heap,
// the Swiss table that owns them, owners' indexes and tombstones. Internal to SessionStore
// (session_store.cc), which documents the invariants tying these together.
// Thread-safety: everything in a Shard is guarded by Shard::mutex (annotated where Abseil's
// analysis can see it).
#ifndef MINIMIND_SERVICE_SESSIONS_SESSION_SHARD_H_
#define MINIMIND_SERVICE_SESSIONS_SESSION_SHARD_H_

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "engine/scheduler/kv_handle.h"
#include "service/sessions/owner_index.h"
#include "service/sessions/session_id.h"
#include "service/sessions/session_snapshot.h"

namespace minimind {
namespace sessions_internal {

struct ListLinks {
  SessionRecord* toward_head = nullptr;  // more recently used
  SessionRecord* toward_tail = nullptr;  // less recently used
};

// Laid out by access: first what every lookup reads (key, owner, busy, expiry), then what every
// use writes (last use, LRU links), so those share one or two cache lines; snapshots read the rest.
struct SessionRecord {
  // Read by every lookup (FindLocked).
  SessionKey key;
  std::string owner;
  absl::Time expires;
  bool busy = false;
  // Written by every use (UseLocked).
  absl::Time last_used;
  absl::Duration ttl;
  uint64_t use_sequence = 0;  // global order of last use; smaller = less recently used
  ListLinks lru;              // in Shard::lru always
  // Cold.
  ListLinks kv_lru;  // in Shard::kv_lru iff kv != nullptr
  std::shared_ptr<const KvHandle> kv;
  int64_t kv_blocks = 0;
  int64_t turns = 0;
  absl::Time created;
  std::string system_prompt;
  SessionLabels labels;
  std::vector<ChatMessage> messages;
  std::vector<int32_t> tokens;
  ContextOverflow context_overflow = ContextOverflow::kTruncate;
  int64_t window_start = 0;  // SessionSnapshot::window_start
};

// Intrusive doubly linked list over one ListLinks member of SessionRecord; head = most recent.
class RecencyList {
 public:
  explicit RecencyList(ListLinks SessionRecord::*links) : links_(links) {}

  void PushFront(SessionRecord* session) {
    ListLinks& links = session->*links_;
    links.toward_head = nullptr;
    links.toward_tail = head_;
    if (head_ != nullptr) (head_->*links_).toward_head = session;
    head_ = session;
    if (tail_ == nullptr) tail_ = session;
  }
  void Remove(SessionRecord* session) {
    ListLinks& links = session->*links_;
    if (links.toward_head != nullptr) {
      (links.toward_head->*links_).toward_tail = links.toward_tail;
    } else {
      head_ = links.toward_tail;
    }
    if (links.toward_tail != nullptr) {
      (links.toward_tail->*links_).toward_head = links.toward_head;
    } else {
      tail_ = links.toward_head;
    }
    links = ListLinks{};
  }
  void MoveToFront(SessionRecord* session) {
    if (head_ == session) return;
    Remove(session);
    PushFront(session);
  }
  // The least recently used session that is not busy, or null.
  SessionRecord* LeastRecentIdle() const {
    for (SessionRecord* s = tail_; s != nullptr; s = (s->*links_).toward_head) {
      if (!s->busy) return s;
    }
    return nullptr;
  }

 private:
  ListLinks SessionRecord::*links_;
  SessionRecord* head_ = nullptr;
  SessionRecord* tail_ = nullptr;
};

struct ExpiryEntry {
  absl::Time expires;  // never later than the session's real expiry
  SessionKey key;
};
struct LaterExpiry {  // makes std::*_heap a min-heap on expires
  bool operator()(const ExpiryEntry& a, const ExpiryEntry& b) const {
    return a.expires > b.expires;
  }
};

// Session keys are 128 CSPRNG bits and only the store creates them, so one of their words is
// already a uniformly distributed hash; no mixing needed. (`low` picks the shard; `high` is the
// hash within it, so the two are independent.) A client can look up any key but cannot choose the
// keys that are inserted, so it cannot degrade the tables.
inline size_t KeyHash(const SessionKey& key) { return static_cast<size_t>(key.high); }

struct SessionKeyHash {
  size_t operator()(const SessionKey& key) const { return KeyHash(key); }
};

// The shard's sessions, owning their records: an Abseil Swiss table keyed by the 128-bit id,
// hashed by its random high word (SessionKeyHash). Records live behind unique_ptr so pointers to
// them (recency and expiry lists) stay valid while the table rehashes.
class SessionTable {
 public:
  size_t size() const { return sessions_.size(); }

  SessionRecord* Find(const SessionKey& key) const {
    const auto it = sessions_.find(key);
    return it == sessions_.end() ? nullptr : it->second.get();
  }

  // `session`'s key must not be in the table.
  void Insert(std::unique_ptr<SessionRecord> session) {
    const SessionKey key = session->key;
    sessions_.emplace(key, std::move(session));
  }

  // Removes and returns the session `key`; null if absent.
  std::unique_ptr<SessionRecord> Extract(const SessionKey& key) {
    auto node = sessions_.extract(key);
    return node.empty() ? nullptr : std::move(node.mapped());
  }

  template <typename F>
  void ForEach(F&& f) const {
    for (const auto& [key, session] : sessions_) f(*session);
  }

 private:
  absl::flat_hash_map<SessionKey, std::unique_ptr<SessionRecord>, SessionKeyHash> sessions_;
};

struct Tombstone {
  int reason = 0;  // SessionStore::Removal
  absl::Duration ttl;
  std::string owner;  // Only the owner learns why the session is gone.
};

struct alignas(64) Shard {
  absl::Mutex mutex;
  SessionTable sessions ABSL_GUARDED_BY(mutex);
  RecencyList lru{&SessionRecord::lru};
  RecencyList kv_lru{&SessionRecord::kv_lru};
  std::vector<ExpiryEntry> expiry ABSL_GUARDED_BY(mutex);  // min-heap, lazily invalidated
  // owner -> its session keys, ordered for List paging.
  absl::flat_hash_map<std::string, OwnerIndex> by_owner ABSL_GUARDED_BY(mutex);
  absl::flat_hash_map<SessionKey, Tombstone, SessionKeyHash> tombstones ABSL_GUARDED_BY(mutex);
  std::deque<SessionKey> tombstone_order ABSL_GUARDED_BY(mutex);  // oldest first
  size_t tombstone_capacity = 0;
  // Counters for stats(), kept per shard under its mutex (no shared cache line between threads).
  int64_t sessions_with_kv ABSL_GUARDED_BY(mutex) = 0;
  int64_t created ABSL_GUARDED_BY(mutex) = 0;
  int64_t forked ABSL_GUARDED_BY(mutex) = 0;
  int64_t deleted ABSL_GUARDED_BY(mutex) = 0;
  int64_t evicted_ttl ABSL_GUARDED_BY(mutex) = 0;
  int64_t evicted_lru ABSL_GUARDED_BY(mutex) = 0;
  int64_t kv_drops ABSL_GUARDED_BY(mutex) = 0;

  void PushExpiry(absl::Time expires, const SessionKey& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex) {
    expiry.push_back(ExpiryEntry{expires, key});
    std::push_heap(expiry.begin(), expiry.end(), LaterExpiry());
    // Entries of removed sessions stay until popped; rebuild once they outnumber live sessions,
    // which costs O(n) per n removals.
    if (expiry.size() > 2 * sessions.size() + 64) {
      expiry.clear();
      sessions.ForEach([this](const SessionRecord& session) {
        expiry.push_back(ExpiryEntry{session.expires, session.key});
      });
      std::make_heap(expiry.begin(), expiry.end(), LaterExpiry());
    }
  }

  void AddTombstone(const SessionKey& key, Tombstone tombstone)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex) {
    if (tombstone_capacity == 0) return;
    if (tombstone_order.size() == tombstone_capacity) {
      tombstones.erase(tombstone_order.front());
      tombstone_order.pop_front();
    }
    tombstones[key] = tombstone;
    tombstone_order.push_back(key);
  }
};

// What a store operation removed, destroyed after the shard mutex is released (declare it before
// the lock): a KvHandle's destructor posts to the engine, and transcripts may be large. The ids
// of sessions the store removed by itself (expired, evicted) are told to `on_gone`
// (SessionStoreOptions::session_gone) then too.
struct Garbage {
  explicit Garbage(const std::function<void(std::string)>* on_gone) : on_gone(on_gone) {}
  Garbage(const Garbage&) = delete;
  Garbage& operator=(const Garbage&) = delete;
  ~Garbage() {
    if (on_gone == nullptr || !*on_gone) return;
    for (std::string& id : gone_ids) (*on_gone)(std::move(id));
  }

  const std::function<void(std::string)>* on_gone;
  std::vector<std::unique_ptr<SessionRecord>> sessions;
  std::vector<std::shared_ptr<const KvHandle>> kvs;
  std::vector<std::string> gone_ids;
};

}  // namespace sessions_internal
}  // namespace minimind

#endif  // MINIMIND_SERVICE_SESSIONS_SESSION_SHARD_H_
