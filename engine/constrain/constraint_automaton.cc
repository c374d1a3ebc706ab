#include "engine/constrain/constraint_automaton.h"

#include <algorithm>
#include <array>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace minimind {
namespace {

constexpr int32_t kUnknown = -2;

uint64_t Pack(int32_t state, int32_t stack) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(state)) << 32) | static_cast<uint32_t>(stack);
}
int32_t StateOf(uint64_t configuration) { return static_cast<int32_t>(configuration >> 32); }
int32_t StackOf(uint64_t configuration) {
  return static_cast<int32_t>(configuration & 0xffffffffu);
}

}  // namespace

ConstraintAutomaton::ConstraintAutomaton(Grammar grammar,
                                         std::shared_ptr<const TokenVocabulary> vocabulary,
                                         ConstraintLimits limits)
    : grammar_(std::move(grammar)),
      vocabulary_(std::move(vocabulary)),
      limits_(limits),
      state_limit_(limits.max_dfa_states) {
  // Byte classes: the intervals between the grammar's edge bounds. Bytes of one interval are
  // inside or outside every edge alike, so every state moves them alike.
  std::array<bool, 257> cut{};
  cut[0] = true;
  for (const Grammar::State& state : grammar_.states()) {
    for (const Grammar::Edge& edge : state.edges) {
      cut[edge.lo] = true;
      cut[edge.hi + 1] = true;
    }
  }
  int32_t cls = -1;
  for (int byte = 0; byte < 256; ++byte) {
    if (cut[byte]) ++cls;
    byte_class_[byte] = static_cast<uint8_t>(cls);
  }
  num_classes_ = cls + 1;
}

int32_t ConstraintAutomaton::PushStack(int32_t stack, int32_t return_state) {
  const std::pair<int32_t, int32_t> key(stack, return_state);
  auto [it, inserted] = stack_index_.try_emplace(key, static_cast<int32_t>(stacks_.size()));
  if (inserted) {
    stacks_.push_back(key);
    stack_depths_.push_back(stack_depths_[stack] + 1);
  }
  return it->second;
}

absl::StatusOr<int32_t> ConstraintAutomaton::Close(std::vector<uint64_t> work) {
  const std::vector<Grammar::State>& states = grammar_.states();
  absl::flat_hash_set<uint64_t>& seen = close_seen_;  // kept between calls: no regrowing
  seen.clear();
  std::vector<uint64_t> with_edges;
  bool accepting = false;
  while (!work.empty()) {
    const uint64_t configuration = work.back();
    work.pop_back();
    if (!seen.insert(configuration).second) continue;
    const int32_t at = StateOf(configuration);
    const int32_t stack = StackOf(configuration);
    const Grammar::State& state = states[at];
    if (!state.edges.empty()) with_edges.push_back(configuration);
    for (const int32_t next : state.epsilon) work.push_back(Pack(next, stack));
    if (state.call >= 0 && stack_depths_[stack] < limits_.max_depth) {
      work.push_back(Pack(grammar_.rule_start(state.call), PushStack(stack, state.call_return)));
    }
    if (state.rule_end) {
      if (stack == 0) {
        accepting = true;
      } else {
        const auto [parent, return_state] = stacks_[stack];
        work.push_back(Pack(return_state, parent));
      }
    }
  }
  if (with_edges.empty() && !accepting) return kDead;
  std::sort(with_edges.begin(), with_edges.end());
  Key key(std::move(with_edges), accepting);
  if (auto it = index_.find(key); it != index_.end()) return it->second;
  if (static_cast<int64_t>(states_.size()) >= state_limit_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the constraint needed more than ", limits_.max_dfa_states,
                     " automaton states for this output; simplify it or lower max_tokens"));
  }
  const int32_t id = static_cast<int32_t>(states_.size());
  states_.push_back(DfaState{key.first, accepting});
  state_bytes_ += static_cast<int64_t>(sizeof(DfaState) + key.first.size() * sizeof(uint64_t));
  index_.emplace(std::move(key), id);
  transitions_.resize(transitions_.size() + num_classes_, kUnknown);
  masks_.emplace_back();
  return id;
}

absl::StatusOr<int32_t> ConstraintAutomaton::StartLocked() {
  if (start_ == -2) {
    absl::StatusOr<int32_t> start = Close({Pack(grammar_.rule_start(grammar_.root_rule()), 0)});
    if (!start.ok()) return start.status();
    start_ = *start;
  }
  return start_;
}

absl::StatusOr<int32_t> ConstraintAutomaton::Start() {
  absl::MutexLock lock(&mutex_);
  return StartLocked();
}

absl::StatusOr<int32_t> ConstraintAutomaton::NextLocked(int32_t state, uint8_t byte) {
  if (state < 0) return kDead;
  const size_t slot = static_cast<size_t>(state) * num_classes_ + byte_class_[byte];
  if (transitions_[slot] != kUnknown) return transitions_[slot];
  const std::vector<Grammar::State>& states = grammar_.states();
  std::vector<uint64_t> seeds;
  for (const uint64_t configuration : states_[state].configurations) {
    for (const Grammar::Edge& edge : states[StateOf(configuration)].edges) {
      if (edge.lo <= byte && byte <= edge.hi) {
        seeds.push_back(Pack(edge.target, StackOf(configuration)));
      }
    }
  }
  int32_t next = kDead;
  if (!seeds.empty()) {
    std::sort(seeds.begin(), seeds.end());
    seeds.erase(std::unique(seeds.begin(), seeds.end()), seeds.end());
    if (auto it = closures_.find(seeds); it != closures_.end()) {
      next = it->second;
    } else {
      absl::StatusOr<int32_t> closed = Close(seeds);
      if (!closed.ok()) return closed.status();
      next = *closed;
      closures_.emplace(std::move(seeds), next);
    }
  }
  transitions_[slot] = next;  // Close may have grown transitions_: indexed again
  return next;
}

absl::StatusOr<int32_t> ConstraintAutomaton::Next(int32_t state, uint8_t byte) {
  absl::MutexLock lock(&mutex_);
  return NextLocked(state, byte);
}

absl::StatusOr<int32_t> ConstraintAutomaton::NextToken(int32_t state, TokenId id) {
  if (id < 0 || id >= vocabulary_->num_tokens()) return kDead;
  const std::string& bytes = vocabulary_->bytes(id);
  if (bytes.empty()) return kDead;
  absl::MutexLock lock(&mutex_);
  for (const char c : bytes) {
    absl::StatusOr<int32_t> next = NextLocked(state, static_cast<uint8_t>(c));
    if (!next.ok() || *next == kDead) return next;
    state = *next;
  }
  return state;
}

bool ConstraintAutomaton::Accepting(int32_t state) {
  absl::MutexLock lock(&mutex_);
  return state >= 0 && states_[state].accepting;
}

bool ConstraintAutomaton::Complete(int32_t state) {
  absl::MutexLock lock(&mutex_);
  return state >= 0 && states_[state].accepting && states_[state].configurations.empty();
}

int64_t ConstraintAutomaton::num_states() {
  absl::MutexLock lock(&mutex_);
  return static_cast<int64_t>(states_.size());
}

int64_t ConstraintAutomaton::walked_trie_nodes() {
  absl::MutexLock lock(&mutex_);
  return walked_trie_nodes_;
}

int64_t ConstraintAutomaton::held_bytes() {
  absl::MutexLock lock(&mutex_);
  return static_cast<int64_t>(transitions_.size() * sizeof(int32_t)) + mask_bytes_ + state_bytes_;
}

std::vector<uint64_t> ConstraintAutomaton::MaskKey(int32_t state, int64_t horizon) {
  const std::vector<Grammar::State>& states = grammar_.states();
  std::vector<uint64_t> key;
  key.reserve(2 * states_[state].configurations.size() + 1);
  key.push_back(states_[state].accepting ? 1 : 0);
  for (const uint64_t configuration : states_[state].configurations) {
    const Grammar::State& at = states[StateOf(configuration)];
    if (at.repeat_group < 0) {
      key.push_back(configuration);
      key.push_back(0);
      continue;
    }
    const Grammar::RepeatBounds& bounds = grammar_.repeat_bounds(at.repeat_group);
    const int64_t left = bounds.max < 0 ? horizon : bounds.max - at.repeat_position;
    const int64_t owed = std::max<int64_t>(0, bounds.min - at.repeat_position);
    // High bit: a repeat copy's state by (group, offset, capped distances), and its stack.
    key.push_back((uint64_t{1} << 63) | (static_cast<uint64_t>(at.repeat_group) << 32) |
                  static_cast<uint32_t>(at.repeat_offset));
    key.push_back((static_cast<uint64_t>(std::min(left, horizon)) << 48) |
                  (static_cast<uint64_t>(std::min(owed, horizon)) << 32) |
                  static_cast<uint32_t>(StackOf(configuration)));
  }
  return key;
}

absl::Status ConstraintAutomaton::Walk(int32_t state,
                                       absl::Span<TokenMaskWords* const> into_by_bytes) {
  const std::vector<TokenVocabulary::Node>& nodes = vocabulary_->nodes();
  const std::vector<uint8_t>& child_bytes = vocabulary_->child_bytes();
  const std::vector<int32_t>& child_nodes = vocabulary_->child_nodes();
  int64_t min_bytes = 0;
  while (min_bytes < static_cast<int64_t>(into_by_bytes.size()) &&
         into_by_bytes[min_bytes] == nullptr) {
    ++min_bytes;
  }
  const int64_t max_bytes = static_cast<int64_t>(into_by_bytes.size()) - 1;
  // Depth-first over (trie node, DFA state) pairs whose bytes the grammar allows so far.
  std::vector<std::pair<int32_t, int32_t>> pending = {{0, state}};
  while (!pending.empty()) {
    const auto [node_id, at] = pending.back();
    pending.pop_back();
    const TokenVocabulary::Node& node = nodes[node_id];
    const int64_t depth = node.depth + 1;
    TokenMaskWords* const into = into_by_bytes[depth];
    for (int32_t slot = node.first_child; slot < node.first_child + node.num_children; ++slot) {
      const TokenVocabulary::Node& child = nodes[child_nodes[slot]];
      if (child.deepest_token < min_bytes) continue;
      int32_t next =
          transitions_[static_cast<size_t>(at) * num_classes_ + byte_class_[child_bytes[slot]]];
      if (next == kUnknown) {
        absl::StatusOr<int32_t> made = NextLocked(at, child_bytes[slot]);
        if (!made.ok()) return made.status();
        next = *made;
      }
      if (next == kDead) continue;
      ++walked_trie_nodes_;
      if (into != nullptr) {
        for (const TokenId id : vocabulary_->tokens_at(child)) {
          (*into)[id >> 6] |= uint64_t{1} << (id & 63);
        }
      }
      if (child.num_children > 0 && depth < max_bytes) {
        pending.emplace_back(child_nodes[slot], next);
      }
    }
  }
  return absl::OkStatus();
}

void ConstraintAutomaton::MakeRoom() {
  const int64_t bytes = vocabulary_->mask_words() * static_cast<int64_t>(sizeof(uint64_t));
  if (mask_bytes_ + bytes > limits_.max_mask_bytes) {
    for (auto& kept : masks_) kept.reset();
    shared_masks_.clear();
    tier_masks_.clear();
    mask_bytes_ = 0;
  }
  mask_bytes_ += bytes;
}

absl::StatusOr<std::shared_ptr<const TokenMaskWords>> ConstraintAutomaton::Mask(int32_t state) {
  absl::MutexLock lock(&mutex_);
  return MaskLocked(state);
}

int64_t ConstraintAutomaton::Precompute() {
  absl::MutexLock lock(&mutex_);
  const int64_t node_budget = walked_trie_nodes_ + limits_.precompute_trie_nodes;
  state_limit_ = limits_.max_dfa_states / 8;
  const TokenVocabulary::Node& root = vocabulary_->nodes()[0];
  std::vector<int32_t> queue;
  std::vector<bool> queued;
  if (absl::StatusOr<int32_t> start = StartLocked(); start.ok() && *start >= 0) {
    queue.push_back(*start);
    queued.resize(states_.size(), false);
    queued[*start] = true;
  }
  int64_t with_masks = 0;
  for (size_t next = 0; next < queue.size(); ++next) {
    const int32_t state = queue[next];
    if (masks_[state] == nullptr) {
      if (walked_trie_nodes_ >= node_budget || 2 * mask_bytes_ >= limits_.max_mask_bytes) break;
      if (!MaskLocked(state).ok()) break;  // past the lower state cap
    }
    ++with_masks;
    // The states after each first byte of a token (a shared mask walked nothing from here).
    bool capped = false;
    for (int32_t slot = root.first_child; slot < root.first_child + root.num_children; ++slot) {
      absl::StatusOr<int32_t> to = NextLocked(state, vocabulary_->child_bytes()[slot]);
      if (!to.ok()) {
        capped = true;
        break;
      }
      if (*to < 0) continue;
      queued.resize(states_.size(), false);
      if (!queued[*to]) {
        queued[*to] = true;
        queue.push_back(*to);
      }
    }
    if (capped) break;
  }
  state_limit_ = limits_.max_dfa_states;
  return with_masks;
}

absl::StatusOr<std::shared_ptr<const TokenMaskWords>> ConstraintAutomaton::MaskLocked(
    int32_t state) {
  if (state < 0) return std::make_shared<const TokenMaskWords>(vocabulary_->mask_words(), 0);
  if (masks_[state] != nullptr) return masks_[state];
  const int64_t longest = vocabulary_->max_token_bytes();
  auto words = std::make_shared<TokenMaskWords>(vocabulary_->mask_words(), 0);
  // Where the walk records tokens, by their bytes' count (nullptr: not walked for).
  std::vector<TokenMaskWords*> into(longest + 1, words.get());
  into[0] = nullptr;
  if (!limits_.share_masks) {
    if (absl::Status walked = Walk(state, into); !walked.ok()) return walked;
    MakeRoom();
    masks_[state] = words;
    return std::shared_ptr<const TokenMaskWords>(std::move(words));
  }
  // Whole masks are shared by states alike for every token; failing that, tiers of tokens by
  // length — (0, first], (first, 2 first], ... — by states alike for tokens of that length, so
  // that a new position in a long repeat walks only for its longest tokens.
  std::vector<uint64_t> key = MaskKey(state, longest + 1);
  if (auto it = shared_masks_.find(key); it != shared_masks_.end()) {
    masks_[state] = it->second;
    return it->second;
  }
  const auto add = [&words](const TokenMaskWords& tier) {
    for (size_t word = 0; word < words->size(); ++word) (*words)[word] |= tier[word];
  };
  const int64_t first =
      std::clamp<int64_t>(limits_.first_tier_bytes, 1, std::max<int64_t>(1, longest));
  std::vector<uint64_t> first_key = MaskKey(state, first + 1);
  if (first_key != key) {
    // In a bounded repeat (otherwise nothing is shared but the whole mask).
    // Walked tiers, keyed (an empty key: no other state can share it, so it is not kept).
    std::vector<std::pair<std::vector<uint64_t>, std::shared_ptr<TokenMaskWords>>> walked_tiers;
    for (int64_t low = 1, high = first; low <= longest; low = high + 1, high = 2 * high) {
      high = std::min(high, longest);
      // Tokens of low..high bytes behave alike in states alike up to high bytes from the bounds.
      std::vector<uint64_t> tier_key = low == 1 ? std::move(first_key) : MaskKey(state, high + 1);
      if (tier_key == key) {
        // Near a bound: only the states that share the whole mask share this key.
        tier_key.clear();
      } else {
        tier_key.push_back(static_cast<uint64_t>(high));
        if (auto it = tier_masks_.find(tier_key); it != tier_masks_.end()) {
          add(*it->second);
          std::fill(into.begin() + low, into.begin() + high + 1, nullptr);
          continue;
        }
      }
      walked_tiers.emplace_back(std::move(tier_key),
                                std::make_shared<TokenMaskWords>(vocabulary_->mask_words(), 0));
      std::fill(into.begin() + low, into.begin() + high + 1, walked_tiers.back().second.get());
    }
    // One walk for every tier not shared yet.
    while (!into.empty() && into.back() == nullptr) into.pop_back();
    if (absl::Status walked = Walk(state, into); !walked.ok()) return walked;
    for (auto& [tier_key, tier] : walked_tiers) {
      add(*tier);
      if (tier_key.empty()) continue;
      MakeRoom();
      tier_masks_.emplace(std::move(tier_key), std::move(tier));
    }
  } else if (absl::Status walked = Walk(state, into); !walked.ok()) {
    return walked;
  }
  MakeRoom();
  masks_[state] = words;
  shared_masks_.emplace(std::move(key), words);
  return std::shared_ptr<const TokenMaskWords>(std::move(words));
}

}  // namespace minimind
