#include "engine/sampling/sampler.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "engine/sampling/logits_processors.h"

namespace minimind {
namespace {

// Penalties and temperature can push a valid row out of range (a tiny temperature, huge logits);
// the ranking below needs a finite maximum.
absl::Status CheckProcessedMaximum(absl::Span<const float> processed, TokenId best) {
  const float max_logit = processed[best];
  if (max_logit == std::numeric_limits<float>::infinity()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "logit of token ", best, " overflows to +inf after penalties and temperature"));
  }
  if (max_logit == -std::numeric_limits<float>::infinity()) {
    return absl::InvalidArgumentError("every logit is -inf after penalties and temperature");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Sampler> Sampler::Create(const SamplingParams& params) {
  if (absl::Status status = ValidateSamplingParams(params); !status.ok()) return status;
  if (!params.seed.has_value()) {
    return absl::InvalidArgumentError(
        "sampling params have no seed; the engine must choose one before creating a Sampler");
  }
  return Sampler(params, *params.seed);
}

absl::StatusOr<SampledToken> Sampler::Sample(absl::Span<const float> logits,
                                             const TokenHistory& history,
                                             SamplingWorkspace& workspace) {
  if (absl::Status status = CheckLogits(logits); !status.ok()) return status;
  workspace.processed_.assign(logits.begin(), logits.end());
  if (absl::Status status = ApplyPenalties(absl::MakeSpan(workspace.processed_), history, params_);
      !status.ok()) {
    return status;
  }
  absl::StatusOr<TokenId> id = SampleProcessed(workspace);
  if (!id.ok()) return id.status();

  SampledToken token{.id = *id};
  if (params_.logprobs) {
    const LogSoftmaxNormalizer normalizer = ComputeLogSoftmaxNormalizer(logits);
    token.logprob = normalizer.Logprob(logits[token.id]);
    token.top = TopLogprobs(logits, normalizer, params_.top_logprobs, workspace.top_scratch_);
  }
  return token;
}

absl::StatusOr<TokenId> Sampler::SampleProcessed(SamplingWorkspace& workspace) {
  const absl::Span<float> processed = absl::MakeSpan(workspace.processed_);
  if (greedy()) {
    const TokenId best = Argmax(processed);
    if (absl::Status status = CheckProcessedMaximum(processed, best); !status.ok()) return status;
    return best;
  }
  ApplyTemperature(processed, params_.temperature);
  if (absl::Status status = CheckProcessedMaximum(processed, Argmax(processed)); !status.ok()) {
    return status;
  }
  TruncatedDistribution& distribution = workspace.distribution_;
  distribution.Reset(processed, params_.top_k, params_.top_p, params_.min_p);
  return distribution.Draw(rng_.NextFloat());
}

}  // namespace minimind
