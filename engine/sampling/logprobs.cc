#include "engine/sampling/logprobs.h"

#include <algorithm>
#include <cstdint>
#include <limits>

#include "absl/strings/str_cat.h"
#include "engine/sampling/portable_math.h"

namespace minimind {

absl::Status CheckLogits(absl::Span<const float> logits) {
  constexpr float kInfinity = std::numeric_limits<float>::infinity();
  // `logit < +inf` is false exactly for NaN and +inf; one branch-free (vectorized) pass in the
  // common case.
  int32_t any_bad = 0;
  int32_t any_finite = 0;
  for (const float logit : logits) {
    any_bad |= logit < kInfinity ? 0 : 1;
    any_finite |= logit > -kInfinity ? 1 : 0;
  }
  if (any_bad != 0) {
    for (size_t i = 0; i < logits.size(); ++i) {
      if (!(logits[i] < kInfinity)) {
        return absl::InvalidArgumentError(absl::StrCat("logit of token ", i, " is ", logits[i],
                                                       "; logits must be finite or -inf"));
      }
    }
  }
  if (any_finite == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "all ", logits.size(), " logits are -inf; at least one token must be possible"));
  }
  return absl::OkStatus();
}

LogSoftmaxNormalizer ComputeLogSoftmaxNormalizer(absl::Span<const float> logits) {
  const float max_logit = logits[Argmax(logits)];
  const double sum = SumPortableExpShifted(logits, max_logit);
  return {max_logit, PortableLog(static_cast<float>(sum))};
}

std::vector<TokenLogprob> TopLogprobs(absl::Span<const float> logits,
                                      const LogSoftmaxNormalizer& normalizer, int count,
                                      std::vector<Candidate>& scratch) {
  std::vector<TokenLogprob> top;
  if (count <= 0) return top;
  SelectTopCandidates(logits, static_cast<size_t>(count), scratch);
  top.reserve(scratch.size());
  for (const Candidate& candidate : scratch) {
    top.push_back({candidate.id, normalizer.Logprob(candidate.logit)});
  }
  // Distinct logits can round to the same logprob; re-sorting keeps the promised order (logprob
  // descending, then id ascending) exact. Membership is still decided by the logits.
  std::sort(top.begin(), top.end(), [](const TokenLogprob& a, const TokenLogprob& b) {
    return a.logprob > b.logprob || (a.logprob == b.logprob && a.id < b.id);
  });
  return top;
}

}  // namespace minimind
