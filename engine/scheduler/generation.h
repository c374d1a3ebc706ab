// Generation: the engine thread's state of one accepted request, from Submit to OnFinish —
// its tokens so far, sampler, stop checker, penalty history, KV sequence (while admitted) and
// timing. Owned by the EngineLoop; never touched by another thread.
//
// Token bookkeeping: tokens = prompt + output. While admitted, kv holds the KV of
// tokens[0, kv->num_positions()); the tokens after that are still to be computed (the rest of
// the prompt in prefill, exactly one — the last sampled token — in decode). A preempted
// generation drops its KV and keeps everything else, so recomputing tokens[0, size - 1) and
// sampling on continues the same stream of tokens (the sampler's RNG is not reset).
#ifndef MINIMIND_ENGINE_SCHEDULER_GENERATION_H_
#define MINIMIND_ENGINE_SCHEDULER_GENERATION_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/time/time.h"
#include "engine/kv/paged_kv_sequence.h"
#include "engine/sampling/prompt_logprobs.h"
#include "engine/sampling/sampler.h"
#include "engine/sampling/stop_checker.h"
#include "engine/sampling/token_history.h"
#include "engine/scheduler/request_inbox.h"

namespace minimind {

struct Generation {
  Generation(SubmittedRequest submitted_in, Sampler sampler_in, StopChecker stop_checker_in)
      : submitted(std::move(submitted_in)),
        tokens(submitted.request.prompt_tokens),
        prompt_size(static_cast<int64_t>(tokens.size())),
        sampler(std::move(sampler_in)),
        stop_checker(std::move(stop_checker_in)),
        history(submitted.request.prompt_tokens) {}

  const GenerationRequest& request() const { return submitted.request; }
  int64_t num_computed() const { return kv ? kv->num_positions() : 0; }
  // Tokens fed to the model next: the prompt remainder, or the last sampled token.
  int64_t num_pending() const { return static_cast<int64_t>(tokens.size()) - num_computed(); }
  bool wants_prompt_logprobs() const { return request().params.prompt_logprobs.has_value(); }

  SubmittedRequest submitted;
  std::vector<int32_t> tokens;  // prompt + output
  int64_t prompt_size;
  // Generation ends with kLength when tokens reach this (the context limit, or what the KV
  // budget can ever hold when max_tokens is unset).
  int64_t max_total_tokens = 0;
  Sampler sampler;
  StopChecker stop_checker;
  TokenHistory history;
  // The constraint automaton's state after the output so far (request().constraint).
  int32_t constraint_state = 0;

  int64_t arrival = 0;  // Order of acceptance by the engine thread (kept across preemptions).
  std::unique_ptr<PagedKvSequence> kv;  // Set while admitted (running).
  int64_t admission_order = 0;          // Larger = admitted more recently.
  int64_t published_blocks = 0;         // Full blocks already offered to the prefix cache.
  int64_t preemptions = 0;
  bool cancelled = false;

  bool admitted_once = false;
  int64_t cached_prompt_tokens = 0;  // At first admission.
  absl::Time first_admission_time;
  absl::Time first_token_time;

  std::vector<PromptTokenLogprobs> prompt_logprobs;  // Entries for prompt positions [0, size).
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_SCHEDULER_GENERATION_H_
