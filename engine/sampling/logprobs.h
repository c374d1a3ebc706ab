// Log-probabilities as reported to clients: the log-softmax of the model's RAW logits, before
// penalties, temperature or any filter — what vLLM reports by default, and the only choice that
// makes a token's logprob a property of the model rather than of the request's sampling knobs.
//
// logprob(i) = (logit_i - M) - PortableLog(Σ_j PortableExp(logit_j - M)), M = max logit, the sum
// by SumPortableExpShifted (double, fixed order); so results are reproducible bit for bit.
// Stateless functions over one row of logits ([vocab_size], indexed by token id).
#ifndef MINIMIND_ENGINE_SAMPLING_LOGPROBS_H_
#define MINIMIND_ENGINE_SAMPLING_LOGPROBS_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "engine/sampling/token_ranking.h"
#include "engine/tokenizer/tokenizer.h"

namespace minimind {

struct TokenLogprob {
  TokenId id;
  float logprob;

  friend bool operator==(const TokenLogprob&, const TokenLogprob&) = default;
};

// The two numbers that turn a logit into a logprob for one row.
struct LogSoftmaxNormalizer {
  float max_logit;
  float log_sum_exp;  // log Σ exp(logit - max_logit); 0 when one token has all the mass.

  float Logprob(float logit) const { return (logit - max_logit) - log_sum_exp; }
};

// OK when every logit is finite or -inf and at least one is finite; otherwise InvalidArgument
// naming the first bad token id (NaN or +inf), or saying that all are -inf. A model that emits
// such logits is broken, and ranking NaN would be undefined behaviour.
absl::Status CheckLogits(absl::Span<const float> logits);

// The normalizer of a row that passed CheckLogits.
LogSoftmaxNormalizer ComputeLogSoftmaxNormalizer(absl::Span<const float> logits);

// The `count` most likely tokens (the first `count` in canonical order) of a row that passed
// CheckLogits, sorted by logprob descending, then id ascending. `scratch` is reused memory.
std::vector<TokenLogprob> TopLogprobs(absl::Span<const float> logits,
                                      const LogSoftmaxNormalizer& normalizer, int count,
                                      std::vector<Candidate>& scratch);

}  // namespace minimind

#endif  // MINIMIND_ENGINE_SAMPLING_LOGPROBS_H_
