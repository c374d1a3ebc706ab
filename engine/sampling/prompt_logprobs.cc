#include "engine/sampling/prompt_logprobs.h"

#include "absl/strings/str_cat.h"
#include "engine/sampling/sampling_params.h"
#include "engine/sampling/token_ranking.h"

namespace minimind {

absl::StatusOr<std::vector<PromptTokenLogprobs>> ComputePromptLogprobs(
    absl::Span<const float> logits, int32_t vocab_size, absl::Span<const TokenId> prompt,
    int32_t top_count) {
  if (prompt.empty()) {
    return absl::InvalidArgumentError("prompt logprobs need a non-empty prompt");
  }
  if (vocab_size <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("vocab_size must be positive, got ", vocab_size));
  }
  if (top_count < 0 || top_count > kMaxTopLogprobs) {
    return absl::InvalidArgumentError(
        absl::StrCat("prompt_logprobs must be in [0, ", kMaxTopLogprobs, "], got ", top_count));
  }
  const size_t rows = prompt.size() - 1;
  if (logits.size() != rows * static_cast<size_t>(vocab_size)) {
    return absl::InvalidArgumentError(
        absl::StrCat("prompt logprobs for ", prompt.size(), " prompt tokens need ", rows,
                     " rows of ", vocab_size, " logits (", rows * static_cast<size_t>(vocab_size),
                     " floats), got ", logits.size(), " floats"));
  }
  for (size_t i = 1; i < prompt.size(); ++i) {
    if (prompt[i] < 0 || prompt[i] >= vocab_size) {
      return absl::OutOfRangeError(absl::StrCat("prompt token ", i, " has id ", prompt[i],
                                                ", outside the vocabulary of ", vocab_size));
    }
  }

  std::vector<PromptTokenLogprobs> result;
  result.reserve(rows);
  std::vector<Candidate> scratch;
  for (size_t row = 0; row < rows; ++row) {
    const absl::Span<const float> row_logits = logits.subspan(row * vocab_size, vocab_size);
    if (absl::Status status = CheckLogits(row_logits); !status.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("prompt position ", row, ": ", status.message()));
    }
    const LogSoftmaxNormalizer normalizer = ComputeLogSoftmaxNormalizer(row_logits);
    const TokenId id = prompt[row + 1];
    result.push_back({id, normalizer.Logprob(row_logits[id]),
                      TopLogprobs(row_logits, normalizer, top_count, scratch)});
  }
  return result;
}

}  // namespace minimind
