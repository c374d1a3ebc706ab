#include "service/sessions/memory_session_store.h"

#include <algorithm>
#include <deque>
#include <memory>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "engine/base/status_macros.h"
#include "engine/scheduler/kv_handle.h"
#include "service/sessions/pin_ledger.h"
#include "service/sessions/session_shard.h"

namespace minimind {

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
  snapshot.context_overflow = session.context_overflow;
  snapshot.window_start = session.window_start;
  return snapshot;
}

}  // namespace

absl::StatusOr<std::unique_ptr<MemorySessionStore>> MemorySessionStore::Make(
    SessionStoreOptions options) {
  MINIMIND_RETURN_IF_ERROR(ValidateSessionStoreOptions(options));
  return std::unique_ptr<MemorySessionStore>(new MemorySessionStore(std::move(options)));
}

MemorySessionStore::MemorySessionStore(SessionStoreOptions options)
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

MemorySessionStore::~MemorySessionStore() = default;

absl::StatusOr<int64_t> MemorySessionStore::CountSessions(absl::string_view owner) const {
  int64_t count = 0;
  for (const std::unique_ptr<Shard>& shard : shards_) {
    absl::MutexLock lock(&shard->mutex);
    auto it = shard->by_owner.find(owner);
    if (it != shard->by_owner.end()) count += static_cast<int64_t>(it->second.size());
  }
  return count;
}

MemorySessionStore::Shard& MemorySessionStore::ShardOf(const SessionKey& key) const {
  return *shards_[key.low % shards_.size()];
}

absl::Status MemorySessionStore::ValidateTtl(absl::Duration ttl) const {
  return ValidateSessionTtl(ttl, options_);
}

// The *Locked methods run with shard.mutex held. Shard is opaque in the header, so that cannot
// be stated as ABSL_EXCLUSIVE_LOCKS_REQUIRED there; the analysis is off for them instead.
absl::Status MemorySessionStore::NotFoundLocked(const Shard& shard, const SessionKey& key,
                                                std::optional<absl::string_view> owner) const
    ABSL_NO_THREAD_SAFETY_ANALYSIS {
  const std::string id = SessionKeyToId(key);
  auto it = shard.tombstones.find(key);
  if (it == shard.tombstones.end() || (owner.has_value() && it->second.owner != *owner)) {
    return SessionNotFoundError(id);
  }
  switch (static_cast<Removal>(it->second.reason)) {
    case Removal::kExpired:
      return SessionRemovedError(id, SessionRemoval::kExpired, it->second.ttl, options_);
    case Removal::kDeleted:
      return SessionRemovedError(id, SessionRemoval::kDeleted, absl::ZeroDuration(), options_);
    case Removal::kEvicted:
      break;
  }
  return SessionRemovedError(id, SessionRemoval::kEvicted, absl::ZeroDuration(), options_);
}

absl::StatusOr<MemorySessionStore::SessionRecord*> MemorySessionStore::FindLocked(
    Shard& shard, const SessionKey& key, absl::string_view owner, absl::Time now,
    Garbage& garbage) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  SessionRecord* found = shard.sessions.Find(key);
  if (found == nullptr) return NotFoundLocked(shard, key, owner);
  SessionRecord& session = *found;
  // Another owner's session answers exactly as one that never existed: ids cannot be probed.
  if (session.owner != owner) {
    return SessionNotFoundError(SessionKeyToId(key));
  }
  if (!session.busy && session.expires <= now) {
    RemoveLocked(shard, session, Removal::kExpired, garbage);
    return NotFoundLocked(shard, key, owner);
  }
  return &session;
}

void MemorySessionStore::UseLocked(Shard& shard, SessionRecord& session,
                                   absl::Time now) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  // The clock may be adjusted backwards; last_used and expires never move back.
  session.last_used = std::max(session.last_used, now);
  session.expires = session.last_used + session.ttl;
  session.use_sequence = use_sequence_.fetch_add(1, std::memory_order_relaxed);
  shard.lru.MoveToFront(&session);
  if (session.kv != nullptr) shard.kv_lru.MoveToFront(&session);
}

void MemorySessionStore::InsertLocked(Shard& shard, std::unique_ptr<SessionRecord> session)
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

void MemorySessionStore::RemoveLocked(Shard& shard, SessionRecord& session, Removal reason,
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
  shard.AddTombstone(key, Tombstone{static_cast<int>(reason), session.ttl, session.owner});
  if (reason != Removal::kDeleted) garbage.gone_ids.push_back(SessionKeyToId(key));
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

void MemorySessionStore::SetKvLocked(Shard& shard, SessionRecord& session,
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

namespace {

// The shard holding the least recently used idle session of recency list `list` (Shard::lru or
// Shard::kv_lru), and that session's use_sequence; {nullptr, 0} if every shard's list has none.
// Locks one shard at a time, so the answer may be stale by the time the caller locks the shard:
// callers re-check use_sequence under the lock.
std::pair<sessions_internal::Shard*, uint64_t> OldestIdle(
    const std::vector<std::unique_ptr<sessions_internal::Shard>>& shards,
    sessions_internal::RecencyList sessions_internal::Shard::*list) {
  sessions_internal::Shard* oldest_shard = nullptr;
  uint64_t oldest_sequence = 0;
  for (const auto& shard : shards) {
    absl::MutexLock lock(&shard->mutex);
    const SessionRecord* candidate = ((*shard).*list).LeastRecentIdle();
    if (candidate != nullptr &&
        (oldest_shard == nullptr || candidate->use_sequence < oldest_sequence)) {
      oldest_shard = shard.get();
      oldest_sequence = candidate->use_sequence;
    }
  }
  return {oldest_shard, oldest_sequence};
}

}  // namespace

bool MemorySessionStore::EvictLeastRecentlyUsed() {
  // Scan the shards' LRU tails one lock at a time, then evict the oldest found. If it was used or
  // removed in between, scan again.
  for (int attempt = 0; attempt < 8; ++attempt) {
    const auto [oldest_shard, oldest_sequence] = OldestIdle(shards_, &Shard::lru);
    if (oldest_shard == nullptr) return false;
    Garbage garbage(&options_.session_gone);
    absl::MutexLock lock(&oldest_shard->mutex);
    SessionRecord* candidate = oldest_shard->lru.LeastRecentIdle();
    if (candidate == nullptr || candidate->use_sequence != oldest_sequence) continue;
    RemoveLocked(*oldest_shard, *candidate, Removal::kEvicted, garbage);
    return true;
  }
  return false;
}

void MemorySessionStore::EnforcePinCap() {
  while (pins_->total() > options_.max_pinned_kv_blocks) {
    Shard* oldest_shard = OldestIdle(shards_, &Shard::kv_lru).first;
    if (oldest_shard == nullptr) return;  // only busy sessions hold KV; their commit retries
    std::string id;
    std::shared_ptr<const KvHandle> dropped;
    {
      Garbage garbage(&options_.session_gone);
      absl::MutexLock lock(&oldest_shard->mutex);
      SessionRecord* candidate = oldest_shard->kv_lru.LeastRecentIdle();
      if (candidate == nullptr) continue;
      id = SessionKeyToId(candidate->key);
      dropped = candidate->kv;
      SetKvLocked(*oldest_shard, *candidate, nullptr, garbage);
      ++oldest_shard->kv_drops;
    }
    if (options_.kv_dropped) options_.kv_dropped(std::move(id), std::move(dropped));
  }
}

std::vector<std::pair<std::string, std::shared_ptr<const KvHandle>>>
MemorySessionStore::RetainedKv() const {
  std::vector<std::pair<std::string, std::shared_ptr<const KvHandle>>> retained;
  for (const auto& shard : shards_) {
    absl::MutexLock lock(&shard->mutex);
    shard->sessions.ForEach([&](const SessionRecord& session) {
      if (session.kv != nullptr) retained.emplace_back(SessionKeyToId(session.key), session.kv);
    });
  }
  return retained;
}

std::vector<SessionSnapshot> MemorySessionStore::VolatileSessions() const {
  std::vector<SessionSnapshot> sessions;
  for (const auto& shard : shards_) {
    absl::MutexLock lock(&shard->mutex);
    shard->sessions.ForEach([&](const SessionRecord& session) {
      SessionSnapshot snapshot = MakeSnapshot(session, /*with_transcript=*/true);
      snapshot.kv = nullptr;
      snapshot.kv_blocks = 0;
      snapshot.busy = false;  // what a turn in progress would change is not committed
      sessions.push_back(std::move(snapshot));
    });
  }
  return sessions;
}

absl::Status MemorySessionStore::AdoptSession(SessionSnapshot saved) {
  MINIMIND_ASSIGN_OR_RETURN(const SessionKey key, SessionKeyFromId(saved.id));
  if (saved.ttl <= absl::ZeroDuration() || saved.ttl > options_.max_ttl) {
    return absl::InvalidArgumentError(
        absl::StrCat("session ", saved.id, ": idle TTL ", absl::FormatDuration(saved.ttl),
                     " is outside (0, ", absl::FormatDuration(options_.max_ttl), "]"));
  }
  MINIMIND_RETURN_IF_ERROR(ValidateSessionLabels(saved.labels, options_));
  if (saved.window_start < 0 || saved.window_start > static_cast<int64_t>(saved.messages.size())) {
    return absl::InvalidArgumentError(absl::StrCat("session ", saved.id, ": window start ",
                                                   saved.window_start, " outside its ",
                                                   saved.messages.size(), " messages"));
  }
  const absl::Time now = clock_();
  if (saved.last_used + saved.ttl <= now) {
    return absl::DeadlineExceededError(
        absl::StrCat("session ", saved.id, " expired while the server was down"));
  }
  if (session_count_.fetch_add(1, std::memory_order_relaxed) >= options_.max_sessions &&
      !EvictLeastRecentlyUsed()) {
    session_count_.fetch_sub(1, std::memory_order_relaxed);
    return AllSessionsBusyError(options_);
  }
  auto session = std::make_unique<SessionRecord>();
  session->key = key;
  session->owner = std::move(saved.owner);
  session->system_prompt = std::move(saved.system_prompt);
  session->labels = std::move(saved.labels);
  session->messages = std::move(saved.messages);
  session->tokens = std::move(saved.tokens);
  session->context_overflow = saved.context_overflow;
  session->window_start = saved.window_start;
  session->turns = saved.turns;
  session->created = saved.created;
  session->last_used = std::min(saved.last_used, now);
  session->ttl = saved.ttl;
  session->expires = session->last_used + session->ttl;
  Shard& shard = ShardOf(key);
  absl::MutexLock lock(&shard.mutex);
  if (shard.sessions.Find(key) != nullptr) {
    session_count_.fetch_sub(1, std::memory_order_relaxed);
    return absl::AlreadyExistsError(absl::StrCat("session ", saved.id, " already exists"));
  }
  InsertLocked(shard, std::move(session));
  return absl::OkStatus();
}

absl::StatusOr<SessionSnapshot> MemorySessionStore::CreateSession(
    absl::string_view owner, absl::string_view system_prompt, absl::Duration ttl,
    SessionLabels labels, ContextOverflow context_overflow) {
  if (absl::Status status = ValidateTtl(ttl); !status.ok()) return status;
  if (absl::Status status = ValidateSessionLabels(labels, options_); !status.ok()) return status;
  absl::StatusOr<SessionKey> key = id_generator_.Next();
  if (!key.ok()) return key.status();
  if (session_count_.fetch_add(1, std::memory_order_relaxed) >= options_.max_sessions &&
      !EvictLeastRecentlyUsed()) {
    session_count_.fetch_sub(1, std::memory_order_relaxed);
    return AllSessionsBusyError(options_);
  }
  auto session = std::make_unique<SessionRecord>();
  session->key = *key;
  session->owner = std::string(owner);
  session->system_prompt = std::string(system_prompt);
  session->labels = std::move(labels);
  session->context_overflow = context_overflow;
  session->created = session->last_used = clock_();
  session->ttl = EffectiveSessionTtl(ttl, options_);
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

absl::StatusOr<SessionSnapshot> MemorySessionStore::Get(absl::string_view id,
                                                        absl::string_view owner) {
  absl::StatusOr<SessionKey> key = SessionKeyFromId(id);
  if (!key.ok()) return key.status();
  Shard& shard = ShardOf(*key);
  const absl::Time now = clock_();
  Garbage garbage(&options_.session_gone);
  absl::MutexLock lock(&shard.mutex);
  absl::StatusOr<SessionRecord*> session = FindLocked(shard, *key, owner, now, garbage);
  if (!session.ok()) return session.status();
  return MakeSnapshot(**session, /*with_transcript=*/true);
}

absl::Status MemorySessionStore::Touch(absl::string_view id, absl::string_view owner) {
  absl::StatusOr<SessionKey> key = SessionKeyFromId(id);
  if (!key.ok()) return key.status();
  Shard& shard = ShardOf(*key);
  const absl::Time now = clock_();
  Garbage garbage(&options_.session_gone);
  absl::MutexLock lock(&shard.mutex);
  absl::StatusOr<SessionRecord*> session = FindLocked(shard, *key, owner, now, garbage);
  if (!session.ok()) return session.status();
  UseLocked(shard, **session, now);
  return absl::OkStatus();
}

absl::StatusOr<TurnLease> MemorySessionStore::BeginTurn(absl::string_view id,
                                                        absl::string_view owner) {
  absl::StatusOr<SessionKey> key = SessionKeyFromId(id);
  if (!key.ok()) return key.status();
  Shard& shard = ShardOf(*key);
  const absl::Time now = clock_();
  Garbage garbage(&options_.session_gone);
  absl::MutexLock lock(&shard.mutex);
  absl::StatusOr<SessionRecord*> session = FindLocked(shard, *key, owner, now, garbage);
  if (!session.ok()) return session.status();
  if ((*session)->busy) {
    return SessionBusyError(id);
  }
  (*session)->busy = true;
  UseLocked(shard, **session, now);
  return NewLease(*key, MakeSnapshot(**session, /*with_transcript=*/true));
}

absl::Status MemorySessionStore::CommitTurn(const SessionKey& key,
                                            std::vector<ChatMessage> appended_messages,
                                            std::vector<int32_t> tokens,
                                            std::shared_ptr<const KvHandle> kv,
                                            int64_t window_start) {
  Shard& shard = ShardOf(key);
  const absl::Time now = clock_();
  {
    Garbage garbage(&options_.session_gone);
    absl::MutexLock lock(&shard.mutex);
    SessionRecord* found = shard.sessions.Find(key);
    // The lease holder is the owner: it may learn why.
    if (found == nullptr) return NotFoundLocked(shard, key, std::nullopt);
    SessionRecord& session = *found;
    session.messages.insert(session.messages.end(),
                            std::make_move_iterator(appended_messages.begin()),
                            std::make_move_iterator(appended_messages.end()));
    session.tokens = std::move(tokens);
    session.window_start =
        std::clamp<int64_t>(window_start, 0, static_cast<int64_t>(session.messages.size()));
    SetKvLocked(shard, session, std::move(kv), garbage);
    session.busy = false;
    ++session.turns;
    UseLocked(shard, session, now);
  }
  if (pins_->total() > options_.max_pinned_kv_blocks) EnforcePinCap();
  return absl::OkStatus();
}

void MemorySessionStore::ReleaseTurn(const SessionKey& key) {
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

absl::Status MemorySessionStore::Delete(absl::string_view id, absl::string_view owner) {
  absl::StatusOr<SessionKey> key = SessionKeyFromId(id);
  if (!key.ok()) return key.status();
  Shard& shard = ShardOf(*key);
  const absl::Time now = clock_();
  Garbage garbage(&options_.session_gone);
  absl::MutexLock lock(&shard.mutex);
  absl::StatusOr<SessionRecord*> session = FindLocked(shard, *key, owner, now, garbage);
  if (!session.ok()) return session.status();
  RemoveLocked(shard, **session, Removal::kDeleted, garbage);
  return absl::OkStatus();
}

absl::StatusOr<SessionSnapshot> MemorySessionStore::Fork(absl::string_view id,
                                                         absl::string_view owner,
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
    Garbage garbage(&options_.session_gone);
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
    child->context_overflow = parent.context_overflow;
    child->window_start = parent.window_start;
    child->ttl = parent.ttl;
  }
  if (ttl.has_value()) {
    child->ttl = EffectiveSessionTtl(*ttl, options_);
  }
  if (session_count_.fetch_add(1, std::memory_order_relaxed) >= options_.max_sessions &&
      !EvictLeastRecentlyUsed()) {
    session_count_.fetch_sub(1, std::memory_order_relaxed);
    return AllSessionsBusyError(options_);
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

absl::StatusOr<SessionPage> MemorySessionStore::List(absl::string_view owner, int page_size,
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
  const size_t limit = static_cast<size_t>(EffectiveListPageSize(page_size, options_));
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

int64_t MemorySessionStore::ReapExpired(absl::Time now) {
  int64_t reaped = 0;
  for (const auto& shard_pointer : shards_) {
    Shard& shard = *shard_pointer;
    Garbage garbage(&options_.session_gone);
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

SessionStoreStats MemorySessionStore::stats() const {
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
