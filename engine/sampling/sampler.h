// Sampler: chooses the next token of one generation from the model's logits for that position.
//
// Pipeline per step (all on a private copy of the row; the input is never modified):
//   1. Reject rows with NaN or +inf, or with every logit -inf (CheckLogits).
//   2. Penalties (repetition, frequency, presence) from the TokenHistory; then a constraint's
//      TokenMask, if any, sets the logits of disallowed tokens to -inf.
//   3. Greedy (temperature < kGreedyTemperature): the argmax in canonical order (highest
//      logit, lowest id on ties); the RNG is not touched.
//      Otherwise: divide by the temperature, truncate by top-k -> top-p -> min-p and draw one
//      uniform u from the request's SamplingRng; the token is the first survivor, in canonical
//      order (logit descending, id ascending), whose cumulative probability exceeds u (see
//      truncated_distribution.h). Exactly one draw per non-greedy step, so step n always uses
//      the n-th number of the stream.
//   4. Logprobs, when requested, of the RAW logits (logprobs.h): what vLLM reports by default.
//
// Determinism: the result depends only on (params, seed, logits, history, number of previous
// non-greedy steps). Every operation is exactly specified (IEEE arithmetic without contraction,
// portable exp/log, a total order for ranking, a defined RNG), so the same inputs give the same
// token and logprobs on any machine and in any batch.
//
// One Sampler per generation (it owns the RNG stream); not thread-safe; movable. Scratch memory
// lives in a SamplingWorkspace, kept by whoever samples (one per thread), so per-request state
// stays small however large the vocabulary.
#ifndef MINIMIND_ENGINE_SAMPLING_SAMPLER_H_
#define MINIMIND_ENGINE_SAMPLING_SAMPLER_H_

#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "engine/sampling/logprobs.h"
#include "engine/sampling/sampling_params.h"
#include "engine/sampling/sampling_rng.h"
#include "engine/sampling/token_history.h"
#include "engine/sampling/token_ranking.h"
#include "engine/sampling/truncated_distribution.h"
#include "engine/tokenizer/tokenizer.h"

namespace minimind {

struct SampledToken {
  TokenId id;
  // Log-probability of `id` under the raw logits. Computed only when params.logprobs (it costs a
  // pass over the vocabulary); 0 otherwise.
  float logprob = 0.0f;
  // The params.top_logprobs most likely tokens under the raw logits, by logprob descending, then
  // id ascending. Empty unless requested.
  std::vector<TokenLogprob> top;

  friend bool operator==(const SampledToken&, const SampledToken&) = default;
};

// The tokens a constraint allows at this step (engine/constrain): token `id` is allowed when bit
// `id` of `words` is set or it is in `also_allowed` (the end-of-sequence ids where the constraint
// may end). Every other token's logit is -inf before greedy choice or truncation, so the sampled
// token is always allowed; logprobs still describe the raw logits.
struct TokenMask {
  absl::Span<const uint64_t> words;
  absl::Span<const TokenId> also_allowed;
};

// Scratch memory for Sampler::Sample: O(vocab_size) floats, reused across steps and requests so
// the hot path does not allocate. Holds no request state; one per sampling thread.
class SamplingWorkspace {
 private:
  friend class Sampler;

  std::vector<float> processed_;  // [vocab_size]: the row after penalties and temperature.
  TruncatedDistribution distribution_;
  std::vector<Candidate> top_scratch_;
  std::vector<std::pair<TokenId, float>> mask_kept_;
};

class Sampler {
 public:
  // InvalidArgument when ValidateSamplingParams fails or `params.seed` is unset (the engine
  // resolves an unset seed before this point, so that every generation is replayable).
  static absl::StatusOr<Sampler> Create(const SamplingParams& params);

  // Chooses the next token from `logits` ([vocab_size], indexed by token id) given the
  // generation's `history`. InvalidArgument for bad logits (CheckLogits) or logits that overflow
  // under penalties/temperature; OutOfRange for a history id outside the vocabulary. On error
  // the RNG is not advanced.
  absl::StatusOr<SampledToken> Sample(absl::Span<const float> logits, const TokenHistory& history,
                                      SamplingWorkspace& workspace,
                                      const TokenMask* mask = nullptr);

  bool greedy() const { return params_.temperature < kGreedyTemperature; }

 private:
  Sampler(const SamplingParams& params, uint64_t seed) : params_(params), rng_(seed) {}
  static void ApplyMask(const TokenMask& mask, SamplingWorkspace& workspace);

  absl::StatusOr<TokenId> SampleProcessed(SamplingWorkspace& workspace);

  SamplingParams params_;
  SamplingRng rng_;
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_SAMPLING_SAMPLER_H_
