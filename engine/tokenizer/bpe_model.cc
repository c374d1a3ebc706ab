#include "engine/tokenizer/bpe_model.h"

#include <algorithm>
#include <functional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace minimind {
namespace {

// Min-heap order on (rank, left index): the lowest rank merges first, leftmost on ties.
struct LaterCandidate {
  bool operator()(const BpeScratch::Candidate& a, const BpeScratch::Candidate& b) const {
    return std::tie(std::get<0>(a), std::get<1>(a)) > std::tie(std::get<0>(b), std::get<1>(b));
  }
};

}  // namespace

absl::StatusOr<BpeModel> BpeModel::Create(const TokenizerSpec& spec) {
  BpeModel model;
  model.token_to_id_.reserve(spec.vocab.size());
  absl::flat_hash_map<TokenId, absl::string_view> token_of_id;
  token_of_id.reserve(spec.vocab.size());
  for (const auto& [token, id] : spec.vocab) {
    if (const auto [it, inserted] = token_of_id.emplace(id, token); !inserted) {
      return absl::InvalidArgumentError(absl::StrCat("tokenizer.json: model.vocab: id ", id,
                                                     " is used by both \"", it->second,
                                                     "\" and \"", token, "\""));
    }
    model.token_to_id_.emplace(token, id);
    model.id_limit_ = std::max(model.id_limit_, id + 1);
  }

  model.merges_.reserve(spec.merges.size());
  for (size_t rank = 0; rank < spec.merges.size(); ++rank) {
    const auto& [left, right] = spec.merges[rank];
    const auto find = [&](const std::string& token) -> absl::StatusOr<TokenId> {
      const auto it = model.token_to_id_.find(token);
      if (it == model.token_to_id_.end()) {
        return absl::InvalidArgumentError(absl::StrCat("tokenizer.json: model.merges[", rank,
                                                       "]: token \"", token,
                                                       "\" is not in the vocabulary"));
      }
      return it->second;
    };
    auto left_id = find(left);
    if (!left_id.ok()) return left_id.status();
    auto right_id = find(right);
    if (!right_id.ok()) return right_id.status();
    auto merged_id = find(left + right);
    if (!merged_id.ok()) return merged_id.status();
    // A repeated pair keeps its first (highest-priority) rank.
    model.merges_.try_emplace(PairKey(*left_id, *right_id),
                              Merge{static_cast<int32_t>(rank), *merged_id});
  }

  for (int byte = 0; byte < 256; ++byte) {
    const auto it = model.token_to_id_.find(model.alphabet_.SymbolOf(static_cast<uint8_t>(byte)));
    model.byte_ids_[byte] = it == model.token_to_id_.end() ? -1 : it->second;
  }
  if (spec.unk_token.has_value()) {
    if (const auto it = model.token_to_id_.find(*spec.unk_token); it != model.token_to_id_.end()) {
      model.unknown_id_ = it->second;
    }
  }
  model.ignore_merges_ = spec.ignore_merges;
  return model;
}

std::optional<TokenId> BpeModel::Find(absl::string_view token) const {
  const auto it = token_to_id_.find(token);
  if (it == token_to_id_.end()) return std::nullopt;
  return it->second;
}

void BpeModel::PushCandidate(const BpeScratch::Symbol* symbols, int32_t left,
                             BpeScratch& scratch) const {
  const int32_t right = symbols[left].next;
  if (right < 0) return;
  const auto it = merges_.find(PairKey(symbols[left].id, symbols[right].id));
  if (it == merges_.end()) return;
  scratch.heap.emplace_back(it->second.rank, left, it->second.merged);
  std::push_heap(scratch.heap.begin(), scratch.heap.end(), LaterCandidate());
}

void BpeModel::EncodePiece(absl::string_view piece, BpeScratch& scratch,
                           std::vector<TokenId>& ids) const {
  if (ignore_merges_) {
    scratch.byte_level_text.clear();
    alphabet_.AppendSymbols(piece, scratch.byte_level_text);
    if (const auto whole = Find(scratch.byte_level_text)) {
      ids.push_back(*whole);
      return;
    }
  }

  // One symbol per byte, linked in order. Bytes without a vocabulary entry become the unknown
  // token, or vanish when there is none (Hugging Face's behaviour without byte fallback).
  auto& symbols = scratch.symbols;
  symbols.clear();
  for (const char byte : piece) {
    TokenId id = byte_ids_[static_cast<uint8_t>(byte)];
    if (id < 0) {
      if (!unknown_id_.has_value()) continue;
      id = *unknown_id_;
    }
    const auto index = static_cast<int32_t>(symbols.size());
    symbols.push_back({id, index - 1, index + 1});
  }
  if (symbols.empty()) return;
  symbols.back().next = -1;

  scratch.heap.clear();
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(symbols.size()); ++i) {
    PushCandidate(symbols.data(), i, scratch);
  }
  while (!scratch.heap.empty()) {
    std::pop_heap(scratch.heap.begin(), scratch.heap.end(), LaterCandidate());
    const auto [rank, left, merged] = scratch.heap.back();
    scratch.heap.pop_back();
    // Skip stale candidates: the left symbol was absorbed (id -1), or its right neighbour
    // changed since the candidate was pushed.
    BpeScratch::Symbol& left_symbol = symbols[left];
    if (left_symbol.id < 0 || left_symbol.next < 0) continue;
    const BpeScratch::Symbol& right_symbol = symbols[left_symbol.next];
    const auto it = merges_.find(PairKey(left_symbol.id, right_symbol.id));
    if (it == merges_.end() || it->second.rank != rank || it->second.merged != merged) continue;

    const int32_t absorbed = left_symbol.next;
    left_symbol.id = merged;
    left_symbol.next = symbols[absorbed].next;
    if (left_symbol.next >= 0) symbols[left_symbol.next].prev = left;
    symbols[absorbed].id = -1;
    if (left_symbol.prev >= 0) PushCandidate(symbols.data(), left_symbol.prev, scratch);
    PushCandidate(symbols.data(), left, scratch);
  }
  for (int32_t i = 0; i >= 0; i = symbols[i].next) ids.push_back(symbols[i].id);
}

}  // namespace minimind
