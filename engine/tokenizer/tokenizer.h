// Tokenizer: a Hugging Face byte-level BPE tokenizer loaded from `tokenizer.json`, producing the
// same ids as Hugging Face tokenizers (tested against it byte for byte).
//
// Encoding: added tokens are matched first (special ones only when `parse_special`), then each
// remaining run is split by the pre-tokenizer regex(es), mapped to the byte-level alphabet and
// BPE-merged. No post-processor runs: no BOS/EOS is ever added implicitly (chat templates add
// what a model needs).
//
// Immutable after creation; Encode/Decode are const and safe to call concurrently. Move-only
// (the compiled regexes are owned).
#ifndef MINIMIND_ENGINE_TOKENIZER_TOKENIZER_H_
#define MINIMIND_ENGINE_TOKENIZER_TOKENIZER_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "engine/tokenizer/added_token_matcher.h"
#include "engine/tokenizer/bpe_model.h"
#include "engine/tokenizer/regex_splitter.h"
#include "engine/tokenizer/tokenizer_spec.h"
#include "engine/tokenizer/utf8.h"

namespace minimind {

class Tokenizer {
 public:
  // `path` is a tokenizer.json file or a directory containing one. NotFound when the file is
  // missing; InvalidArgument/Unimplemented as for `FromJson`, prefixed with the path.
  static absl::StatusOr<Tokenizer> FromFile(const std::string& path);
  // Parses and validates the text of a tokenizer.json.
  static absl::StatusOr<Tokenizer> FromJson(absl::string_view json_text);
  static absl::StatusOr<Tokenizer> FromSpec(TokenizerSpec spec);

  Tokenizer(Tokenizer&&) = default;
  Tokenizer& operator=(Tokenizer&&) = default;

  // Encodes UTF-8 text. Invalid UTF-8 is rejected with InvalidArgument naming the byte offset:
  // silently replacing it would change what the model sees.
  absl::StatusOr<std::vector<TokenId>> Encode(absl::string_view text,
                                              bool parse_special = true) const;

  // Decodes ids to text, as Hugging Face's decode does: runs of vocabulary tokens are joined as
  // bytes and decoded lossily (bytes that never form a valid character become U+FFFD), while an
  // added token ends the run before it and contributes its content verbatim. With
  // `skip_special`, special tokens are dropped first (so they do not end a run). OutOfRange for an
  // id with no token (Hugging Face silently drops it; a server should say so).
  absl::StatusOr<std::string> Decode(absl::Span<const TokenId> ids,
                                     bool skip_special = false) const;

  // One step of `Decode`, for incremental use: consumes `id`, keeping an unfinished character in
  // `pending`, and appends the text that became final to `out`. Decode(ids) equals the output of
  // DecodeStep over all ids followed by `pending.Finish()`. OutOfRange (state unchanged) for an id
  // with no token.
  absl::Status DecodeStep(TokenId id, bool skip_special, Utf8LossyDecoder& pending,
                          std::string& out) const;

  // The token's string as written in tokenizer.json (byte-level alphabet, or added content).
  absl::StatusOr<absl::string_view> TokenString(TokenId id) const;

  // Id of an exact token string (vocabulary or added token), e.g. "<|im_end|>".
  std::optional<TokenId> FindToken(absl::string_view token) const;

  // The bytes a vocabulary token decodes to; empty for added tokens and ids with no token (for
  // byte-level constraints: engine/constrain/token_vocabulary.h).
  absl::string_view VocabularyBytes(TokenId id) const {
    if (id < 0 || id >= vocab_size() || !has_token_[id] || is_added_[id]) return {};
    return token_bytes_[id];
  }

  bool IsSpecial(TokenId id) const { return id >= 0 && id < vocab_size() && is_special_[id]; }
  // One past the largest id; some ids below it may have no token.
  TokenId vocab_size() const { return static_cast<TokenId>(token_strings_.size()); }

 private:
  Tokenizer(BpeModel bpe, AddedTokenMatcher added_tokens, std::vector<RegexSplitter> splitters,
            bool add_prefix_space)
      : bpe_(std::move(bpe)),
        added_tokens_(std::move(added_tokens)),
        splitters_(std::move(splitters)),
        add_prefix_space_(add_prefix_space) {}

  absl::Status CheckId(TokenId id) const;
  // Pre-tokenizes and BPE-encodes one run of text that contains no added token.
  void EncodePlain(absl::string_view text, BpeScratch& scratch, std::vector<TokenId>& ids) const;

  BpeModel bpe_;
  AddedTokenMatcher added_tokens_;
  std::vector<RegexSplitter> splitters_;
  bool add_prefix_space_;
  // Indexed by id: the token's string, the bytes a vocabulary token decodes to, whether the id
  // has a token, whether it is an added token, and whether it is special.
  std::vector<std::string> token_strings_;
  std::vector<std::string> token_bytes_;
  std::vector<bool> has_token_;
  std::vector<bool> is_added_;
  std::vector<bool> is_special_;
  absl::flat_hash_map<std::string, TokenId> added_token_ids_;
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_TOKENIZER_TOKENIZER_H_
