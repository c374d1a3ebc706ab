#include "service/sessions/turn_lease.h"

#include <utility>

#include "service/sessions/session_store.h"

namespace minimind {

TurnLease::TurnLease(TurnLease&& other) noexcept
    : store_(std::exchange(other.store_, nullptr)),
      key_(other.key_),
      snapshot_(std::move(other.snapshot_)) {}

TurnLease& TurnLease::operator=(TurnLease&& other) noexcept {
  if (this != &other) {
    Release();
    store_ = std::exchange(other.store_, nullptr);
    key_ = other.key_;
    snapshot_ = std::move(other.snapshot_);
  }
  return *this;
}

TurnLease::~TurnLease() { Release(); }

absl::Status TurnLease::Commit(std::vector<ChatMessage> appended_messages,
                               std::vector<int32_t> tokens, std::shared_ptr<const KvHandle> kv,
                               std::optional<int64_t> window_start) {
  if (store_ == nullptr) {
    return absl::FailedPreconditionError(
        "this turn lease is not active (already committed, released or moved from)");
  }
  SessionStore* store = std::exchange(store_, nullptr);
  return store->CommitTurn(key_, std::move(appended_messages), std::move(tokens), std::move(kv),
                           window_start.value_or(snapshot_.window_start));
}

void TurnLease::Release() {
  if (store_ == nullptr) return;
  std::exchange(store_, nullptr)->ReleaseTurn(key_);
}

}  // namespace minimind
