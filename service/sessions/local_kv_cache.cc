#include "service/sessions/local_kv_cache.h"

#include <iterator>
#include <utility>

namespace minimind {
namespace sessions_internal {

void LocalKvCache::EraseLocked(absl::flat_hash_map<SessionKey, Entry>::iterator it,
                               std::vector<std::shared_ptr<const KvHandle>>& garbage) {
  ledger_.Remove(it->second.kv.get());
  lru_.erase(it->second.lru);
  garbage.push_back(std::move(it->second.kv));
  entries_.erase(it);
}

LocalKvCache::Found LocalKvCache::Find(const SessionKey& key, int64_t turns, bool use) {
  std::vector<std::shared_ptr<const KvHandle>> garbage;
  absl::MutexLock lock(&mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return {};
  if (it->second.turns != turns) {
    EraseLocked(it, garbage);
    return {};
  }
  if (use) lru_.splice(lru_.begin(), lru_, it->second.lru);
  return Found{it->second.kv, it->second.blocks};
}

void LocalKvCache::Put(const SessionKey& key, std::shared_ptr<const KvHandle> kv, int64_t blocks,
                       int64_t turns) {
  std::vector<std::shared_ptr<const KvHandle>> garbage;
  absl::MutexLock lock(&mutex_);
  if (auto it = entries_.find(key); it != entries_.end()) EraseLocked(it, garbage);
  if (kv == nullptr) return;
  ledger_.Add(kv.get(), blocks);
  lru_.push_front(key);
  entries_.emplace(key, Entry{std::move(kv), blocks, turns, lru_.begin()});
}

void LocalKvCache::Erase(const SessionKey& key) { EraseAll({key}); }

void LocalKvCache::EraseAll(const std::vector<SessionKey>& keys) {
  std::vector<std::shared_ptr<const KvHandle>> garbage;
  absl::MutexLock lock(&mutex_);
  for (const SessionKey& key : keys) {
    if (auto it = entries_.find(key); it != entries_.end()) EraseLocked(it, garbage);
  }
}

std::vector<std::pair<SessionKey, std::shared_ptr<const KvHandle>>> LocalKvCache::EnforceCap(
    const absl::flat_hash_set<SessionKey>& busy) {
  std::vector<std::pair<SessionKey, std::shared_ptr<const KvHandle>>> dropped;
  absl::MutexLock lock(&mutex_);
  auto candidate = lru_.end();
  while (ledger_.total() > max_blocks_ && candidate != lru_.begin()) {
    --candidate;
    if (busy.contains(*candidate)) continue;
    auto entry = entries_.find(*candidate);
    // Step off the node before erasing it: erasing invalidates only that iterator.
    auto next = std::next(candidate);
    std::vector<std::shared_ptr<const KvHandle>> garbage;
    const SessionKey key = *candidate;
    EraseLocked(entry, garbage);
    dropped.emplace_back(key, std::move(garbage.front()));
    candidate = next;
  }
  return dropped;
}

std::vector<std::pair<SessionKey, std::shared_ptr<const KvHandle>>> LocalKvCache::Entries() const {
  absl::MutexLock lock(&mutex_);
  std::vector<std::pair<SessionKey, std::shared_ptr<const KvHandle>>> entries;
  for (const auto& [key, entry] : entries_) entries.emplace_back(key, entry.kv);
  return entries;
}

std::vector<SessionKey> LocalKvCache::Keys() const {
  absl::MutexLock lock(&mutex_);
  return std::vector<SessionKey>(lru_.begin(), lru_.end());
}

int64_t LocalKvCache::size() const {
  absl::MutexLock lock(&mutex_);
  return static_cast<int64_t>(entries_.size());
}

}  // namespace sessions_internal
}  // namespace minimind
