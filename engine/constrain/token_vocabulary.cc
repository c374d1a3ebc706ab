#include "engine/constrain/token_vocabulary.h"

#include <algorithm>
#include <utility>

namespace minimind {

TokenVocabulary::TokenVocabulary(std::vector<std::string> token_bytes, int64_t vocab_size)
    : vocab_size_(std::max<int64_t>(vocab_size, static_cast<int64_t>(token_bytes.size()))),
      token_bytes_(std::move(token_bytes)) {
  // Tokens sorted by bytes: a trie built in one pass, children in byte order, each node's
  // children contiguous.
  std::vector<TokenId> order;
  for (TokenId id = 0; id < static_cast<TokenId>(token_bytes_.size()); ++id) {
    if (!token_bytes_[id].empty()) order.push_back(id);
    max_token_bytes_ =
        std::max<int64_t>(max_token_bytes_, static_cast<int64_t>(token_bytes_[id].size()));
  }
  std::sort(order.begin(), order.end(), [this](TokenId a, TokenId b) {
    return token_bytes_[a] != token_bytes_[b] ? token_bytes_[a] < token_bytes_[b] : a < b;
  });
  // First build a pointer-style trie, then lay it out breadth-first.
  struct Building {
    std::vector<std::pair<uint8_t, int32_t>> children;  // sorted by byte (insertion order)
    std::vector<TokenId> tokens;
  };
  std::vector<Building> building(1);
  for (const TokenId id : order) {
    int32_t node = 0;
    for (const char c : token_bytes_[id]) {
      const uint8_t byte = static_cast<uint8_t>(c);
      std::vector<std::pair<uint8_t, int32_t>>& children = building[node].children;
      if (children.empty() || children.back().first != byte) {
        children.emplace_back(byte, static_cast<int32_t>(building.size()));
        building.emplace_back();
      }
      node = building[node].children.back().second;
    }
    building[node].tokens.push_back(id);
  }
  // Breadth-first layout: node ids in the new order.
  std::vector<int32_t> queue = {0};
  std::vector<int32_t> new_id(building.size(), -1);
  new_id[0] = 0;
  for (size_t head = 0; head < queue.size(); ++head) {
    for (const auto& [byte, child] : building[queue[head]].children) {
      new_id[child] = static_cast<int32_t>(queue.size());
      queue.push_back(child);
    }
  }
  nodes_.resize(building.size());
  for (size_t position = 0; position < queue.size(); ++position) {
    const Building& old = building[queue[position]];
    Node& node = nodes_[position];
    node.first_child = static_cast<int32_t>(child_bytes_.size());
    node.num_children = static_cast<int32_t>(old.children.size());
    for (const auto& [byte, child] : old.children) {
      child_bytes_.push_back(byte);
      child_nodes_.push_back(new_id[child]);
    }
    node.first_token = static_cast<int32_t>(tokens_.size());
    node.num_tokens = static_cast<int32_t>(old.tokens.size());
    tokens_.insert(tokens_.end(), old.tokens.begin(), old.tokens.end());
  }
  // Depths top-down, then the deepest token bottom-up (breadth-first order: parents first).
  for (const Node& node : nodes_) {
    for (int32_t slot = node.first_child; slot < node.first_child + node.num_children; ++slot) {
      nodes_[child_nodes_[slot]].depth = node.depth + 1;
    }
  }
  for (size_t position = nodes_.size(); position-- > 0;) {
    Node& node = nodes_[position];
    if (node.num_tokens > 0) node.deepest_token = node.depth;
    for (int32_t slot = node.first_child; slot < node.first_child + node.num_children; ++slot) {
      node.deepest_token = std::max(node.deepest_token, nodes_[child_nodes_[slot]].deepest_token);
    }
  }
}

TokenVocabulary TokenVocabulary::FromTokenizer(const Tokenizer& tokenizer, int64_t vocab_size) {
  std::vector<std::string> bytes(std::min<int64_t>(vocab_size, tokenizer.vocab_size()));
  for (TokenId id = 0; id < static_cast<TokenId>(bytes.size()); ++id) {
    bytes[id] = std::string(tokenizer.VocabularyBytes(id));
  }
  return TokenVocabulary(std::move(bytes), vocab_size);
}

}  // namespace minimind
