#include "service/sessions/session_store.h"

#include <algorithm>
#include <deque>
#include <memory>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "engine/scheduler/kv_handle.h"

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

// One owner's session keys in one shard, for List. Create and Delete only append to `added` /
// `removed` (O(1), no random memory access); Compact() merges them into the sorted vector with
// sequential passes. It runs when the pending keys outnumber half the sorted ones (amortized
// O(log k) per change, on contiguous memory) and before List reads the index, so List pages in
// O(page + log n) after at most one O(n) merge of the changes made since the previous List.
class OwnerIndex {
 public:
  void Add(const SessionKey& key) {
    added_.push_back(key);
    MaybeCompact();
  }
  void Remove(const SessionKey& key) {
    removed_.push_back(key);
    MaybeCompact();
  }
  size_t size() const { return sorted_.size() + added_.size() - removed_.size(); }
  // Ascending keys; only valid right after Compact().
  const std::vector<SessionKey>& sorted() const { return sorted_; }

  void Compact() {
    if (added_.empty() && removed_.empty()) return;
    std::sort(added_.begin(), added_.end());
    std::sort(removed_.begin(), removed_.end());
    // Every key is added once and removed at most once, after its addition.
    std::vector<SessionKey> merged;
    merged.reserve(size());
    auto next_removed = removed_.begin();
    auto keep = [&](const SessionKey& key) {
      while (next_removed != removed_.end() && *next_removed < key) ++next_removed;
      if (next_removed != removed_.end() && *next_removed == key) return;
      merged.push_back(key);
    };
    auto a = sorted_.begin();
    auto b = added_.begin();
    while (a != sorted_.end() || b != added_.end()) {
      if (b == added_.end() || (a != sorted_.end() && *a < *b)) {
        keep(*a++);
      } else {
        keep(*b++);
      }
    }
    sorted_ = std::move(merged);
    added_.clear();
    removed_.clear();
  }

 private:
  void MaybeCompact() {
    if (added_.size() + removed_.size() > 32 + sorted_.size() / 2) Compact();
  }

  std::vector<SessionKey> sorted_;   // ascending; may hold keys listed in removed_
  std::vector<SessionKey> added_;    // not merged yet, any order
  std::vector<SessionKey> removed_;  // removed since the last merge (from sorted_ or added_)
};

struct Tombstone {
  int reason = 0;  // SessionStore::Removal
  absl::Duration ttl;
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

// What a store operation removed, destroyed after the shard mutex is released (declare it before
// the lock): a KvHandle's destructor posts to the engine, and transcripts may be large.
struct Garbage {
  std::vector<std::unique_ptr<SessionRecord>> sessions;
  std::vector<std::shared_ptr<const KvHandle>> kvs;
};

}  // namespace sessions_internal

namespace {

using sessions_internal::ExpiryEntry;
using sessions_internal::LaterExpiry;
using sessions_internal::SessionRecord;
using sessions_internal::Tombstone;

SessionSnapshot MakeSnapshot(const SessionRecord& session, bool with_transcript) {
  SessionSnapshot snapshot;
  snapshot.id = SessionKeyToId(session.key);
  snapshot.owner = session.owner;
  snapshot.system_prompt = session.system_prompt;
  snapshot.labels = session.labels;
  if (with_transcript) {
    snapshot.messages = session.messages;
    snapshot.tokens = session.tokens;
    snapshot.kv = session.kv;
  }
  snapshot.num_messages = static_cast<int64_t>(session.messages.size());
  snapshot.num_tokens = static_cast<int64_t>(session.tokens.size());
  snapshot.kv_blocks = session.kv_blocks;
  snapshot.created = session.created;
  snapshot.last_used = session.last_used;
  snapshot.ttl = session.ttl;
  snapshot.expires = session.expires;
  snapshot.busy = session.busy;
  snapshot.turns = session.turns;
  return snapshot;
}

absl::Status ValidateLabels(const SessionLabels& labels, const SessionStoreOptions& options) {
  if (static_cast<int64_t>(labels.size()) > options.max_labels) {
    return absl::InvalidArgumentError(
        absl::StrCat("a session has at most ", options.max_labels, " labels, got ", labels.size()));
  }
  for (const auto& [key, value] : labels) {
    if (key.empty()) return absl::InvalidArgumentError("a session label has an empty key");
    if (static_cast<int64_t>(key.size()) > options.max_label_bytes ||
        static_cast<int64_t>(value.size()) > options.max_label_bytes) {
      return absl::InvalidArgumentError(absl::StrCat("session label keys and values have at most ",
                                                     options.max_label_bytes, " bytes; label \"",
                                                     key.substr(0, 32), "\" is longer"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<SessionStore>> SessionStore::Make(SessionStoreOptions options) {
  if (options.num_shards <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("num_shards must be positive, got ", options.num_shards));
  }
  if (options.max_sessions <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_sessions must be positive, got ", options.max_sessions));
  }
  if (options.default_ttl <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("default session TTL must be positive, got ",
                                                   absl::FormatDuration(options.default_ttl)));
  }
  if (options.max_ttl < options.default_ttl) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max session TTL (", absl::FormatDuration(options.max_ttl), ") is below the default TTL (",
        absl::FormatDuration(options.default_ttl), ")"));
  }
  if (options.max_pinned_kv_blocks < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_pinned_kv_blocks must be >= 0, got ", options.max_pinned_kv_blocks));
  }
  if (options.tombstones < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("tombstones must be >= 0, got ", options.tombstones));
  }
  if (options.max_labels < 0 || options.max_label_bytes <= 0) {
    return absl::InvalidArgumentError("max_labels must be >= 0 and max_label_bytes positive");
  }
  if (options.list_page_size_default <= 0 ||
      options.list_page_size_max < options.list_page_size_default) {
    return absl::InvalidArgumentError(
        "list_page_size_default must be positive and at most list_page_size_max");
  }
  return std::unique_ptr<SessionStore>(new SessionStore(std::move(options)));
}

SessionStore::SessionStore(SessionStoreOptions options)
    : options_(std::move(options)),
      clock_(options_.clock ? options_.clock : [] { return absl::Now(); }),
      kv_blocks_(options_.kv_blocks ? options_.kv_blocks
                                    : [](const KvHandle& kv) { return kv.num_blocks(); }),
      pins_(std::make_unique<sessions_internal::PinLedger>()) {
  const size_t per_shard_tombstones =
      static_cast<size_t>((options_.tombstones + options_.num_shards - 1) / options_.num_shards);
  shards_.reserve(options_.num_shards);
  for (int i = 0; i < options_.num_shards; ++i) {
    shards_.push_back(std::make_unique<Shard>());
    shards_.back()->tombstone_capacity = per_shard_tombstones;
  }
}

SessionStore::~SessionStore() = default;

SessionStore::Shard& SessionStore::ShardOf(const SessionKey& key) const {
  return *shards_[key.low % shards_.size()];
}

absl::Status SessionStore::ValidateTtl(absl::Duration ttl) const {
  if (ttl < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("session TTL must not be negative, got ", absl::FormatDuration(ttl)));
  }
  if (ttl > options_.max_ttl) {
    return absl::InvalidArgumentError(absl::StrCat("session TTL ", absl::FormatDuration(ttl),
                                                   " exceeds the maximum of ",
                                                   absl::FormatDuration(options_.max_ttl)));
  }
  return absl::OkStatus();
}

// The *Locked methods run with shard.mutex held. Shard is opaque in the header, so that cannot
// be stated as ABSL_EXCLUSIVE_LOCKS_REQUIRED there; the analysis is off for them instead.
absl::Status SessionStore::NotFoundLocked(const Shard& shard, const SessionKey& key) const
    ABSL_NO_THREAD_SAFETY_ANALYSIS {
  const std::string id = SessionKeyToId(key);
  auto it = shard.tombstones.find(key);
  if (it == shard.tombstones.end()) {
    return absl::NotFoundError(absl::StrCat("session ", id, " not found"));
  }
  switch (static_cast<Removal>(it->second.reason)) {
    case Removal::kExpired:
      return absl::NotFoundError(absl::StrCat("session ", id,
                                              " expired: it was idle longer than its TTL of ",
                                              absl::FormatDuration(it->second.ttl)));
    case Removal::kDeleted:
      return absl::NotFoundError(absl::StrCat("session ", id, " was deleted"));
    case Removal::kEvicted:
      break;
  }
  return absl::NotFoundError(
      absl::StrCat("session ", id, " was evicted: the server reached its limit of ",
                   options_.max_sessions, " sessions and dropped the least recently used"));
}

absl::StatusOr<SessionStore::SessionRecord*> SessionStore::FindLocked(
    Shard& shard, const SessionKey& key, absl::string_view owner, absl::Time now,
    Garbage& garbage) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  SessionRecord* found = shard.sessions.Find(key);
  if (found == nullptr) return NotFoundLocked(shard, key);
  SessionRecord& session = *found;
  if (!session.busy && session.expires <= now) {
    RemoveLocked(shard, session, Removal::kExpired, garbage);
    return NotFoundLocked(shard, key);
  }
  if (session.owner != owner) {
    return absl::PermissionDeniedError(
        absl::StrCat("session ", SessionKeyToId(key), " belongs to another owner"));
  }
  return &session;
}

void SessionStore::UseLocked(Shard& shard, SessionRecord& session,
                             absl::Time now) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  // The clock may be adjusted backwards; last_used and expires never move back.
  session.last_used = std::max(session.last_used, now);
  session.expires = session.last_used + session.ttl;
  session.use_sequence = use_sequence_.fetch_add(1, std::memory_order_relaxed);
  shard.lru.MoveToFront(&session);
  if (session.kv != nullptr) shard.kv_lru.MoveToFront(&session);
}

void SessionStore::InsertLocked(Shard& shard, std::unique_ptr<SessionRecord> session)
    ABSL_NO_THREAD_SAFETY_ANALYSIS {
  SessionRecord* raw = session.get();
  raw->use_sequence = use_sequence_.fetch_add(1, std::memory_order_relaxed);
  shard.sessions.Insert(std::move(session));
  shard.lru.PushFront(raw);
  if (raw->kv != nullptr) {
    shard.kv_lru.PushFront(raw);
    pins_->Add(raw->kv.get(), raw->kv_blocks);
    ++shard.sessions_with_kv;
  }
  shard.by_owner[raw->owner].Add(raw->key);
  shard.PushExpiry(raw->expires, raw->key);
}

void SessionStore::RemoveLocked(Shard& shard, SessionRecord& session, Removal reason,
                                Garbage& garbage) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  const SessionKey key = session.key;
  shard.lru.Remove(&session);
  if (session.kv != nullptr) {
    shard.kv_lru.Remove(&session);
    pins_->Remove(session.kv.get());
    --shard.sessions_with_kv;
  }
  auto owned = shard.by_owner.find(session.owner);
  owned->second.Remove(key);
  if (owned->second.size() == 0) shard.by_owner.erase(owned);
  shard.AddTombstone(key, Tombstone{static_cast<int>(reason), session.ttl});
  garbage.sessions.push_back(shard.sessions.Extract(key));
  session_count_.fetch_sub(1, std::memory_order_relaxed);
  switch (reason) {
    case Removal::kExpired:
      ++shard.evicted_ttl;
      break;
    case Removal::kDeleted:
      ++shard.deleted;
      break;
    case Removal::kEvicted:
      ++shard.evicted_lru;
      break;
  }
}

void SessionStore::SetKvLocked(Shard& shard, SessionRecord& session,
                               std::shared_ptr<const KvHandle> kv,
                               Garbage& garbage) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  if (session.kv == kv) return;
  if (session.kv != nullptr) {
    shard.kv_lru.Remove(&session);
    pins_->Remove(session.kv.get());
    --shard.sessions_with_kv;
    garbage.kvs.push_back(std::move(session.kv));
    session.kv = nullptr;
    session.kv_blocks = 0;
  }
  if (kv != nullptr) {
    session.kv_blocks = kv_blocks_(*kv);
    session.kv = std::move(kv);
    shard.kv_lru.PushFront(&session);
    pins_->Add(session.kv.get(), session.kv_blocks);
    ++shard.sessions_with_kv;
  }
}

bool SessionStore::EvictLeastRecentlyUsed() {
  // Scan the shards' LRU tails one lock at a time, then evict the oldest found. If it was used or
  // removed in between, scan again.
  for (int attempt = 0; attempt < 8; ++attempt) {
    Shard* oldest_shard = nullptr;
    uint64_t oldest_sequence = 0;
    for (const auto& shard : shards_) {
      absl::MutexLock lock(&shard->mutex);
      const SessionRecord* candidate = shard->lru.LeastRecentIdle();
      if (candidate != nullptr &&
          (oldest_shard == nullptr || candidate->use_sequence < oldest_sequence)) {
        oldest_shard = shard.get();
        oldest_sequence = candidate->use_sequence;
      }
    }
    if (oldest_shard == nullptr) return false;
    Garbage garbage;
    absl::MutexLock lock(&oldest_shard->mutex);
    SessionRecord* candidate = oldest_shard->lru.LeastRecentIdle();
    if (candidate == nullptr || candidate->use_sequence != oldest_sequence) continue;
    RemoveLocked(*oldest_shard, *candidate, Removal::kEvicted, garbage);
    return true;
  }
  return false;
}

void SessionStore::EnforcePinCap() {
  while (pins_->total() > options_.max_pinned_kv_blocks) {
    Shard* oldest_shard = nullptr;
    uint64_t oldest_sequence = 0;
    for (const auto& shard : shards_) {
      absl::MutexLock lock(&shard->mutex);
      const SessionRecord* candidate = shard->kv_lru.LeastRecentIdle();
      if (candidate != nullptr &&
          (oldest_shard == nullptr || candidate->use_sequence < oldest_sequence)) {
        oldest_shard = shard.get();
        oldest_sequence = candidate->use_sequence;
      }
    }
    if (oldest_shard == nullptr) return;  // only busy sessions hold KV; their commit retries
    Garbage garbage;
    absl::MutexLock lock(&oldest_shard->mutex);
    SessionRecord* candidate = oldest_shard->kv_lru.LeastRecentIdle();
    if (candidate == nullptr) continue;
    SetKvLocked(*oldest_shard, *candidate, nullptr, garbage);
    ++oldest_shard->kv_drops;
  }
}

absl::StatusOr<SessionSnapshot> SessionStore::Create(absl::string_view owner,
                                                     absl::string_view system_prompt,
                                                     absl::Duration ttl, SessionLabels labels) {
  if (absl::Status status = ValidateTtl(ttl); !status.ok()) return status;
  if (absl::Status status = ValidateLabels(labels, options_); !status.ok()) return status;
  absl::StatusOr<SessionKey> key = id_generator_.Next();
  if (!key.ok()) return key.status();
  if (session_count_.fetch_add(1, std::memory_order_relaxed) >= options_.max_sessions &&
      !EvictLeastRecentlyUsed()) {
    session_count_.fetch_sub(1, std::memory_order_relaxed);
    return absl::ResourceExhaustedError(
        absl::StrCat("the server holds its limit of ", options_.max_sessions,
                     " sessions and every one is busy; retry when a turn finishes"));
  }
  auto session = std::make_unique<SessionRecord>();
  session->key = *key;
  session->owner = std::string(owner);
  session->system_prompt = std::string(system_prompt);
  session->labels = std::move(labels);
  session->created = session->last_used = clock_();
  session->ttl = ttl == absl::ZeroDuration() ? options_.default_ttl : ttl;
  session->expires = session->last_used + session->ttl;
  SessionSnapshot snapshot = MakeSnapshot(*session, /*with_transcript=*/true);
  Shard& shard = ShardOf(*key);
  {
    absl::MutexLock lock(&shard.mutex);
    InsertLocked(shard, std::move(session));
    ++shard.created;
  }
  return snapshot;
}

absl::StatusOr<SessionSnapshot> SessionStore::Get(absl::string_view id, absl::string_view owner) {
  absl::StatusOr<SessionKey> key = SessionKeyFromId(id);
  if (!key.ok()) return key.status();
  Shard& shard = ShardOf(*key);
  const absl::Time now = clock_();
  Garbage garbage;
  absl::MutexLock lock(&shard.mutex);
  absl::StatusOr<SessionRecord*> session = FindLocked(shard, *key, owner, now, garbage);
  if (!session.ok()) return session.status();
  return MakeSnapshot(**session, /*with_transcript=*/true);
}

absl::Status SessionStore::Touch(absl::string_view id, absl::string_view owner) {
  absl::StatusOr<SessionKey> key = SessionKeyFromId(id);
  if (!key.ok()) return key.status();
  Shard& shard = ShardOf(*key);
  const absl::Time now = clock_();
  Garbage garbage;
  absl::MutexLock lock(&shard.mutex);
  absl::StatusOr<SessionRecord*> session = FindLocked(shard, *key, owner, now, garbage);
  if (!session.ok()) return session.status();
  UseLocked(shard, **session, now);
  return absl::OkStatus();
}

absl::StatusOr<TurnLease> SessionStore::BeginTurn(absl::string_view id, absl::string_view owner) {
  absl::StatusOr<SessionKey> key = SessionKeyFromId(id);
  if (!key.ok()) return key.status();
  Shard& shard = ShardOf(*key);
  const absl::Time now = clock_();
  Garbage garbage;
  absl::MutexLock lock(&shard.mutex);
  absl::StatusOr<SessionRecord*> session = FindLocked(shard, *key, owner, now, garbage);
  if (!session.ok()) return session.status();
  if ((*session)->busy) {
    return absl::AbortedError(
        absl::StrCat("session ", id, " is busy: another turn is in progress"));
  }
  (*session)->busy = true;
  UseLocked(shard, **session, now);
  return TurnLease(this, *key, MakeSnapshot(**session, /*with_transcript=*/true));
}

absl::Status SessionStore::CommitTurn(const SessionKey& key,
                                      std::vector<ChatMessage> appended_messages,
                                      std::vector<int32_t> tokens,
                                      std::shared_ptr<const KvHandle> kv) {
  Shard& shard = ShardOf(key);
  const absl::Time now = clock_();
  {
    Garbage garbage;
    absl::MutexLock lock(&shard.mutex);
    SessionRecord* found = shard.sessions.Find(key);
    if (found == nullptr) return NotFoundLocked(shard, key);
    SessionRecord& session = *found;
    session.messages.insert(session.messages.end(),
                            std::make_move_iterator(appended_messages.begin()),
                            std::make_move_iterator(appended_messages.end()));
    session.tokens = std::move(tokens);
    SetKvLocked(shard, session, std::move(kv), garbage);
    session.busy = false;
    ++session.turns;
    UseLocked(shard, session, now);
  }
  if (pins_->total() > options_.max_pinned_kv_blocks) EnforcePinCap();
  return absl::OkStatus();
}

void SessionStore::ReleaseTurn(const SessionKey& key) {
  Shard& shard = ShardOf(key);
  const absl::Time now = clock_();
  {
    absl::MutexLock lock(&shard.mutex);
    SessionRecord* session = shard.sessions.Find(key);
    if (session == nullptr) return;
    session->busy = false;
    UseLocked(shard, *session, now);
  }
  // KV that stayed pinned because its session was busy may now be dropped.
  if (pins_->total() > options_.max_pinned_kv_blocks) EnforcePinCap();
}

absl::Status SessionStore::Delete(absl::string_view id, absl::string_view owner) {
  absl::StatusOr<SessionKey> key = SessionKeyFromId(id);
  if (!key.ok()) return key.status();
  Shard& shard = ShardOf(*key);
  const absl::Time now = clock_();
  Garbage garbage;
  absl::MutexLock lock(&shard.mutex);
  absl::StatusOr<SessionRecord*> session = FindLocked(shard, *key, owner, now, garbage);
  if (!session.ok()) return session.status();
  RemoveLocked(shard, **session, Removal::kDeleted, garbage);
  return absl::OkStatus();
}

absl::StatusOr<SessionSnapshot> SessionStore::Fork(absl::string_view id, absl::string_view owner,
                                                   std::optional<absl::Duration> ttl) {
  absl::StatusOr<SessionKey> parent_key = SessionKeyFromId(id);
  if (!parent_key.ok()) return parent_key.status();
  if (ttl.has_value()) {
    if (absl::Status status = ValidateTtl(*ttl); !status.ok()) return status;
  }
  absl::StatusOr<SessionKey> key = id_generator_.Next();
  if (!key.ok()) return key.status();
  const absl::Time now = clock_();
  auto child = std::make_unique<SessionRecord>();
  {
    Shard& shard = ShardOf(*parent_key);
    Garbage garbage;
    absl::MutexLock lock(&shard.mutex);
    absl::StatusOr<SessionRecord*> found = FindLocked(shard, *parent_key, owner, now, garbage);
    if (!found.ok()) return found.status();
    SessionRecord& parent = **found;
    UseLocked(shard, parent, now);
    child->owner = parent.owner;
    child->system_prompt = parent.system_prompt;
    child->labels = parent.labels;
    child->messages = parent.messages;
    child->tokens = parent.tokens;
    child->kv = parent.kv;
    child->kv_blocks = parent.kv_blocks;
    child->turns = parent.turns;
    child->ttl = parent.ttl;
  }
  if (ttl.has_value()) {
    child->ttl = *ttl == absl::ZeroDuration() ? options_.default_ttl : *ttl;
  }
  if (session_count_.fetch_add(1, std::memory_order_relaxed) >= options_.max_sessions &&
      !EvictLeastRecentlyUsed()) {
    session_count_.fetch_sub(1, std::memory_order_relaxed);
    return absl::ResourceExhaustedError(
        absl::StrCat("the server holds its limit of ", options_.max_sessions,
                     " sessions and every one is busy; retry when a turn finishes"));
  }
  child->key = *key;
  child->created = child->last_used = now;
  child->expires = now + child->ttl;
  SessionSnapshot snapshot = MakeSnapshot(*child, /*with_transcript=*/true);
  Shard& shard = ShardOf(*key);
  {
    absl::MutexLock lock(&shard.mutex);
    InsertLocked(shard, std::move(child));
    ++shard.created;
    ++shard.forked;
  }
  return snapshot;
}

absl::StatusOr<SessionPage> SessionStore::List(absl::string_view owner, int page_size,
                                               absl::string_view page_token) {
  std::optional<SessionKey> after;
  if (!page_token.empty()) {
    absl::StatusOr<SessionKey> key = SessionKeyFromId(page_token);
    if (!key.ok()) {
      return absl::InvalidArgumentError(
          "invalid page token: pass \"\" or a next_page_token returned by ListSessions");
    }
    after = *key;
  }
  if (page_size <= 0) page_size = options_.list_page_size_default;
  page_size = std::min(page_size, options_.list_page_size_max);
  const size_t limit = static_cast<size_t>(page_size);
  const absl::Time now = clock_();
  std::vector<SessionSnapshot> found;
  for (const auto& shard : shards_) {
    absl::MutexLock lock(&shard->mutex);
    auto owned = shard->by_owner.find(owner);
    if (owned == shard->by_owner.end()) continue;
    owned->second.Compact();
    const std::vector<SessionKey>& keys = owned->second.sorted();
    auto it = after.has_value() ? std::upper_bound(keys.begin(), keys.end(), *after) : keys.begin();
    // One more than a page from each shard tells whether anything follows the merged page.
    size_t taken = 0;
    for (; it != keys.end() && taken <= limit; ++it) {
      const SessionRecord& session = *shard->sessions.Find(*it);
      if (!session.busy && session.expires <= now) continue;  // expired, awaiting the reaper
      found.push_back(MakeSnapshot(session, /*with_transcript=*/false));
      ++taken;
    }
  }
  std::sort(found.begin(), found.end(),
            [](const SessionSnapshot& a, const SessionSnapshot& b) { return a.id < b.id; });
  SessionPage page;
  if (found.size() > limit) {
    found.resize(limit);
    page.next_page_token = found.back().id;
  }
  page.sessions = std::move(found);
  return page;
}

int64_t SessionStore::ReapExpired(absl::Time now) {
  int64_t reaped = 0;
  for (const auto& shard_pointer : shards_) {
    Shard& shard = *shard_pointer;
    Garbage garbage;
    absl::MutexLock lock(&shard.mutex);
    while (!shard.expiry.empty() && shard.expiry.front().expires <= now) {
      std::pop_heap(shard.expiry.begin(), shard.expiry.end(), LaterExpiry());
      const ExpiryEntry entry = shard.expiry.back();
      shard.expiry.pop_back();
      SessionRecord* found = shard.sessions.Find(entry.key);
      if (found == nullptr) continue;  // removed earlier
      SessionRecord& session = *found;
      if (session.expires > now) {
        shard.PushExpiry(session.expires, entry.key);  // used since; due later
      } else if (session.busy) {
        shard.PushExpiry(now + session.ttl, entry.key);  // a turn keeps it alive
      } else {
        RemoveLocked(shard, session, Removal::kExpired, garbage);
        ++reaped;
      }
    }
  }
  return reaped;
}

SessionStoreStats SessionStore::stats() const {
  SessionStoreStats stats;
  stats.sessions = session_count_.load(std::memory_order_relaxed);
  stats.pinned_kv_blocks = pins_->total();
  stats.max_pinned_kv_blocks = options_.max_pinned_kv_blocks;
  for (const auto& shard : shards_) {
    absl::MutexLock lock(&shard->mutex);
    stats.sessions_with_kv += shard->sessions_with_kv;
    stats.created += shard->created;
    stats.forked += shard->forked;
    stats.deleted += shard->deleted;
    stats.evicted_ttl += shard->evicted_ttl;
    stats.evicted_lru += shard->evicted_lru;
    stats.kv_drops += shard->kv_drops;
  }
  return stats;
}

}  // namespace minimind
