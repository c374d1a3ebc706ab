// TruncatedDistribution: the distribution a non-greedy step samples from — the softmax of the
// processed logits (penalties and temperature already applied) restricted by top-k, then top-p,
// then min-p — and the inverse-CDF draw from it.
//
// Definitions (M = max processed logit, w_i = PortableExp(logit_i - M), so the best token has
// weight exactly 1; tokens are taken in canonical order, see token_ranking.h):
//   top-k: keep the first k tokens (k = 0 or k >= V keeps all).
//   top-p: Z = total weight of the top-k survivors; keep the shortest prefix whose weight
//          reaches top_p * Z (at least one token). Skipped when top_p == 1.
//   min-p: keep the prefix before the first token with w_i < min_p, i.e. with probability
//          below min_p times the best token's. That ratio is unchanged by renormalization, so
//          min-p commutes with the filters before it. Skipped when min_p == 0.
// Each filter keeps a prefix of the canonical order, so the survivors are always one prefix.
//   Draw(u): with W the survivors' total weight, the first survivor i (canonical order) whose
//          cumulative weight exceeds u * W.
// Sums are accumulated in double: in canonical order over a truncated prefix, and in
// SumPortableExpShifted's fixed order over the whole row (so an untruncated row need not be
// sorted). Both orders are fixed, so every result is reproducible bit for bit.
//
// Reusable scratch: one per sampling thread, not thread-safe. Refers to the logits given to
// Reset, which must stay alive and unchanged while it is in use.
#ifndef MINIMIND_ENGINE_SAMPLING_TRUNCATED_DISTRIBUTION_H_
#define MINIMIND_ENGINE_SAMPLING_TRUNCATED_DISTRIBUTION_H_

#include <cstddef>
#include <cstdint>

#include "absl/types/span.h"
#include "engine/sampling/portable_math.h"
#include "engine/sampling/token_ranking.h"
#include "engine/tokenizer/tokenizer.h"

namespace minimind {

class TruncatedDistribution {
 public:
  // `logits`: non-empty, NaN-free, with a finite maximum. top_k >= 0, top_p in (0, 1],
  // min_p in [0, 1] (as ValidateSamplingParams guarantees).
  void Reset(absl::Span<const float> logits, int32_t top_k, float top_p, float min_p);

  // Number of surviving tokens (>= 1) and their total weight.
  size_t size() const { return size_; }
  double total_weight() const { return total_weight_; }
  // The i-th survivor in canonical order; i < size().
  const Candidate& At(size_t i) { return ranked_.At(i); }
  // Its probability under the truncated distribution: w_i / W.
  double Probability(size_t i) { return Weight(At(i)) / total_weight_; }

  // The token at cumulative probability `uniform` in [0, 1).
  TokenId Draw(float uniform);

 private:
  float Weight(const Candidate& candidate) const {
    return PortableExp(candidate.logit - max_logit_);
  }
  // Total weight of the first `count` tokens in canonical order.
  double PrefixWeight(size_t count);

  RankedTokens ranked_;
  float max_logit_ = 0.0f;
  size_t size_ = 0;
  double total_weight_ = 0.0;
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_SAMPLING_TRUNCATED_DISTRIBUTION_H_
