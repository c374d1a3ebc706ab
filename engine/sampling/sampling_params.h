// SamplingParams: everything a request says about how to choose and when to stop generating
// tokens. A plain value type; every field's initializer is the server default that applies when
// the request leaves the field unset (the proto uses `optional` for exactly this).
//
// `ValidateSamplingParams` is the single gate for request-supplied values: it checks every range
// below and returns InvalidArgument naming the field, the value and the allowed range. Code past
// the gate (Sampler, StopChecker) may rely on valid params.
#ifndef MINIMIND_ENGINE_SAMPLING_SAMPLING_PARAMS_H_
#define MINIMIND_ENGINE_SAMPLING_SAMPLING_PARAMS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "engine/tokenizer/tokenizer.h"

namespace minimind {

struct SamplingParams {
  // Logits are divided by this before top-k/top-p/min-p. In [0, 100]; below
  // kGreedyTemperature (including 0) sampling is greedy: the argmax, no randomness.
  float temperature = 1.0f;
  // Keep only the k most likely tokens. 0 disables; a k at or above the vocabulary size keeps all.
  int32_t top_k = 0;
  // Keep the smallest set of most likely tokens whose probability mass reaches top_p. In (0, 1].
  float top_p = 1.0f;
  // Drop tokens whose probability is below min_p times the most likely token's. In [0, 1].
  float min_p = 0.0f;

  // Hugging Face / vLLM semantics over every token id in the prompt or the output so far:
  // a positive logit is divided by it, a negative one multiplied. 1 disables. In (0, 10].
  float repetition_penalty = 1.0f;
  // OpenAI semantics over output tokens only: subtracted once from the logit of every token that
  // appeared. 0 disables. In [-2, 2].
  float presence_penalty = 0.0f;
  // OpenAI semantics over output tokens only: subtracted once per occurrence. In [-2, 2].
  float frequency_penalty = 0.0f;

  // Seeds the request's own RNG, so a request is reproducible regardless of what else runs.
  // Unset: the engine draws a fresh seed and fills it in before building the Sampler.
  std::optional<uint64_t> seed;

  // Most tokens to generate (finish reason "length"). In [1, kMaxTokensLimit]. Unset: until the
  // model's context is full, which the engine enforces.
  std::optional<int32_t> max_tokens;
  // Generation stops when the output text contains one of these; the returned text ends right
  // before it. At most kMaxStopStrings, each 1..kMaxStopStringBytes bytes of valid UTF-8.
  std::vector<std::string> stop;
  // Generation stops (finish reason "stop") on any of these ids; the id's text is not returned.
  // At most kMaxStopTokenIds non-negative ids.
  std::vector<TokenId> stop_token_ids;
  // Keep generating past the model's end-of-sequence token(s).
  bool ignore_eos = false;

  // Report the log-probability of each sampled token (under the model's raw logits).
  bool logprobs = false;
  // Also report this many most likely alternatives per position. In [0, kMaxTopLogprobs];
  // non-zero requires `logprobs`.
  int32_t top_logprobs = 0;
  // Report, for every prompt token after the first, its log-probability and this many
  // alternatives. Unset: none. In [0, kMaxTopLogprobs].
  std::optional<int32_t> prompt_logprobs;
};

// Temperatures below this are treated as 0 (greedy), as vLLM does: dividing by a tiny temperature
// would overflow the logits without changing the outcome in any meaningful way.
inline constexpr float kGreedyTemperature = 1e-5f;
inline constexpr float kMaxTemperature = 100.0f;
inline constexpr float kMaxRepetitionPenalty = 10.0f;
inline constexpr float kMaxAbsPresenceOrFrequencyPenalty = 2.0f;
inline constexpr int32_t kMaxTokensLimit = 131072;
inline constexpr int32_t kMaxTopLogprobs = 20;
inline constexpr int kMaxStopStrings = 16;
inline constexpr int kMaxStopStringBytes = 256;
inline constexpr int kMaxStopTokenIds = 64;

// OK, or InvalidArgument for the first field out of range, e.g.
// "top_p must be in (0, 1], got 0".
absl::Status ValidateSamplingParams(const SamplingParams& params);

}  // namespace minimind

#endif  // MINIMIND_ENGINE_SAMPLING_SAMPLING_PARAMS_H_
