// AddedTokenMatcher: finds added tokens (special and not) in raw text before pre-tokenization,
// leftmost-longest, as Hugging Face tokenizers does. Immutable after creation; thread-safe.
#ifndef MINIMIND_ENGINE_TOKENIZER_ADDED_TOKEN_MATCHER_H_
#define MINIMIND_ENGINE_TOKENIZER_ADDED_TOKEN_MATCHER_H_

#include <array>
#include "absl/strings/string_view.h"
#include <vector>

#include "engine/tokenizer/tokenizer_spec.h"

namespace minimind {

class AddedTokenMatcher {
 public:
  // A run of plain text (`token` < 0) or one matched added token.
  struct Segment {
    absl::string_view text;
    TokenId token = -1;
  };

  explicit AddedTokenMatcher(std::vector<AddedTokenSpec> tokens);

  // Cuts `text` into segments, in order. Special tokens are matched only when `parse_special`;
  // otherwise their text stays plain and is tokenized like any other. A token with lstrip/rstrip
  // also takes the ASCII whitespace next to it (left/right) into its segment.
  void Split(absl::string_view text, bool parse_special, std::vector<Segment>& segments) const;

 private:
  std::vector<AddedTokenSpec> tokens_;  // Sorted by content length, longest first.
  // Whether any token starts with this byte: a cheap filter for the scan.
  std::array<bool, 256> is_first_byte_{};
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_TOKENIZER_ADDED_TOKEN_MATCHER_H_
