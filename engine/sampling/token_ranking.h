// The canonical order of the tokens in one row of logits, and cheap ways to get its best prefix.
//
// Canonical order: logit descending, then token id ascending. With NaN excluded (callers reject
// it first) this is a strict total order, so "the best k tokens" and their order are unique:
// ties resolve the same way on every machine, with every standard library, whatever algorithm
// found them. Everything in sampling that ranks tokens — greedy argmax, top-k, top-p, min-p,
// the sampling walk, top logprobs — uses this order.
//
// Free functions are stateless. RankedTokens is a reusable scratch object: one per sampling
// thread, not thread-safe, and it refers to (does not own) the logits it ranks.
#ifndef MINIMIND_ENGINE_SAMPLING_TOKEN_RANKING_H_
#define MINIMIND_ENGINE_SAMPLING_TOKEN_RANKING_H_

#include <cstddef>
#include <vector>

#include "absl/types/span.h"
#include "engine/tokenizer/tokenizer.h"

namespace minimind {

struct Candidate {
  float logit;
  TokenId id;
};

// True when `a` comes before `b` in the canonical order.
inline bool CanonicallyBefore(const Candidate& a, const Candidate& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

// First token in canonical order (the lowest id among the maximal logits). `logits` must be
// non-empty and NaN-free.
TokenId Argmax(absl::Span<const float> logits);

// Replaces `out` with the min(count, logits.size()) best tokens in canonical order, in O(V) time
// for count << V: one pass that rejects most tokens with a single comparison against a running
// threshold, plus O(count log count) to sort the survivors. `logits` must be NaN-free.
void SelectTopCandidates(absl::Span<const float> logits, size_t count, std::vector<Candidate>& out);

// A row's tokens in canonical order, materialized lazily: At(i) ranks just enough of the row
// (growing the sorted prefix geometrically, one O(V) selection pass per round) to answer, so a
// walk that stops after a few dozen tokens never pays for sorting the whole vocabulary. Once a
// walk reaches 1/64 of the row, the whole row is ranked at once with a radix sort (O(V)).
class RankedTokens {
 public:
  // Starts ranking `logits` (NaN-free), which must stay alive and unchanged while in use.
  void Reset(absl::Span<const float> logits);

  size_t size() const { return logits_.size(); }
  // The i-th token in canonical order; i < size().
  const Candidate& At(size_t i) {
    if (i >= sorted_.size()) Grow(i + 1);
    return sorted_[i];
  }

 private:
  void Grow(size_t min_count);

  absl::Span<const float> logits_;
  std::vector<Candidate> sorted_;  // The first sorted_.size() tokens in canonical order.
  std::vector<Candidate> radix_scratch_;
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_SAMPLING_TOKEN_RANKING_H_
