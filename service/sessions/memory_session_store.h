// MemorySessionStore: the embedded SessionStore (session_store.h) — every live chat session of
// this server in its own memory, keyed by an unguessable id.
//
// Structure: `num_shards` shards, picked by the id's random low word, each an absl::Mutex over an
// absl::flat_hash_map of its sessions hashed by the id's random high word. Each shard also keeps,
// under its own mutex:
//   - an LRU list of its sessions and a second one of those holding KV (move-to-front on use);
//   - an expiry min-heap with lazy invalidation: one entry per session keyed by an expiry time
//     never later than the session's real one. Using a session only moves its `expires` later, in
//     O(1); the reaper pops entries that are due and either removes the session or re-pushes it at
//     its real expiry. Entries of removed sessions are skipped when popped, and the heap is rebuilt
//     when they outnumber the live ones. Reaping thus costs O((expired + used-since-due) log n),
//     not a scan of the store;
//   - per owner, an id-sorted vector of its keys for stable List paging; Create/Delete append to
//     pending vectors that are merged in sequential passes (when they reach half the sorted size,
//     and before List reads), so neither pays for a random tree access;
//   - a bounded FIFO of tombstones (`tombstones / num_shards` each) remembering why recently
//     removed ids are gone, so NOT_FOUND says "expired", "deleted" or "evicted".
// Sessions are never removed while busy except by Delete.
//
// Caps:
//   - max_sessions: Create over the cap evicts the least recently used idle session. The LRU is
//     exact when uncontended: every use takes a global sequence number, and eviction looks at the
//     LRU tail of every shard (O(num_shards) lock acquisitions, only when at the cap). Under
//     concurrent use a session touched between that scan and the eviction may still be evicted, and
//     concurrent Creates may each evict one, so the count can dip below the cap; it never exceeds
//     it once the Creates return.
//   - max_pinned_kv_blocks (soft pin): the store counts the KV blocks its sessions hold, each
//     distinct KvHandle once (forks share one). Over the cap it drops the KV, never the transcript,
//     of the least recently used idle sessions holding KV until it is back under the cap. A session
//     without KV rebuilds it from its tokens on the next turn.
//
// Thread-safety: every method is safe to call concurrently. Lock order: a shard mutex, then the
// pin ledger's; never two shards at once. KV handles and session bodies dropped by the store are
// destroyed after its locks are released.
#ifndef MINIMIND_SERVICE_SESSIONS_MEMORY_SESSION_STORE_H_
#define MINIMIND_SERVICE_SESSIONS_MEMORY_SESSION_STORE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "service/sessions/session_id.h"
#include "service/sessions/session_snapshot.h"
#include "service/sessions/session_store.h"
#include "service/sessions/turn_lease.h"

namespace minimind {

namespace sessions_internal {
struct Garbage;
struct SessionRecord;
struct Shard;
class PinLedger;
}  // namespace sessions_internal

class MemorySessionStore final : public SessionStore {
 public:
  // InvalidArgument on inconsistent options (non-positive shards, caps or TTLs, max_ttl < default).
  static absl::StatusOr<std::unique_ptr<MemorySessionStore>> Make(SessionStoreOptions options);

  MemorySessionStore(const MemorySessionStore&) = delete;
  MemorySessionStore& operator=(const MemorySessionStore&) = delete;
  ~MemorySessionStore() override;

  // InvalidArgument for a malformed id; NOT_FOUND (unknown, expired, deleted or evicted: the
  // message says which, to the owner only); another owner's session is NOT_FOUND "not found",
  // exactly as an id that never existed. Does not refresh the TTL.
  absl::StatusOr<SessionSnapshot> Get(absl::string_view id, absl::string_view owner) override;

  // Refreshes last_used (and so the idle TTL) without a turn. Errors as Get.
  absl::Status Touch(absl::string_view id, absl::string_view owner) override;

  // Errors as Get; ABORTED if a turn is already in progress. Marks the session busy and refreshes
  // last_used; the lease's snapshot is the session at this instant.
  absl::StatusOr<TurnLease> BeginTurn(absl::string_view id, absl::string_view owner) override;

  // Errors as Get. Removes the session even if busy (its lease's Commit then fails NOT_FOUND).
  absl::Status Delete(absl::string_view id, absl::string_view owner) override;

  // A new session of the same owner with a copy of the transcript, tokens, system prompt and
  // labels, sharing the parent's KV handle (copy-on-write in the engine). ttl: nullopt = the
  // parent's, 0 = default_ttl, otherwise as in Create. Errors as Get and Create.
  absl::StatusOr<SessionSnapshot> Fork(absl::string_view id, absl::string_view owner,
                                       std::optional<absl::Duration> ttl) override;

  // The owner's sessions in ascending id order, without messages and tokens (see num_messages,
  // num_tokens). page_size <= 0 means the default; larger than the max is capped. page_token is ""
  // or a next_page_token returned earlier (InvalidArgument otherwise). Paging is stable: a session
  // that lives throughout is returned exactly once.
  absl::StatusOr<int64_t> CountSessions(absl::string_view owner) const override;

  absl::StatusOr<SessionPage> List(absl::string_view owner, int page_size,
                                   absl::string_view page_token) override;

  // Removes every idle session whose idle TTL has run out at `now`; returns how many.
  int64_t ReapExpired(absl::Time now) override;

  std::vector<std::pair<std::string, std::shared_ptr<const KvHandle>>> RetainedKv() const override;
  std::vector<SessionSnapshot> VolatileSessions() const override;
  absl::Status AdoptSession(SessionSnapshot session) override;
  SessionStoreStats stats() const override;
  absl::Time Now() const override { return clock_(); }
  const SessionStoreOptions& options() const { return options_; }

 private:
  using Garbage = sessions_internal::Garbage;
  using SessionRecord = sessions_internal::SessionRecord;
  using Shard = sessions_internal::Shard;
  enum class Removal { kExpired, kDeleted, kEvicted };

  explicit MemorySessionStore(SessionStoreOptions options);

  // New session owned by `owner`. ttl 0 = default_ttl; negative or > max_ttl -> InvalidArgument.
  // Labels beyond max_labels / max_label_bytes -> InvalidArgument. At max_sessions it evicts the
  // LRU idle session; ResourceExhausted if every session is busy.
  absl::StatusOr<SessionSnapshot> CreateSession(absl::string_view owner,
                                                absl::string_view system_prompt, absl::Duration ttl,
                                                SessionLabels labels,
                                                ContextOverflow context_overflow) override;
  absl::Status CommitTurn(const SessionKey& key, std::vector<ChatMessage> appended_messages,
                          std::vector<int32_t> tokens, std::shared_ptr<const KvHandle> kv,
                          int64_t window_start) override;
  void ReleaseTurn(const SessionKey& key) override;

  Shard& ShardOf(const SessionKey& key) const;
  // The live session `key` of `owner` (shard mutex held). Removes it if its TTL has run out.
  absl::StatusOr<SessionRecord*> FindLocked(Shard& shard, const SessionKey& key,
                                            absl::string_view owner, absl::Time now,
                                            Garbage& garbage);
  // NOT_FOUND saying why (expired, deleted, evicted) when a tombstone of `owner`'s remembers the
  // id; "not found" otherwise, also for another owner's tombstone. nullopt: the caller is trusted
  // to be the owner (a lease's commit).
  absl::Status NotFoundLocked(const Shard& shard, const SessionKey& key,
                              std::optional<absl::string_view> owner) const;
  void UseLocked(Shard& shard, SessionRecord& session, absl::Time now);
  void InsertLocked(Shard& shard, std::unique_ptr<SessionRecord> session);
  void RemoveLocked(Shard& shard, SessionRecord& session, Removal reason, Garbage& garbage);
  void SetKvLocked(Shard& shard, SessionRecord& session, std::shared_ptr<const KvHandle> kv,
                   Garbage& garbage);
  absl::Status ValidateTtl(absl::Duration ttl) const;
  // Makes room for one more session: evicts the LRU idle session. False if none can be evicted.
  bool EvictLeastRecentlyUsed();
  // Drops the KV of LRU idle sessions until the pinned blocks are within the cap.
  void EnforcePinCap();

  SessionStoreOptions options_;
  std::function<absl::Time()> clock_;
  std::function<int64_t(const KvHandle&)> kv_blocks_;
  SessionIdGenerator id_generator_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::unique_ptr<sessions_internal::PinLedger> pins_;
  // The only state every operation shares, each on its own cache line. Other counters live in
  // the shards (stats() sums them).
  alignas(64) std::atomic<uint64_t> use_sequence_{0};
  alignas(64) std::atomic<int64_t> session_count_{0};
};

}  // namespace minimind

#endif  // MINIMIND_SERVICE_SESSIONS_MEMORY_SESSION_STORE_H_
