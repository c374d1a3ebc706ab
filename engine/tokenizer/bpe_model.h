// BpeModel: byte-level BPE over one pre-tokenized piece. Holds the vocabulary and the merge
// table; merges are applied lowest rank first, ties broken leftmost, exactly as Hugging Face
// tokenizers' BPE does. Immutable after creation and safe to share across threads; per-call
// working memory lives in a caller-owned `BpeScratch`.
#ifndef MINIMIND_ENGINE_TOKENIZER_BPE_MODEL_H_
#define MINIMIND_ENGINE_TOKENIZER_BPE_MODEL_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/tokenizer_spec.h"

namespace minimind {

// Reusable working memory for `BpeModel::EncodePiece`; reuse one per thread to avoid
// allocations. Contents between calls are meaningless.
struct BpeScratch {
  struct Symbol {
    TokenId id;
    int32_t prev;  // Index of the previous live symbol, -1 at the start.
    int32_t next;  // Index of the next live symbol, -1 at the end.
  };
  // (rank, left symbol index, merged id), ordered as a min-heap on (rank, index).
  using Candidate = std::tuple<int32_t, int32_t, TokenId>;
  std::vector<Symbol> symbols;
  std::vector<Candidate> heap;
  std::string byte_level_text;
};

class BpeModel {
 public:
  // Builds the lookup tables. InvalidArgument when the vocabulary has duplicate ids or a merge
  // names a token (or produces a token) that is not in the vocabulary.
  static absl::StatusOr<BpeModel> Create(const TokenizerSpec& spec);

  // Appends the ids of one pre-tokenized piece (raw bytes) to `ids`.
  void EncodePiece(absl::string_view piece, BpeScratch& scratch, std::vector<TokenId>& ids) const;

  // Exact vocabulary lookup of a byte-level token string.
  std::optional<TokenId> Find(absl::string_view token) const;

  const ByteLevelAlphabet& alphabet() const { return alphabet_; }

  // Every (token, id) of the vocabulary, in no particular order.
  const absl::flat_hash_map<std::string, TokenId>& vocabulary() const { return token_to_id_; }

  // One past the largest vocabulary id.
  TokenId id_limit() const { return id_limit_; }

 private:
  struct Merge {
    int32_t rank;
    TokenId merged;
  };
  static uint64_t PairKey(TokenId left, TokenId right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
           static_cast<uint32_t>(right);
  }
  void PushCandidate(const BpeScratch::Symbol* symbols, int32_t left, BpeScratch& scratch) const;

  absl::flat_hash_map<std::string, TokenId> token_to_id_;
  absl::flat_hash_map<uint64_t, Merge> merges_;
  // Vocabulary id of each byte's symbol; -1 when absent (then the unknown token, or dropped).
  std::array<TokenId, 256> byte_ids_;
  std::optional<TokenId> unknown_id_;
  ByteLevelAlphabet alphabet_;
  bool ignore_merges_ = false;
  TokenId id_limit_ = 0;
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_TOKENIZER_BPE_MODEL_H_
