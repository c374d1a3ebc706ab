// EngineLoop: the continuous batching loop run by the engine thread. It owns the forward pass
// (ModelRunner), the KV cache (through the KvReleaseQueue) and every accepted Generation.
//
// One step:
//   1. take the inbox (new requests, cancellations) and release KV of dropped KvHandles;
//   2. finish cancelled generations (their blocks are free before the forward pass);
//   3. schedule, oldest admitted first: every running generation in decode gets its one token,
//      those in prefill a chunk from the step's prefill budget (max_step_tokens; with several
//      tenants wanting prefill, each gets an equal share first); KV for the step is reserved up
//      front — a generation growing past its tenant's KV limit preempts that tenant's youngest
//      generation, and when the pool is out of blocks the youngest generation of the tenant
//      holding the most blocks (among those admitted after the one growing) is preempted (KV
//      dropped, recomputed later) until the reservation fits;
//   4. admit waiting generations while the batch, the prefill budget and the free blocks allow:
//      the head of the tenant with the fewest running generations first (ties by arrival), or
//      FIFO across tenants without fair_tenants; preempted ones first within their tenant;
//      a tenant at its KV limit is skipped. The prefix cache or a resumed KvHandle is reused.
//      When the batch is full, a waiting tenant below its fair share of max_running takes a
//      slot from the tenant with the most running generations (its youngest is preempted);
//   5. one batched Forward; 6. sample, stream deltas, publish full blocks to the prefix cache,
//      finish what stopped (freeing its blocks); 7. publish stats.
//
// Thread-safety: none — Run() is the body of the engine thread; nothing else calls into it.
#ifndef MINIMIND_ENGINE_SCHEDULER_ENGINE_LOOP_H_
#define MINIMIND_ENGINE_SCHEDULER_ENGINE_LOOP_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/model/forward.h"
#include "engine/sampling/sampler.h"
#include "engine/scheduler/engine_options.h"
#include "engine/scheduler/engine_stats.h"
#include "engine/scheduler/generation.h"
#include "engine/scheduler/kv_release_queue.h"
#include "engine/scheduler/request_inbox.h"
#include "engine/scheduler/waiting_queue.h"
#include "engine/tokenizer/tokenizer.h"

namespace minimind {

// The limits the loop enforces, resolved from EngineOptions by Engine::Create.
struct EngineLimits {
  int64_t max_running = 0;
  int64_t max_step_tokens = 0;
  int64_t max_context = 0;
  int64_t sampling_vocab_size = 0;
  std::vector<TokenId> eos_token_ids;
  bool fair_tenants = true;
};

class EngineLoop {
 public:
  EngineLoop(ModelRunner runner, const Tokenizer& tokenizer, EngineLimits limits,
             std::shared_ptr<KvReleaseQueue> kv, std::shared_ptr<RequestInbox> inbox);
  EngineLoop(const EngineLoop&) = delete;
  EngineLoop& operator=(const EngineLoop&) = delete;
  ~EngineLoop();

  // Runs steps until the inbox asks to stop, then cancels what is left and hands the KV cache
  // to the release queue's lock.
  void Run();

  const std::shared_ptr<KvReleaseQueue>& release_queue() const { return kv_; }

 private:
  // A generation's share of one step.
  struct Planned {
    Generation* generation;
    int64_t start;  // First position computed.
    int64_t count;  // Tokens fed.
    LogitsMode logits;
  };
  // What one tenant holds in the running batch.
  struct TenantLoad {
    int64_t running = 0;
    int64_t blocks = 0;  // KV blocks of its sequences, each counted per sequence holding it.
  };
  // The step's prefill budget and, with several tenants wanting prefill, each one's share
  // (tenant_share 0: no shares).
  struct PrefillBudget {
    int64_t left = 0;
    int64_t tenant_share = 0;
    absl::flat_hash_map<std::string, int64_t> spent;
    int64_t TenantLeft(const std::string& tenant) const;
    void Spend(const std::string& tenant, int64_t count);
  };
  enum class AdmitOutcome {
    kAdmitted,       // Running now (or finished: it could never fit).
    kTenantBlocked,  // Its tenant is at its KV limit; others may still be admitted.
    kNoRoom,         // The pool cannot hold it now; admission stops for this step.
  };

  void Step(InboxBatch inbox);
  void Accept(SubmittedRequest submitted);
  std::vector<Planned> Schedule();
  absl::flat_hash_map<std::string, TenantLoad> TenantLoads() const;
  // KV blocks `tenant`'s running sequences hold.
  int64_t TenantBlocks(const std::string& tenant) const;
  // Fair mode, batch full: preempts the youngest generations of over-share tenants for waiting
  // tenants below their share of max_running.
  void RebalanceSlots();
  // Reserves KV for `count` more positions of `generation`, preempting within its tenant past
  // the tenant's KV limit and by the pool policy past the pool. False if `generation` itself
  // had to be preempted (or failed).
  bool Reserve(Generation& generation, int64_t count);
  // The generation to preempt when `generation` (running) needs blocks the pool lacks.
  Generation& PoolVictim(const Generation& generation);
  // The waiting head to try next: not of a tenant in `skipped` nor out of its prefill share.
  Generation* NextToAdmit(const absl::flat_hash_set<std::string>& skipped,
                          const PrefillBudget& budget) const;
  // Admits while the batch and the budget allow; false if it stopped for want of KV blocks.
  bool AdmitWaiting(PrefillBudget& budget, std::vector<Planned>& plan);
  AdmitOutcome TryAdmit(Generation& generation, PrefillBudget& budget, std::vector<Planned>& plan);
  // Grows planned prefill chunks cut short by the tenant shares into the budget left over.
  void ExtendChunks(PrefillBudget& budget, std::vector<Planned>& plan);
  // The chunk [start, start + count) of `generation`'s tokens and the logits it needs.
  Planned PlanChunk(Generation& generation, int64_t start, int64_t count) const;
  void Preempt(Generation& generation);
  void ProcessOutputs(const std::vector<Planned>& plan, const ForwardLogits& logits);
  // Returns false if the generation finished (on error too).
  bool SampleNext(Generation& generation, absl::Span<const float> logits);
  void Finish(Generation& generation, absl::StatusOr<FinishReason> reason, std::string text);
  void PublishStats();

  ModelRunner runner_;
  const Tokenizer& tokenizer_;
  const EngineLimits limits_;
  std::shared_ptr<KvReleaseQueue> kv_;
  std::shared_ptr<RequestInbox> inbox_;
  SamplingWorkspace workspace_;

  std::vector<std::unique_ptr<Generation>> running_;  // Admission order (oldest first).
  WaitingQueue waiting_;
  std::vector<std::unique_ptr<Generation>> finished_;  // Finished this step, freed at its end.
  int64_t next_admission_order_ = 0;
  int64_t next_arrival_ = 0;
  EngineStats stats_;
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_SCHEDULER_ENGINE_LOOP_H_
