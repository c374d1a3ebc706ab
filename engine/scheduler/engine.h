// Engine: the inference engine's public face. Owns one engine thread that runs the continuous
// batching loop (engine_loop.h): every step it admits waiting requests, schedules one prefill
// chunk budget plus a decode token for every running sequence, runs one batched forward pass,
// samples, streams the tokens to each request's sink and frees what finished.
//
// Threading: Submit, Cancel and Stats are thread-safe and never block on the forward pass (they
// take the inbox lock only). Sinks are called on the engine thread. The model and the tokenizer
// must outlive the Engine. Destroying the Engine cancels every live request (their sinks get
// OnFinish with FinishReason::kCancelled) and joins the thread.
//
// Determinism: a request with a seed produces bitwise the same tokens and logprobs whatever else
// runs with it, however its prompt is chunked, with or without a prefix-cache hit, and across
// preemptions (docs/scheduler.md gives the argument).
#ifndef MINIMIND_ENGINE_SCHEDULER_ENGINE_H_
#define MINIMIND_ENGINE_SCHEDULER_ENGINE_H_

#include <memory>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/constrain/constraint.h"
#include "engine/kv/kv_cache_config.h"
#include "engine/kv/kv_spill_file.h"
#include "engine/model/model.h"
#include "engine/scheduler/engine_options.h"
#include "engine/scheduler/engine_stats.h"
#include "engine/scheduler/generation_request.h"
#include "engine/scheduler/generation_result.h"
#include "engine/scheduler/generation_sink.h"
#include "engine/scheduler/kv_handle.h"
#include "engine/scheduler/token_delta.h"
#include "engine/tokenizer/tokenizer.h"

namespace minimind {

class EngineLoop;
class RequestInbox;

class Engine {
 public:
  // InvalidArgument for options out of range or a model the forward pass rejects; the KV
  // budget's errors (a budget below one block) pass through. Starts the engine thread.
  static absl::StatusOr<std::unique_ptr<Engine>> Create(const Model& model,
                                                        const Tokenizer& tokenizer,
                                                        EngineOptions options);

  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;
  ~Engine();

  // Validates and enqueues. InvalidArgument: empty prompt, a token id outside the model's
  // vocabulary, bad sampling params, a resume handle of another engine, a negative
  // tenant_kv_block_limit. ResourceExhausted: the waiting queue is full (in all, or the
  // request's tenant's share of it: EngineOptions::max_waiting_per_tenant), or prompt + max_tokens
  // can never fit the KV budget, the tenant's KV block limit or the context limit (the message
  // states the need and the limit). AlreadyExists: the request_id is live.
  // On error the sink is not called; on success it will get OnFinish exactly once.
  absl::Status Submit(GenerationRequest request, std::shared_ptr<GenerationSink> sink);

  // True if the request was live. Its sink gets OnFinish(kCancelled, the tokens so far) on the
  // engine's next step, by the end of which its blocks are free.
  bool Cancel(absl::string_view request_id);

  // Cancels every live request (each sink gets OnFinish(kCancelled) on the next step); returns
  // how many. Used by a draining server past its grace period.
  int64_t CancelAll();

  // Requests submitted and not yet finished (their sinks still owe OnFinish). A counter read.
  int64_t LiveRequests() const;

  // Snapshot as of the last completed step.
  EngineStats Stats() const;

  // The KV configuration in use (shape filled from the model).
  const KvCacheConfig& kv_config() const { return kv_config_; }
  // Blocks in the pool.
  int64_t kv_num_blocks() const { return kv_num_blocks_; }
  // Threads of the forward pass (EngineOptions::forward_threads), the engine thread included.
  int forward_threads() const { return forward_threads_; }
  // Positions one sequence may hold: the model's context, or EngineOptions::max_context if lower.
  int64_t max_context() const { return max_context_; }
  // The largest max_tokens that Submit accepts after a prompt of `prompt_tokens` tokens: bounded by
  // the context limit and by what the whole KV pool (and, if > 0, the tenant's KV block limit) can
  // hold. 0 when no token fits. Servers use it to turn an unset max_tokens into a default that
  // never fails admission.
  int64_t MaxNewTokens(int64_t prompt_tokens, int64_t tenant_kv_block_limit = 0) const;

  // Moving a retained KV out of the pool and back (the KV spill tier). ExportKv copies on the
  // caller's thread (a held KV never changes); ImportKv runs on the engine thread at the start of
  // its next step (or at once once it has stopped) and waits for it. Call them from threads that
  // may wait, never from a GenerationSink.
  // The tokens and the blocks, bit for bit, of `handle` (from this engine): what a spill file
  // holds. FailedPrecondition for a handle of another engine.
  absl::StatusOr<KvSpill> ExportKv(const KvHandle& handle);
  // A handle holding `spill` (ExportKv's, from an engine with the same KV config) exactly as the
  // exported one did: resuming from it is bitwise the same as resuming from the original.
  // InvalidArgument when the blocks do not hold the tokens; ResourceExhausted when the pool,
  // after reclaiming idle cached blocks, cannot supply them.
  absl::StatusOr<std::shared_ptr<const KvHandle>> ImportKv(KvSpill spill);

  // Structured output: the automaton of a constraint over this engine's sampling vocabulary, for
  // GenerationRequest::constraint (compiled once per distinct constraint; engine/constrain).
  // InvalidArgument / ResourceExhausted as CompileConstraintGrammar. Thread-safe; may take a while
  // for a large schema, so call it off latency-critical threads.
  absl::StatusOr<std::shared_ptr<ConstraintAutomaton>> CompileConstraint(
      const ConstraintSpec& spec) {
    return constraints_->Compile(spec);
  }
  ConstraintCompilerStats constraint_stats() const { return constraints_->stats(); }

 private:
  Engine(int64_t model_vocab_size, int64_t max_context, KvCacheConfig kv_config,
         int64_t kv_num_blocks, int forward_threads, std::shared_ptr<RequestInbox> inbox,
         std::unique_ptr<EngineLoop> loop);

  absl::Status Validate(const GenerationRequest& request) const;

  const int64_t model_vocab_size_;
  const int64_t max_context_;
  KvCacheConfig kv_config_;
  int64_t kv_num_blocks_;
  int forward_threads_;
  std::shared_ptr<RequestInbox> inbox_;
  std::unique_ptr<EngineLoop> loop_;
  std::unique_ptr<ConstraintCompiler> constraints_;
  std::thread thread_;
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_SCHEDULER_ENGINE_H_
