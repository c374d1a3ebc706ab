// WaitingQueue: the accepted generations that are not running, held in one FIFO queue per tenant
// (GenerationRequest::tenant). Each tenant's queue is ordered by arrival (Generation::arrival): a
// new generation goes to the back, a preempted one back into its arrival place — the front of
// its tenant's queue, since a tenant's generations are admitted in arrival order. Which tenant's
// head is admitted next is the EngineLoop's policy; this class only stores and finds.
//
// Thread-safety: none; owned by the engine thread.
#ifndef MINIMIND_ENGINE_SCHEDULER_WAITING_QUEUE_H_
#define MINIMIND_ENGINE_SCHEDULER_WAITING_QUEUE_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "engine/scheduler/generation.h"

namespace minimind {

class WaitingQueue {
 public:
  bool empty() const { return size_ == 0; }
  int64_t size() const { return size_; }

  // Places `generation` in its tenant's queue by arrival.
  void Insert(std::unique_ptr<Generation> generation);

  // Removes and returns `generation`; nullptr if it is not waiting.
  std::unique_ptr<Generation> Remove(const Generation& generation);

  // The head (earliest arrival) of every tenant's queue, in no particular order.
  std::vector<Generation*> Heads() const;

  // Every waiting generation, in no particular order.
  std::vector<Generation*> All() const;

  // How many generations each tenant has waiting (tenants with none are absent).
  absl::flat_hash_map<std::string, int64_t> SizesByTenant() const;

 private:
  absl::flat_hash_map<std::string, std::deque<std::unique_ptr<Generation>>> queues_;
  int64_t size_ = 0;
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_SCHEDULER_WAITING_QUEUE_H_
