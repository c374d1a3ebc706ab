// RedisSessionStore: a SessionStore (session_store.h) whose sessions live in Redis, so that any
// replica (any RedisSessionStore on the same Redis and key prefix) can continue any session. Only
// the KV cache stays local: a replica keeps the KV handles its own engine made (LocalKvCache), and
// a snapshot's kv is null on a replica that has none for the session's current history (the
// service then prefills the transcript tokens again).
//
// Keys (prefix P, default "mm:"; ids are the 32-hex-digit session ids):
//   P s:{id}  hash: owner, system, labels (JSON object), messages (JSON lines, one message each),
//             num_messages, tokens (packed little-endian int32: the context window's), num_tokens,
//             window (the window's first message), overflow ("truncate" | "error"), turns,
//             created, last_used and ttl (ms), committed (the last committed lease token). Its
//             Redis expiry is ttl + expiry_grace after the last use, so it outlives its idle TTL
//             and the NOT_FOUND can say "expired"; the reaper normally removes it first.
//   P l:{id}  string: the turn lease, a token ("OWNER/INCARNATION/RANDOM" with a lease_owner,
//             else RANDOM), set only if absent (inside the script, so atomically, like SET NX)
//             with PX `lease`. Present = busy.
//             A background heartbeat renews this process's leases every lease / 3, so a crashed
//             replica holds a session for at most `lease` — or until it is started again under
//             its name (lease_owner), which deletes its predecessor's leases first thing.
//   P t:{id}  string: tombstone "deleted" | "evicted" | "expired <ttl ms>", kept for
//             tombstone_retention, so NOT_FOUND says why.
//   P o:{owner} zset, all scores 0: the owner's ids, for List (ZRANGEBYLEX keyset paging in id
//             order). Entries whose hash Redis expired are dropped lazily.
//   P x       zset id -> expiry (last_used + ttl, ms): what ReapExpired pops when due.
//   P u       zset id -> use sequence (INCR P seq): LRU order for the max_sessions cap; its size is
//             the number of sessions (stats().sessions).
// Every operation is one Lua script (redis_session_scripts.h), so each is atomic across replicas.
// The authoritative idle expiry is the stored last_used + ttl against the store's clock
// (SessionStoreOptions::clock, passed to the scripts), so all replicas must share a clock source
// (absl::Now in production; tests inject a manual clock). Leases and tombstones use Redis time.
//
// Semantics as MemorySessionStore, with these differences:
//   - Turns: a Commit whose lease was lost (its heartbeat could not reach Redis for `lease`, and
//     another replica may have taken the session) is ABORTED and applies nothing. A Commit that
//     cannot reach Redis retries with backoff until commit_deadline (the commit script is
//     idempotent, so a retry after a lost reply never applies a turn twice), then is Unavailable
//     and the lease expires by itself. Commit blocks for that long: callers run it off the engine
//     thread (service/generation/io_executor.h). A Release that cannot reach Redis leaves the
//     lease to expire by itself.
//   - KV: a replica's handle is used only while the session has the turn count it was stored at;
//     after a turn on another replica it is dropped. max_pinned_kv_blocks caps this replica's
//     handles (LRU, skipping this replica's running turns).
//   - max_sessions counts every replica's sessions; eviction takes the LRU session whose lease is
//     not held by anyone. Stats: `sessions` is the count in Redis (the last one read when Redis is
//     down); the counters are this replica's actions.
//   - Tombstones expire after tombstone_retention (SessionStoreOptions::tombstones == 0: none).
//   - Message texts that are not valid UTF-8 are stored with U+FFFD replacements (JSON).
//   - Redis down: every call returns Unavailable ("session store unavailable: redis at HOST:PORT:
//     ..."), ReapExpired returns 0, and the store reconnects by itself (RedisClient).
//
// Thread-safety: every method is safe to call concurrently. The store must outlive its leases.
#ifndef MINIMIND_SERVICE_SESSIONS_REDIS_SESSION_STORE_H_
#define MINIMIND_SERVICE_SESSIONS_REDIS_SESSION_STORE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/sessions/redis_url.h"
#include "service/sessions/session_id.h"
#include "service/sessions/session_snapshot.h"
#include "service/sessions/session_store.h"
#include "service/sessions/turn_lease.h"

namespace minimind {

class RedisClient;
struct RedisReply;
namespace sessions_internal {
class LocalKvCache;
}  // namespace sessions_internal

struct RedisSessionStoreOptions {
  SessionStoreOptions sessions;  // num_shards is unused
  RedisAddress address;          // see ParseRedisUrl
  std::string key_prefix = "mm:";
  absl::Duration connect_timeout = absl::Seconds(1);
  absl::Duration command_timeout = absl::Seconds(1);
  absl::Duration lease = absl::Seconds(30);  // a turn's lease; renewed every lease / 3
  // A name this replica keeps across restarts (the server uses HOSTNAME:PORT; a StatefulSet pod's
  // name is stable), written into its lease tokens. A replica started under the same name removes
  // the leases its crashed predecessor left (the one process of that name is gone: it held the
  // port), so their sessions are free at once instead of after `lease`. Empty: off.
  std::string lease_owner;
  // How long a turn's Commit keeps retrying while Redis cannot be reached (each attempt bounded by
  // command_timeout) before it reports Unavailable and applies nothing. At most lease / 2 is used,
  // so the lease outlives the retries.
  absl::Duration commit_deadline = absl::Seconds(10);
  absl::Duration tombstone_retention = absl::Hours(1);
  absl::Duration expiry_grace = absl::Minutes(10);  // Redis expiry beyond the idle TTL
  int max_idle_connections = 4;
};

// InvalidArgument naming the first inconsistent option (those of ValidateSessionStoreOptions,
// an empty host or prefix, a port outside 1..65535, a negative db, non-positive timeouts or
// lease, negative retention or grace).
absl::Status ValidateRedisSessionStoreOptions(const RedisSessionStoreOptions& options);

class RedisSessionStore final : public SessionStore {
 public:
  // InvalidArgument on inconsistent options. Does not contact Redis: a store made while Redis is
  // down works once Redis is up.
  static absl::StatusOr<std::unique_ptr<RedisSessionStore>> Make(RedisSessionStoreOptions options);

  RedisSessionStore(const RedisSessionStore&) = delete;
  RedisSessionStore& operator=(const RedisSessionStore&) = delete;
  ~RedisSessionStore() override;

  absl::StatusOr<SessionSnapshot> Get(absl::string_view id, absl::string_view owner) override;
  absl::Status Touch(absl::string_view id, absl::string_view owner) override;
  absl::StatusOr<TurnLease> BeginTurn(absl::string_view id, absl::string_view owner) override;
  absl::Status Delete(absl::string_view id, absl::string_view owner) override;
  absl::StatusOr<SessionSnapshot> Fork(absl::string_view id, absl::string_view owner,
                                       std::optional<absl::Duration> ttl) override;
  absl::StatusOr<int64_t> CountSessions(absl::string_view owner) const override;

  absl::StatusOr<SessionPage> List(absl::string_view owner, int page_size,
                                   absl::string_view page_token) override;
  // Removes every idle session of any replica whose idle TTL has run out at `now`, and forgets
  // the local KV of sessions gone from Redis; returns how many sessions this call removed.
  int64_t ReapExpired(absl::Time now) override;

  std::vector<std::pair<std::string, std::shared_ptr<const KvHandle>>> RetainedKv() const override;
  SessionStoreStats stats() const override;
  absl::Time Now() const override { return clock_(); }
  const SessionStoreOptions& options() const override { return options_.sessions; }

  // Stops renewing this replica's leases, as if the process had hung or crashed: they expire in
  // Redis after `lease`. For tests.
  void StopHeartbeatForTesting();

 private:
  enum class Script { kAccess, kCreate, kCommit, kRelease, kRenew, kReap, kList, kMissing };

  explicit RedisSessionStore(RedisSessionStoreOptions options);
  // Deletes every lease whose token carries lease_owner but not this process's incarnation.
  absl::Status ReleasePredecessorLeases();

  absl::StatusOr<SessionSnapshot> CreateSession(absl::string_view owner,
                                                absl::string_view system_prompt, absl::Duration ttl,
                                                SessionLabels labels,
                                                ContextOverflow context_overflow) override;
  absl::Status CommitTurn(const SessionKey& key, std::vector<ChatMessage> appended_messages,
                          std::vector<int32_t> tokens, std::shared_ptr<const KvHandle> kv,
                          int64_t window_start) override;
  void ReleaseTurn(const SessionKey& key) override;

  // Runs `script` with the common ARGV (prefix, `now`, grace, retention) followed by `args`.
  absl::StatusOr<RedisReply> Run(Script script, absl::Time now, std::vector<std::string> args);
  // The access script (see redis_session_scripts.h) on session `key`; its reply on 'ok', the
  // matching error otherwise.
  absl::StatusOr<RedisReply> Access(const SessionKey& key, absl::string_view owner,
                                    absl::string_view op, absl::string_view lease_token);
  // The NOT_FOUND for `id` given its tombstone text ("" if none).
  // NOT_FOUND saying why, from a tombstone "OWNER\nREASON" of `owner` (nullopt: the caller is
  // the owner); "not found" for no tombstone or another owner's.
  absl::Status NotFound(const std::string& id, absl::string_view tombstone,
                        std::optional<absl::string_view> owner) const;
  // Writes a new record; ResourceExhausted when every session is busy at max_sessions.
  absl::Status Insert(const std::string& id, absl::string_view owner, absl::Time now,
                      std::vector<std::string> fields);
  absl::StatusOr<SessionSnapshot> ToSnapshot(const SessionKey& key, const RedisReply& record,
                                             bool busy, bool use_kv);
  void EnforcePinCap();
  void Heartbeat();

  const RedisSessionStoreOptions options_;
  const std::function<absl::Time()> clock_;
  const std::function<int64_t(const KvHandle&)> kv_blocks_;
  std::unique_ptr<RedisClient> client_;
  std::unique_ptr<sessions_internal::LocalKvCache> kv_cache_;
  SessionIdGenerator id_generator_;  // session ids and lease tokens

  absl::Mutex leases_mutex_;
  // This replica's turns in progress: session -> its lease token.
  absl::flat_hash_map<SessionKey, std::string> leases_ ABSL_GUARDED_BY(leases_mutex_);

  // This process's part of its lease tokens ("OWNER/INCARNATION/RANDOM"; empty without an owner).
  std::string token_prefix_;
  bool predecessor_released_ = false;  // heartbeat thread only

  std::atomic<int64_t> created_{0};
  std::atomic<int64_t> forked_{0};
  std::atomic<int64_t> deleted_{0};
  std::atomic<int64_t> evicted_ttl_{0};
  std::atomic<int64_t> evicted_lru_{0};
  std::atomic<int64_t> kv_drops_{0};
  mutable std::atomic<int64_t> last_session_count_{0};

  absl::Mutex heartbeat_mutex_;
  bool stop_heartbeat_ ABSL_GUARDED_BY(heartbeat_mutex_) = false;
  std::thread heartbeat_;  // last: started once every other member is ready
};

}  // namespace minimind

#endif  // MINIMIND_SERVICE_SESSIONS_REDIS_SESSION_STORE_H_
