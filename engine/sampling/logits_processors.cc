#include "engine/sampling/logits_processors.h"

#include "absl/strings/str_cat.h"

namespace minimind {

absl::Status ApplyPenalties(absl::Span<float> logits, const TokenHistory& history,
                            const SamplingParams& params) {
  const float repetition = params.repetition_penalty;
  const float frequency = params.frequency_penalty;
  const float presence = params.presence_penalty;
  if (repetition == 1.0f && frequency == 0.0f && presence == 0.0f) return absl::OkStatus();
  const auto vocab_size = static_cast<TokenId>(logits.size());
  for (const auto& [id, counts] : history.counts()) {
    if (id < 0 || id >= vocab_size) {
      return absl::OutOfRangeError(absl::StrCat("token id ", id, " in the history is outside the ",
                                                "vocabulary of ", vocab_size, " logits"));
    }
  }
  for (const auto& [id, counts] : history.counts()) {
    float& logit = logits[id];
    if (repetition != 1.0f) logit = logit > 0.0f ? logit / repetition : logit * repetition;
    if (counts.output_count > 0) {
      logit -= frequency * static_cast<float>(counts.output_count);
      logit -= presence;
    }
  }
  return absl::OkStatus();
}

void ApplyTemperature(absl::Span<float> logits, float temperature) {
  if (temperature == 1.0f) return;
  for (float& logit : logits) logit /= temperature;
}

}  // namespace minimind
