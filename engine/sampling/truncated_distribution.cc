#include "engine/sampling/truncated_distribution.h"

namespace minimind {

void TruncatedDistribution::Reset(absl::Span<const float> logits, int32_t top_k, float top_p,
                                  float min_p) {
  ranked_.Reset(logits);
  max_logit_ = ranked_.At(0).logit;
  const size_t vocab_size = logits.size();

  size_t count = vocab_size;
  double weight;
  if (top_k > 0 && static_cast<size_t>(top_k) < vocab_size) {
    count = static_cast<size_t>(top_k);
    weight = PrefixWeight(count);
  } else {
    weight = SumPortableExpShifted(logits, max_logit_);
  }

  if (top_p < 1.0f) {
    const double target = static_cast<double>(top_p) * weight;
    double cumulative = 0.0;
    for (size_t i = 0; i < count; ++i) {
      cumulative += Weight(At(i));
      if (cumulative >= target) {
        count = i + 1;
        weight = cumulative;
        break;
      }
    }
  }

  if (min_p > 0.0f) {
    // The best token has weight exactly 1 >= min_p and always stays.
    size_t kept = 1;
    while (kept < count && Weight(At(kept)) >= min_p) ++kept;
    if (kept < count) {
      count = kept;
      weight = PrefixWeight(count);
    }
  }

  size_ = count;
  total_weight_ = weight;
}

double TruncatedDistribution::PrefixWeight(size_t count) {
  double weight = 0.0;
  for (size_t i = 0; i < count; ++i) weight += Weight(At(i));
  return weight;
}

TokenId TruncatedDistribution::Draw(float uniform) {
  const double target = static_cast<double>(uniform) * total_weight_;
  double cumulative = 0.0;
  TokenId last_positive = At(0).id;
  for (size_t i = 0; i < size_; ++i) {
    const Candidate& candidate = At(i);
    const float weight = Weight(candidate);
    if (weight == 0.0f) continue;
    cumulative += weight;
    last_positive = candidate.id;
    if (cumulative > target) return candidate.id;
  }
  // Only reachable if rounding left the walk's sum at or below u * W (W summed in another order).
  return last_positive;
}

}  // namespace minimind
