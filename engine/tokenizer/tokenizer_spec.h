// TokenizerSpec: the parts of a Hugging Face `tokenizer.json` that define encoding and decoding,
// as plain validated data. Parsing is separate from building the fast lookup structures so that
// every way a file can be wrong is reported by one function with a precise message.
#ifndef MINIMIND_ENGINE_TOKENIZER_TOKENIZER_SPEC_H_
#define MINIMIND_ENGINE_TOKENIZER_TOKENIZER_SPEC_H_

#include <cstdint>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace minimind {

using TokenId = int32_t;

// A token matched verbatim in the input before any pre-tokenization (`added_tokens`).
struct AddedTokenSpec {
  TokenId id = 0;
  std::string content;
  // Special tokens are skipped by `Decode(..., skip_special=true)` and are matched in the input
  // only when the caller asks to parse special tokens.
  bool special = false;
  // The match also swallows whitespace to its left / right.
  bool lstrip = false;
  bool rstrip = false;
};

// One pre-tokenizer split: a PCRE2 regex, or a literal string when `literal` is set.
struct SplitPattern {
  std::string pattern;
  bool literal = false;
};

struct TokenizerSpec {
  // BPE model. `vocab[i]` is the token string (in the byte-level alphabet) and its id.
  std::vector<std::pair<std::string, TokenId>> vocab;
  // Merge rules in priority order (index = rank).
  std::vector<std::pair<std::string, std::string>> merges;
  // When set, a pre-tokenized word found whole in the vocabulary is not split by BPE.
  bool ignore_merges = false;
  std::optional<std::string> unk_token;

  std::vector<AddedTokenSpec> added_tokens;

  // Pre-tokenization: the text is split by each regex in turn (keeping matches and the gaps
  // between them as separate pieces, Hugging Face's "Isolated" behaviour), then every piece is
  // mapped to the byte-level alphabet.
  std::vector<SplitPattern> split_patterns;
  bool add_prefix_space = false;
};

// The GPT-2 pre-tokenizer regex that Hugging Face's ByteLevel(use_regex=true) applies.
inline constexpr absl::string_view kGpt2SplitPattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// Parses the text of a `tokenizer.json`. Errors are InvalidArgument (malformed or inconsistent
// content, naming the JSON path and the problem) or Unimplemented (a valid feature this tokenizer
// does not support, named).
absl::StatusOr<TokenizerSpec> ParseTokenizerJson(absl::string_view json_text);

}  // namespace minimind

#endif  // MINIMIND_ENGINE_TOKENIZER_TOKENIZER_SPEC_H_
