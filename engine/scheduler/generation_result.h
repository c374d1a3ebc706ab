// GenerationResult: the summary of a finished generation, delivered once through
// GenerationSink::OnFinish. A plain value.
#ifndef MINIMIND_ENGINE_SCHEDULER_GENERATION_RESULT_H_
#define MINIMIND_ENGINE_SCHEDULER_GENERATION_RESULT_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/time/time.h"
#include "engine/sampling/finish_reason.h"
#include "engine/sampling/prompt_logprobs.h"
#include "engine/scheduler/kv_handle.h"

namespace minimind {

struct GenerationResult {
  FinishReason finish_reason = FinishReason::kStop;
  int64_t prompt_tokens = 0;
  // Prompt positions whose KV came from the prefix cache or the resumed KvHandle at admission.
  int64_t cached_prompt_tokens = 0;
  int64_t completion_tokens = 0;
  absl::Duration queue_time;           // Submit -> first admission to the running batch.
  absl::Duration time_to_first_token;  // Submit -> first token sampled.
  absl::Duration decode_time;          // First token -> finish.
  // Times the generation was preempted (its KV dropped, recomputed on re-admission).
  int64_t preemptions = 0;
  // Every generated id, in order (the concatenation of the deltas' token_ids).
  std::vector<int32_t> output_tokens;
  // When params.prompt_logprobs is set: one entry per prompt token after the first.
  std::optional<std::vector<PromptTokenLogprobs>> prompt_logprobs;
  // When request.retain_kv and the generation succeeded (not cancelled): the KV of the sequence.
  std::shared_ptr<const KvHandle> kv;
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_SCHEDULER_GENERATION_RESULT_H_
