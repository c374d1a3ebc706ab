#include "engine/sampling/stop_checker.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace minimind {

absl::StatusOr<StopChecker> StopChecker::Create(const SamplingParams& params,
                                                const Tokenizer& tokenizer,
                                                absl::Span<const TokenId> eos_token_ids) {
  if (absl::Status status = ValidateSamplingParams(params); !status.ok()) return status;
  absl::flat_hash_set<TokenId> stop_token_ids(params.stop_token_ids.begin(),
                                              params.stop_token_ids.end());
  if (!params.ignore_eos) stop_token_ids.insert(eos_token_ids.begin(), eos_token_ids.end());
  return StopChecker(tokenizer, std::move(stop_token_ids), params.stop, params.max_tokens);
}

StopChecker::StopChecker(const Tokenizer& tokenizer, absl::flat_hash_set<TokenId> stop_token_ids,
                         std::vector<std::string> stop_strings, std::optional<int32_t> max_tokens)
    : detokenizer_(tokenizer, /*skip_special=*/true),
      stop_token_ids_(std::move(stop_token_ids)),
      stop_strings_(std::move(stop_strings)),
      max_tokens_(max_tokens) {
  for (const std::string& stop : stop_strings_) {
    longest_stop_string_ = std::max(longest_stop_string_, stop.size());
  }
}

absl::StatusOr<StopCheckResult> StopChecker::Add(TokenId id) {
  if (finished_) {
    return absl::FailedPreconditionError(
        absl::StrCat("token ", id, " fed to a generation that already finished"));
  }
  StopCheckResult result;
  if (stop_token_ids_.contains(id)) {
    ++num_tokens_;
    Flush(result.text);
    result.finish_reason = FinishReason::kStop;
    finished_ = true;
    return result;
  }
  absl::StatusOr<std::string> delta = detokenizer_.Add(id);
  if (!delta.ok()) return delta.status();
  ++num_tokens_;
  absl::StrAppend(&held_, *delta);
  result = Release();
  if (!result.finish_reason.has_value() && max_tokens_.has_value() && num_tokens_ >= *max_tokens_) {
    // A stop string completed by the flush was generated within the limit: report it as such.
    result.finish_reason = Flush(result.text) ? FinishReason::kStopSequence : FinishReason::kLength;
    finished_ = true;
  }
  return result;
}

std::string StopChecker::Finish() {
  std::string text;
  if (finished_) return text;
  Flush(text);
  finished_ = true;
  return text;
}

StopCheckResult StopChecker::Release() {
  StopCheckResult result;
  if (const size_t match = FindStopString(held_); match != std::string::npos) {
    result.text = held_.substr(0, match);
    held_.clear();
    result.finish_reason = FinishReason::kStopSequence;
    finished_ = true;
    return result;
  }
  const size_t emit = held_.size() - HeldBackLength();
  result.text = held_.substr(0, emit);
  held_.erase(0, emit);
  return result;
}

bool StopChecker::Flush(std::string& out) {
  absl::StrAppend(&held_, detokenizer_.Finish());
  const size_t match = FindStopString(held_);
  absl::StrAppend(&out, absl::string_view(held_).substr(0, match));
  held_.clear();
  return match != std::string::npos;
}

size_t StopChecker::FindStopString(const std::string& text) const {
  // Emitted text never contains a match or the start of one (that would have been held back),
  // so searching the held text is enough.
  size_t earliest = std::string::npos;
  for (const std::string& stop : stop_strings_) {
    earliest = std::min(earliest, text.find(stop));
  }
  return earliest;
}

size_t StopChecker::HeldBackLength() const {
  // Stop strings are valid UTF-8, so a suffix that matches one's beginning starts on a
  // character boundary: holding it back never splits a character.
  if (longest_stop_string_ == 0) return 0;
  const size_t longest = std::min(held_.size(), longest_stop_string_ - 1);
  const absl::string_view held(held_);
  for (size_t length = longest; length > 0; --length) {
    const absl::string_view suffix = held.substr(held.size() - length);
    for (const std::string& stop : stop_strings_) {
      if (stop.size() > length && absl::string_view(stop).substr(0, length) == suffix) {
        return length;
      }
    }
  }
  return 0;
}

}  // namespace minimind
