#include "engine/sampling/sampler.h"

#include <algorithm>
#include <limits>
#include <utility>

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
                                             SamplingWorkspace& workspace, const TokenMask* mask) {
  if (absl::Status status = CheckLogits(logits); !status.ok()) return status;
  workspace.processed_.assign(logits.begin(), logits.end());
  if (absl::Status status = ApplyPenalties(absl::MakeSpan(workspace.processed_), history, params_);
      !status.ok()) {
    return status;
  }
  if (mask != nullptr) ApplyMask(*mask, workspace);
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

void Sampler::ApplyMask(const TokenMask& mask, SamplingWorkspace& workspace) {
  std::vector<float>& processed = workspace.processed_;
  const size_t size = processed.size();
  // The values of the extra allowed ids survive the masking below.
  std::vector<std::pair<TokenId, float>>& kept = workspace.mask_kept_;
  kept.clear();
  for (const TokenId id : mask.also_allowed) {
    if (id >= 0 && static_cast<size_t>(id) < size) kept.emplace_back(id, processed[id]);
  }
  constexpr float kMinusInfinity = -std::numeric_limits<float>::infinity();
  float* const row = processed.data();
  for (size_t word = 0; word * 64 < size; ++word) {
    const size_t base = word * 64;
    const size_t count = std::min<size_t>(64, size - base);
    uint64_t bits = word < mask.words.size() ? mask.words[word] : 0;
    if (count < 64) bits &= (uint64_t{1} << count) - 1;
    if (bits == 0) {
      std::fill(row + base, row + base + count, kMinusInfinity);
    } else if (__builtin_popcountll(bits) < 32) {
      // Few allowed: keep them, fill the rest.
      float allowed[64];
      for (uint64_t rest = bits; rest != 0; rest &= rest - 1) {
        const int bit = __builtin_ctzll(rest);
        allowed[bit] = row[base + bit];
      }
      std::fill(row + base, row + base + count, kMinusInfinity);
      for (uint64_t rest = bits; rest != 0; rest &= rest - 1) {
        const int bit = __builtin_ctzll(rest);
        row[base + bit] = allowed[bit];
      }
    } else {
      // Few disallowed: clear them one by one.
      uint64_t disallowed = ~bits;
      if (count < 64) disallowed &= (uint64_t{1} << count) - 1;
      for (; disallowed != 0; disallowed &= disallowed - 1) {
        row[base + __builtin_ctzll(disallowed)] = kMinusInfinity;
      }
    }
  }
  for (const auto& [id, value] : kept) processed[id] = value;
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
