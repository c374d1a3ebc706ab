// Prompt logprobs: how likely the model found each prompt token given the tokens before it, plus
// the most likely alternatives at each position — the `prompt_logprobs` request option. Same
// definition as sampled-token logprobs (log-softmax of the raw logits, see logprobs.h).
//
// Stateless; the engine may call it once for the whole prompt or once per prefill chunk (pass
// the chunk's rows and the slice of the prompt that starts one token before the chunk's first
// predicted token).
#ifndef MINIMIND_ENGINE_SAMPLING_PROMPT_LOGPROBS_H_
#define MINIMIND_ENGINE_SAMPLING_PROMPT_LOGPROBS_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "engine/sampling/logprobs.h"
#include "engine/tokenizer/tokenizer.h"

namespace minimind {

struct PromptTokenLogprobs {
  TokenId id;     // prompt[i + 1]
  float logprob;  // its logprob given prompt[0..i]
  // The `top_count` most likely tokens at that position, by logprob descending, then id ascending.
  std::vector<TokenLogprob> top;

  friend bool operator==(const PromptTokenLogprobs&, const PromptTokenLogprobs&) = default;
};

// `logits`: row-major [prompt.size() - 1, vocab_size]; row i holds the logits computed at
// position i, which predict prompt[i + 1]. Returns prompt.size() - 1 entries (the first prompt
// token has no logprob: nothing predicts it). InvalidArgument for an empty prompt, a size
// mismatch, a bad row (CheckLogits) or top_count outside [0, kMaxTopLogprobs]; OutOfRange for a
// prompt id outside [0, vocab_size).
absl::StatusOr<std::vector<PromptTokenLogprobs>> ComputePromptLogprobs(
    absl::Span<const float> logits, int32_t vocab_size, absl::Span<const TokenId> prompt,
    int32_t top_count);

}  // namespace minimind

#endif  // MINIMIND_ENGINE_SAMPLING_PROMPT_LOGPROBS_H_
