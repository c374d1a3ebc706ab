// Logits processors that rewrite values in place, over one row of logits indexed by token id
// ([vocab_size]). In the sampling pipeline they run first, in this order:
//
//   penalties -> temperature -> top-k -> top-p -> min-p
//
// (the last three choose which tokens stay candidates; see token_filters.h). Both are exact
// per-element IEEE operations, so their results are reproducible bit for bit. Stateless.
#ifndef MINIMIND_ENGINE_SAMPLING_LOGITS_PROCESSORS_H_
#define MINIMIND_ENGINE_SAMPLING_LOGITS_PROCESSORS_H_

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "engine/sampling/sampling_params.h"
#include "engine/sampling/token_history.h"

namespace minimind {

// Applies, in vLLM's order, to each id in `history`:
//   repetition (prompt or output): logit > 0 ? logit / repetition_penalty
//                                            : logit * repetition_penalty;
//   frequency (output):            logit -= frequency_penalty * output_count;
//   presence (output):             logit -= presence_penalty (if output_count > 0).
// Neutral penalties (1, 0, 0) leave `logits` untouched. OutOfRange, with `logits` untouched,
// when a history id is outside [0, logits.size()).
absl::Status ApplyPenalties(absl::Span<float> logits, const TokenHistory& history,
                            const SamplingParams& params);

// Divides every logit by `temperature`, which must be positive; 1 leaves them untouched.
void ApplyTemperature(absl::Span<float> logits, float temperature);

}  // namespace minimind

#endif  // MINIMIND_ENGINE_SAMPLING_LOGITS_PROCESSORS_H_
