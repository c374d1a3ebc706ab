// EngineLoop: the continuous batching loop run by the engine thread. It owns the forward pass
// (ModelRunner), the KV cache (through the KvReleaseQueue) and every accepted Generation.
//
// One step:
//   1. take the inbox (new requests, cancellations) and release KV of dropped KvHandles;
//   2. finish cancelled generations (their blocks are free before the forward pass);
//   3. schedule, oldest admitted first: every running generation in decode gets its one token,
//      those in prefill a chunk from the step's prefill budget (max_step_tokens); KV for the
//      step is reserved up front — when the pool is out of blocks the most recently admitted
//      generation is preempted (KV dropped, recomputed later) until the reservation fits;
//   4. admit waiting generations (FIFO; preempted ones first) while the batch, the prefill
//      budget and the free blocks allow, reusing the prefix cache or a resumed KvHandle;
//   5. one batched Forward; 6. sample, stream deltas, publish full blocks to the prefix cache,
//      finish what stopped (freeing its blocks); 7. publish stats.
//
// Thread-safety: none — Run() is the body of the engine thread; nothing else calls into it.
#ifndef MINIMIND_ENGINE_SCHEDULER_ENGINE_LOOP_H_
#define MINIMIND_ENGINE_SCHEDULER_ENGINE_LOOP_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/model/forward.h"
#include "engine/sampling/sampler.h"
#include "engine/scheduler/engine_options.h"
#include "engine/scheduler/engine_stats.h"
#include "engine/scheduler/generation.h"
#include "engine/scheduler/kv_release_queue.h"
#include "engine/scheduler/request_inbox.h"
#include "engine/tokenizer/tokenizer.h"

namespace minimind {

// The limits the loop enforces, resolved from EngineOptions by Engine::Create.
struct EngineLimits {
  int64_t max_running = 0;
  int64_t max_step_tokens = 0;
  int64_t max_context = 0;
  int64_t sampling_vocab_size = 0;
  std::vector<TokenId> eos_token_ids;
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

  void Step(InboxBatch inbox);
  void Accept(SubmittedRequest submitted);
  std::vector<Planned> Schedule();
  // Reserves KV for `count` more positions of `generation`, preempting the youngest running
  // generations as needed. False if `generation` itself had to be preempted.
  bool Reserve(Generation& generation, int64_t count);
  // Admits the head of the waiting queue if it fits; false when it does not (yet).
  bool TryAdmit(int64_t& prefill_budget, std::vector<Planned>& plan);
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

  std::vector<std::unique_ptr<Generation>> running_;   // Admission order (oldest first).
  std::deque<std::unique_ptr<Generation>> waiting_;    // Preempted at the front, then FIFO.
  std::vector<std::unique_ptr<Generation>> finished_;  // Finished this step, freed at its end.
  int64_t next_admission_order_ = 0;
  EngineStats stats_;
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_SCHEDULER_ENGINE_LOOP_H_
