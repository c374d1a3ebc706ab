// StopChecker: turns the sampled ids of one generation into the text to stream and decides when
// the generation ends. Fed each new id, it returns the text that is safe to emit now and, on the
// last step, why the generation finished. Checks, in vLLM's priority order:
//   1. stop tokens — the model's end-of-sequence ids (unless params.ignore_eos) and
//      params.stop_token_ids: finish kStop; the stop token's own text is not emitted;
//   2. stop strings (params.stop), matched on the decoded TEXT, across token boundaries: finish
//      kStopSequence; the text ends right before the match (the stop string is not emitted,
//      as in OpenAI and vLLM). When several match, the one starting earliest wins;
//   3. params.max_tokens: finish kLength.
//
// Streaming contract: text that could still be the beginning of a stop string (the longest
// suffix of the unemitted text that is a proper prefix of some stop string) is held back until
// a later token disambiguates it; everything before it is emitted. Deltas are always complete
// UTF-8 (StreamingDetokenizer; special tokens are skipped, as vLLM does by default). When the
// generation finishes, the held-back text that did not become a stop string is flushed, with any
// unfinished character as U+FFFD — so the concatenated deltas equal the full decoded text cut
// before the first stop string (and without the stop token).
//
// One per generation; not thread-safe. Refers to the tokenizer, which must outlive it.
#ifndef MINIMIND_ENGINE_SAMPLING_STOP_CHECKER_H_
#define MINIMIND_ENGINE_SAMPLING_STOP_CHECKER_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "engine/sampling/finish_reason.h"
#include "engine/sampling/sampling_params.h"
#include "engine/tokenizer/streaming_detokenizer.h"
#include "engine/tokenizer/tokenizer.h"

namespace minimind {

struct StopCheckResult {
  std::string text;                           // Safe to emit now; often empty.
  std::optional<FinishReason> finish_reason;  // Set on the step that ends the generation.
};

class StopChecker {
 public:
  // `eos_token_ids`: the model's end-of-sequence ids (its generation config may list several).
  // InvalidArgument when ValidateSamplingParams fails.
  static absl::StatusOr<StopChecker> Create(const SamplingParams& params,
                                            const Tokenizer& tokenizer,
                                            absl::Span<const TokenId> eos_token_ids);

  // Feeds the next generated id. OutOfRange (state unchanged) for an id with no token;
  // FailedPrecondition once the generation has finished.
  absl::StatusOr<StopCheckResult> Add(TokenId id);

  // Ends the generation for a reason the checker does not see (the context is full, the request
  // was cancelled): returns the held-back text, cut before a stop string if the flush completes
  // one. Later calls to Add fail. Returns "" if already finished.
  std::string Finish();

  bool finished() const { return finished_; }
  // Ids fed so far, stop tokens included (they count as completion tokens).
  int32_t num_tokens() const { return num_tokens_; }

 private:
  StopChecker(const Tokenizer& tokenizer, absl::flat_hash_set<TokenId> stop_token_ids,
              std::vector<std::string> stop_strings, std::optional<int32_t> max_tokens);

  // Emits what is final in `held_`, ending the generation on a stop string.
  StopCheckResult Release();
  // Takes all of `held_` plus the detokenizer's unfinished bytes, cut before a stop string.
  // Returns whether a stop string matched.
  bool Flush(std::string& out);
  // Position of the earliest stop string in `text`, or npos.
  size_t FindStopString(const std::string& text) const;
  // Length of the longest suffix of `held_` that is a proper prefix of a stop string.
  size_t HeldBackLength() const;

  StreamingDetokenizer detokenizer_;
  absl::flat_hash_set<TokenId> stop_token_ids_;
  std::vector<std::string> stop_strings_;
  std::optional<int32_t> max_tokens_;
  size_t longest_stop_string_ = 0;
  // Decoded text not yet emitted: empty, or a possible beginning of a stop string.
  std::string held_;
  int32_t num_tokens_ = 0;
  bool finished_ = false;
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_SAMPLING_STOP_CHECKER_H_
