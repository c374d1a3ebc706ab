// OwnerIndex: one owner's session keys within one SessionStore shard, kept sorted lazily so that
// ListSessions pages through them in key order. Internal to SessionStore (session_store.cc).
// Thread-safety: none; the shard's mutex guards it.
#ifndef MINIMIND_SERVICE_SESSIONS_OWNER_INDEX_H_
#define MINIMIND_SERVICE_SESSIONS_OWNER_INDEX_H_

#include <algorithm>
#include <cstddef>
#include <vector>

#include "service/sessions/session_id.h"

namespace minimind {
namespace sessions_internal {

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

}  // namespace sessions_internal
}  // namespace minimind

#endif  // MINIMIND_SERVICE_SESSIONS_OWNER_INDEX_H_
