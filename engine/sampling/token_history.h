// TokenHistory: the token counts that penalties read — which ids occur in the prompt and how many
// times each id occurs in the output so far. Updated once per generated token in O(1), so
// applying penalties costs O(distinct tokens), not O(sequence length), per step.
//
// One per generation; a value type; not thread-safe.
#ifndef MINIMIND_ENGINE_SAMPLING_TOKEN_HISTORY_H_
#define MINIMIND_ENGINE_SAMPLING_TOKEN_HISTORY_H_

#include <cstdint>

#include "absl/container/flat_hash_map.h"
#include "absl/types/span.h"
#include "engine/tokenizer/tokenizer.h"

namespace minimind {

class TokenHistory {
 public:
  struct Counts {
    bool in_prompt = false;
    int32_t output_count = 0;
  };

  TokenHistory() = default;
  explicit TokenHistory(absl::Span<const TokenId> prompt);

  void AddOutput(TokenId id);

  // Every id seen in the prompt or the output. Iteration order is unspecified; penalties treat
  // each id independently, so their result does not depend on it.
  const absl::flat_hash_map<TokenId, Counts>& counts() const { return counts_; }

 private:
  absl::flat_hash_map<TokenId, Counts> counts_;
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_SAMPLING_TOKEN_HISTORY_H_
