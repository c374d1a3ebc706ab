// TurnLease: the right to run one turn of a session (SessionStore::BeginTurn hands it out).
//
// While a lease lives its session is busy: a second BeginTurn gets ABORTED, and neither the reaper
// nor the LRU cap removes the session (Delete still can). snapshot() is the session as the turn
// began. Commit applies the turn's result at most once; destroying or resetting the lease without
// Commit leaves the transcript as it was and clears busy (a cancelled or failed turn changes
// nothing but last_used). Movable, not copyable; the SessionStore must outlive it. A lease is used
// by one thread at a time.
#ifndef MINIMIND_SERVICE_SESSIONS_TURN_LEASE_H_
#define MINIMIND_SERVICE_SESSIONS_TURN_LEASE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "engine/tokenizer/chat_template.h"
#include "service/sessions/session_id.h"
#include "service/sessions/session_snapshot.h"

namespace minimind {

class SessionStore;

class TurnLease {
 public:
  TurnLease() = default;  // holds nothing; valid() is false
  TurnLease(TurnLease&& other) noexcept;
  TurnLease& operator=(TurnLease&& other) noexcept;
  TurnLease(const TurnLease&) = delete;
  TurnLease& operator=(const TurnLease&) = delete;
  ~TurnLease();

  bool valid() const { return store_ != nullptr; }
  const SessionSnapshot& snapshot() const { return snapshot_; }

  // Appends `appended_messages` to the transcript, replaces its tokens by `tokens` (the tokens of
  // the context window after the turn) and its KV by `kv` (null: the session keeps no KV), sets
  // the window's start (nullopt: unchanged; an index into the transcript after the append), counts
  // the turn, refreshes last_used and clears busy. NOT_FOUND (saying expired/deleted/evicted) if
  // the session was removed meanwhile: nothing is applied. FailedPrecondition on an invalid or
  // already committed lease.
  absl::Status Commit(std::vector<ChatMessage> appended_messages, std::vector<int32_t> tokens,
                      std::shared_ptr<const KvHandle> kv,
                      std::optional<int64_t> window_start = std::nullopt);

  // Ends the lease without applying anything (what the destructor does). No-op if not valid().
  void Release();

 private:
  friend class SessionStore;
  TurnLease(SessionStore* store, SessionKey key, SessionSnapshot snapshot)
      : store_(store), key_(key), snapshot_(std::move(snapshot)) {}

  SessionStore* store_ = nullptr;  // null once committed, released or moved from
  SessionKey key_;
  SessionSnapshot snapshot_;
};

}  // namespace minimind

#endif  // MINIMIND_SERVICE_SESSIONS_TURN_LEASE_H_
