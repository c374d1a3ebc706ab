#include "engine/sampling/token_history.h"

namespace minimind {

TokenHistory::TokenHistory(absl::Span<const TokenId> prompt) {
  for (const TokenId id : prompt) counts_[id].in_prompt = true;
}

void TokenHistory::AddOutput(TokenId id) { ++counts_[id].output_count; }

}  // namespace minimind
