#include "engine/scheduler/waiting_queue.h"

#include <algorithm>
#include <utility>

namespace minimind {

void WaitingQueue::Insert(std::unique_ptr<Generation> generation) {
  std::deque<std::unique_ptr<Generation>>& queue = queues_[generation->request().tenant];
  const int64_t arrival = generation->arrival;
  auto it = std::upper_bound(queue.begin(), queue.end(), arrival,
                             [](int64_t value, const auto& g) { return value < g->arrival; });
  queue.insert(it, std::move(generation));
  ++size_;
}

std::unique_ptr<Generation> WaitingQueue::Remove(const Generation& generation) {
  auto queue_it = queues_.find(generation.request().tenant);
  if (queue_it == queues_.end()) return nullptr;
  std::deque<std::unique_ptr<Generation>>& queue = queue_it->second;
  auto it = std::find_if(queue.begin(), queue.end(),
                         [&](const auto& g) { return g.get() == &generation; });
  if (it == queue.end()) return nullptr;
  std::unique_ptr<Generation> owned = std::move(*it);
  queue.erase(it);
  if (queue.empty()) queues_.erase(queue_it);
  --size_;
  return owned;
}

std::vector<Generation*> WaitingQueue::Heads() const {
  std::vector<Generation*> heads;
  heads.reserve(queues_.size());
  for (const auto& [tenant, queue] : queues_) heads.push_back(queue.front().get());
  return heads;
}

std::vector<Generation*> WaitingQueue::All() const {
  std::vector<Generation*> all;
  all.reserve(size_);
  for (const auto& [tenant, queue] : queues_) {
    for (const auto& generation : queue) all.push_back(generation.get());
  }
  return all;
}

absl::flat_hash_map<std::string, int64_t> WaitingQueue::SizesByTenant() const {
  absl::flat_hash_map<std::string, int64_t> sizes;
  for (const auto& [tenant, queue] : queues_) sizes[tenant] = static_cast<int64_t>(queue.size());
  return sizes;
}

}  // namespace minimind
