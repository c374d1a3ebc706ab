// SessionStore: the interface of the server's chat sessions, with two implementations:
//   - MemorySessionStore (memory_session_store.h): everything in this process; the default.
//   - RedisSessionStore (redis_session_store.h): transcripts, owners, labels, TTLs and turn leases
//     in Redis, so any replica can continue any session; the KV cache stays local to a replica.
// The service (service/*_service.cc) sees only this interface.
//
// Contract shared by every implementation:
//   - Ids are 32 hex digits from a CSPRNG (session_id.h). A malformed id is InvalidArgument; an
//     unknown, expired, deleted or evicted one NOT_FOUND (the message says which when known, and
//     only to the session's owner). A session of another owner (tenant) is NOT_FOUND
//     "session <id> not found", exactly as an id that never existed, so ids cannot be probed.
//   - One turn at a time: BeginTurn marks the session busy until the lease commits or is released;
//     a second BeginTurn meanwhile is ABORTED. A lease not committed changes nothing.
//   - A session's context window (window_start, tokens) moves only by a commit; the transcript
//     (messages) only grows.
//   - The KV handle of a snapshot is a cache: it may be null even for a session with history, and
//     the service then prefills the transcript tokens again. Never wrong, only slower.
//   - Unavailable when the backing store cannot be reached (Redis down); nothing else is
//     disturbed, and the store reconnects by itself.
// Thread-safety: every method of every implementation is safe to call concurrently.
#ifndef MINIMIND_SERVICE_SESSIONS_SESSION_STORE_H_
#define MINIMIND_SERVICE_SESSIONS_SESSION_STORE_H_

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "service/sessions/session_id.h"
#include "service/sessions/session_snapshot.h"
#include "service/sessions/turn_lease.h"

namespace minimind {

struct SessionStoreOptions {
  int num_shards = 64;
  int64_t max_sessions = 100000;
  absl::Duration default_ttl = absl::Minutes(30);  // idle TTL when Create gets 0
  absl::Duration max_ttl = absl::Hours(24);        // a larger requested TTL is InvalidArgument
  // Cap on the KV blocks held by sessions (the service passes a fraction of the pool). 0: sessions
  // keep no KV after their turn.
  int64_t max_pinned_kv_blocks = std::numeric_limits<int64_t>::max();
  int64_t tombstones = 100000;  // recently removed ids remembered, across all shards
  int max_labels = 64;
  int max_label_bytes = 256;  // per key and per value
  int list_page_size_default = 50;
  int list_page_size_max = 1000;
  // Time source; null means absl::Now. Tests inject a manual clock.
  std::function<absl::Time()> clock;
  // Blocks a KV handle pins; null means KvHandle::num_blocks(). Tests inject fakes.
  std::function<int64_t(const KvHandle&)> kv_blocks;
  // Called, outside the store's locks, with a session's KV when the pin cap drops it, so it can
  // be kept elsewhere (the KV spill tier: the server's kv_spill_store.h). Null: dropped KV is gone.
  std::function<void(std::string id, std::shared_ptr<const KvHandle> kv)> kv_dropped;
  // Called, outside the store's locks, with the id of each session the store removed by itself
  // (idle TTL, LRU eviction), so what is kept elsewhere for it (its spilled KV) goes too. Delete
  // does not call it: its caller knows. Null: nothing is told.
  std::function<void(std::string id)> session_gone;
};

// InvalidArgument naming the first inconsistent option (non-positive shards, caps or TTLs,
// max_ttl < default_ttl, bad page sizes).
absl::Status ValidateSessionStoreOptions(const SessionStoreOptions& options);
// InvalidArgument beyond options.max_labels / max_label_bytes, or for an empty key.
absl::Status ValidateSessionLabels(const SessionLabels& labels, const SessionStoreOptions& options);
// InvalidArgument for a negative TTL or one above options.max_ttl (0 means the default).
absl::Status ValidateSessionTtl(absl::Duration ttl, const SessionStoreOptions& options);

// The one policy of every store (implementations call these, never spell them out again):
// The TTL a session gets for a requested `ttl` (0 = options.default_ttl).
absl::Duration EffectiveSessionTtl(absl::Duration ttl, const SessionStoreOptions& options);
// The page size List uses for a requested `page_size` (<= 0: the default; capped at the max).
int EffectiveListPageSize(int page_size, const SessionStoreOptions& options);
// The errors every store answers, word for word.
enum class SessionRemoval { kExpired, kDeleted, kEvicted };
absl::Status SessionNotFoundError(absl::string_view id);  // unknown, or another owner's
// `ttl` is the idle TTL the session expired after (kExpired only).
absl::Status SessionRemovedError(absl::string_view id, SessionRemoval removal, absl::Duration ttl,
                                 const SessionStoreOptions& options);
absl::Status SessionBusyError(absl::string_view id);
absl::Status AllSessionsBusyError(const SessionStoreOptions& options);

// Counters since start (sessions, sessions_with_kv and the pinned blocks are current values). In
// a Redis store `sessions` counts every replica's live sessions; the rest count this replica's
// own actions.
struct SessionStoreStats {
  int64_t sessions = 0;
  int64_t sessions_with_kv = 0;
  int64_t pinned_kv_blocks = 0;  // distinct handles counted once
  int64_t max_pinned_kv_blocks = 0;
  int64_t created = 0;  // includes forks
  int64_t forked = 0;
  int64_t deleted = 0;
  int64_t evicted_ttl = 0;
  int64_t evicted_lru = 0;
  int64_t kv_drops = 0;  // sessions whose KV was dropped under the pin cap
};

class SessionStore {
 public:
  virtual ~SessionStore() = default;

  // New session owned by `owner`. ttl 0 = default_ttl; negative or > max_ttl -> InvalidArgument.
  // Labels beyond max_labels / max_label_bytes -> InvalidArgument. At max_sessions it evicts the
  // LRU idle session; ResourceExhausted if every session is busy.
  absl::StatusOr<SessionSnapshot> Create(
      absl::string_view owner, absl::string_view system_prompt, absl::Duration ttl,
      SessionLabels labels, ContextOverflow context_overflow = ContextOverflow::kTruncate) {
    return CreateSession(owner, system_prompt, ttl, std::move(labels), context_overflow);
  }

  // The session with its transcript. Does not refresh the TTL.
  virtual absl::StatusOr<SessionSnapshot> Get(absl::string_view id, absl::string_view owner) = 0;

  // Refreshes last_used (and so the idle TTL) without a turn.
  virtual absl::Status Touch(absl::string_view id, absl::string_view owner) = 0;

  // ABORTED if a turn is already in progress. Marks the session busy and refreshes last_used; the
  // lease's snapshot is the session at this instant.
  virtual absl::StatusOr<TurnLease> BeginTurn(absl::string_view id, absl::string_view owner) = 0;

  // Removes the session even if busy (its lease's Commit then fails NOT_FOUND).
  virtual absl::Status Delete(absl::string_view id, absl::string_view owner) = 0;

  // A new session of the same owner with a copy of the transcript, tokens, system prompt and
  // labels, sharing the parent's KV handle when this replica holds one (copy-on-write in the
  // engine). ttl: nullopt = the parent's, 0 = default_ttl, otherwise as in Create.
  virtual absl::StatusOr<SessionSnapshot> Fork(absl::string_view id, absl::string_view owner,
                                               std::optional<absl::Duration> ttl) = 0;

  // The owner's sessions in ascending id order, without messages and tokens (see num_messages,
  // num_tokens). page_size <= 0 means the default; larger than the max is capped. page_token is ""
  // or a next_page_token returned earlier (InvalidArgument otherwise). Paging is stable: a session
  // that lives throughout is returned exactly once.
  virtual absl::StatusOr<SessionPage> List(absl::string_view owner, int page_size,
                                           absl::string_view page_token) = 0;

  // How many sessions `owner` has (for per-tenant limits). May count sessions that expired and
  // were not yet reaped. Unavailable when the backing store cannot be reached.
  virtual absl::StatusOr<int64_t> CountSessions(absl::string_view owner) const = 0;

  // Removes (or, in Redis, forgets the local state of) every idle session whose idle TTL has run
  // out at `now`; returns how many. The SessionReaper calls it periodically.
  virtual int64_t ReapExpired(absl::Time now) = 0;

  // The KV handles this replica holds, by session id (a draining server spills them).
  virtual std::vector<std::pair<std::string, std::shared_ptr<const KvHandle>>> RetainedKv()
      const = 0;

  // Sessions that live only in this process and end with it, complete but without KV, so a
  // draining server can save them (session_state_file.h): every session of the memory store; none
  // of a store that keeps them elsewhere (Redis).
  virtual std::vector<SessionSnapshot> VolatileSessions() const { return {}; }

  // Takes back a session saved by VolatileSessions in an earlier process, with its id, owner,
  // transcript, tokens, times and TTL (kv is ignored). AlreadyExists for an id in use;
  // DeadlineExceeded when its idle TTL ran out meanwhile; Unimplemented by stores that do not
  // need it; otherwise as Create (eviction at max_sessions, label and TTL checks).
  virtual absl::Status AdoptSession(SessionSnapshot session) {
    (void)session;
    return absl::UnimplementedError("this session store keeps its sessions itself");
  }

  virtual SessionStoreStats stats() const = 0;
  virtual absl::Time Now() const = 0;
  virtual const SessionStoreOptions& options() const = 0;

 protected:
  friend class TurnLease;

  // Create, as each implementation does it.
  virtual absl::StatusOr<SessionSnapshot> CreateSession(absl::string_view owner,
                                                        absl::string_view system_prompt,
                                                        absl::Duration ttl, SessionLabels labels,
                                                        ContextOverflow context_overflow) = 0;

  // A lease of this store over `key`; only implementations hand leases out.
  TurnLease NewLease(const SessionKey& key, SessionSnapshot snapshot) {
    return TurnLease(this, key, std::move(snapshot));
  }
  // TurnLease::Commit and TurnLease::Release (or its destructor) land here, once per lease.
  virtual absl::Status CommitTurn(const SessionKey& key, std::vector<ChatMessage> appended_messages,
                                  std::vector<int32_t> tokens, std::shared_ptr<const KvHandle> kv,
                                  int64_t window_start) = 0;
  virtual void ReleaseTurn(const SessionKey& key) = 0;
};

}  // namespace minimind

#endif  // MINIMIND_SERVICE_SESSIONS_SESSION_STORE_H_
