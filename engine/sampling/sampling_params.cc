#include "engine/sampling/sampling_params.h"

#include <cstddef>

#include "absl/strings/str_cat.h"
#include "engine/tokenizer/utf8.h"

namespace minimind {
namespace {

// Range checks are written as `!(in range)` so that NaN, which fails every comparison, is
// rejected too.
absl::Status OutOfRange(absl::string_view field, double value, absl::string_view range) {
  return absl::InvalidArgumentError(absl::StrCat(field, " must be in ", range, ", got ", value));
}

absl::Status ValidateStopStrings(const std::vector<std::string>& stop) {
  if (stop.size() > kMaxStopStrings) {
    return absl::InvalidArgumentError(absl::StrCat("stop has ", stop.size(), " strings; at most ",
                                                   kMaxStopStrings, " are allowed"));
  }
  for (size_t i = 0; i < stop.size(); ++i) {
    const std::string& text = stop[i];
    if (text.empty() || text.size() > kMaxStopStringBytes) {
      return absl::InvalidArgumentError(absl::StrCat("stop[", i, "] is ", text.size(),
                                                     " bytes; each stop string must be 1..",
                                                     kMaxStopStringBytes, " bytes"));
    }
    if (const size_t offset = FirstInvalidUtf8Offset(text); offset != text.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("stop[", i, "] is not valid UTF-8 (byte offset ", offset, ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateSamplingParams(const SamplingParams& params) {
  if (!(params.temperature >= 0.0f && params.temperature <= kMaxTemperature)) {
    return OutOfRange("temperature", params.temperature,
                      absl::StrCat("[0, ", kMaxTemperature, "]"));
  }
  if (params.top_k < 0) {
    return OutOfRange("top_k", params.top_k, "[0, inf) (0 disables it)");
  }
  if (!(params.top_p > 0.0f && params.top_p <= 1.0f)) {
    return OutOfRange("top_p", params.top_p, "(0, 1]");
  }
  if (!(params.min_p >= 0.0f && params.min_p <= 1.0f)) {
    return OutOfRange("min_p", params.min_p, "[0, 1]");
  }
  if (!(params.repetition_penalty > 0.0f && params.repetition_penalty <= kMaxRepetitionPenalty)) {
    return OutOfRange("repetition_penalty", params.repetition_penalty,
                      absl::StrCat("(0, ", kMaxRepetitionPenalty, "]"));
  }
  const std::string penalty_range = absl::StrCat("[-", kMaxAbsPresenceOrFrequencyPenalty, ", ",
                                                 kMaxAbsPresenceOrFrequencyPenalty, "]");
  if (!(params.presence_penalty >= -kMaxAbsPresenceOrFrequencyPenalty &&
        params.presence_penalty <= kMaxAbsPresenceOrFrequencyPenalty)) {
    return OutOfRange("presence_penalty", params.presence_penalty, penalty_range);
  }
  if (!(params.frequency_penalty >= -kMaxAbsPresenceOrFrequencyPenalty &&
        params.frequency_penalty <= kMaxAbsPresenceOrFrequencyPenalty)) {
    return OutOfRange("frequency_penalty", params.frequency_penalty, penalty_range);
  }
  if (params.max_tokens.has_value() &&
      (*params.max_tokens < 1 || *params.max_tokens > kMaxTokensLimit)) {
    return OutOfRange("max_tokens", *params.max_tokens, absl::StrCat("[1, ", kMaxTokensLimit, "]"));
  }
  if (absl::Status status = ValidateStopStrings(params.stop); !status.ok()) return status;
  if (params.stop_token_ids.size() > kMaxStopTokenIds) {
    return absl::InvalidArgumentError(absl::StrCat("stop_token_ids has ",
                                                   params.stop_token_ids.size(), " ids; at most ",
                                                   kMaxStopTokenIds, " are allowed"));
  }
  for (size_t i = 0; i < params.stop_token_ids.size(); ++i) {
    if (params.stop_token_ids[i] < 0) {
      return OutOfRange(absl::StrCat("stop_token_ids[", i, "]"), params.stop_token_ids[i],
                        "[0, vocabulary size)");
    }
  }
  const std::string logprobs_range = absl::StrCat("[0, ", kMaxTopLogprobs, "]");
  if (params.top_logprobs < 0 || params.top_logprobs > kMaxTopLogprobs) {
    return OutOfRange("top_logprobs", params.top_logprobs, logprobs_range);
  }
  if (params.top_logprobs > 0 && !params.logprobs) {
    return absl::InvalidArgumentError(absl::StrCat("top_logprobs is ", params.top_logprobs,
                                                   " but logprobs is false; set logprobs to true"));
  }
  if (params.prompt_logprobs.has_value() &&
      (*params.prompt_logprobs < 0 || *params.prompt_logprobs > kMaxTopLogprobs)) {
    return OutOfRange("prompt_logprobs", *params.prompt_logprobs, logprobs_range);
  }
  return absl::OkStatus();
}

}  // namespace minimind
