// TokenVocabulary: the bytes each token of a model writes, in a trie, for computing which tokens a
// constraint allows (constraint_automaton.h). Built once per model; immutable, so shared by every
// constraint and thread.
//
// Only vocabulary tokens take part: added tokens (special or not: "<|im_end|>", "<think>") write
// their text verbatim outside the byte-level alphabet and are never allowed inside a constraint;
// the end-of-sequence ids are allowed separately, where the constraint may end.
#ifndef MINIMIND_ENGINE_CONSTRAIN_TOKEN_VOCABULARY_H_
#define MINIMIND_ENGINE_CONSTRAIN_TOKEN_VOCABULARY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "engine/tokenizer/tokenizer.h"

namespace minimind {

class TokenVocabulary {
 public:
  // `token_bytes[id]`: the bytes token `id` writes; empty for tokens that never take part.
  // `vocab_size` may exceed token_bytes.size() (ids past it take no part either).
  TokenVocabulary(std::vector<std::string> token_bytes, int64_t vocab_size);
  static TokenVocabulary FromTokenizer(const Tokenizer& tokenizer, int64_t vocab_size);

  int64_t vocab_size() const { return vocab_size_; }
  // Words of a bitset over the vocabulary.
  int64_t mask_words() const { return (vocab_size_ + 63) / 64; }
  const std::string& bytes(TokenId id) const { return token_bytes_[id]; }
  int64_t num_tokens() const { return static_cast<int64_t>(token_bytes_.size()); }
  // The longest token's byte count.
  int64_t max_token_bytes() const { return max_token_bytes_; }

  // The trie: node 0 is the root (no bytes). A node's children are sorted by byte.
  struct Node {
    int32_t first_child = 0;
    int32_t num_children = 0;
    int32_t first_token = 0;  // into tokens_at(): the tokens whose bytes end at this node
    int32_t num_tokens = 0;
    int32_t depth = 0;          // its bytes' count
    int32_t deepest_token = 0;  // the longest token at or below it, in bytes (0: none)
  };
  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<uint8_t>& child_bytes() const { return child_bytes_; }  // per child slot
  const std::vector<int32_t>& child_nodes() const { return child_nodes_; }  // per child slot
  absl::Span<const TokenId> tokens_at(const Node& node) const {
    return absl::MakeConstSpan(tokens_).subspan(node.first_token, node.num_tokens);
  }

 private:
  int64_t vocab_size_;
  int64_t max_token_bytes_ = 0;
  std::vector<std::string> token_bytes_;
  std::vector<Node> nodes_;
  std::vector<uint8_t> child_bytes_;
  std::vector<int32_t> child_nodes_;
  std::vector<TokenId> tokens_;
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_CONSTRAIN_TOKEN_VOCABULARY_H_
