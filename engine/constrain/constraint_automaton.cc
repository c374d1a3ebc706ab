#include "engine/constrain/constraint_automaton.h"

#include <algorithm>
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
    : grammar_(std::move(grammar)), vocabulary_(std::move(vocabulary)), limits_(limits) {}

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
  absl::flat_hash_set<uint64_t> seen;
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
  if (static_cast<int64_t>(states_.size()) >= limits_.max_dfa_states) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the constraint needed more than ", limits_.max_dfa_states,
                     " automaton states for this output; simplify it or lower max_tokens"));
  }
  const int32_t id = static_cast<int32_t>(states_.size());
  states_.push_back(DfaState{key.first, accepting, {}});
  index_.emplace(std::move(key), id);
  transitions_.resize(transitions_.size() + 256, kUnknown);
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
  const int32_t cached = transitions_[static_cast<size_t>(state) * 256 + byte];
  if (cached != kUnknown) return cached;
  const std::vector<Grammar::State>& states = grammar_.states();
  std::vector<uint64_t> seeds;
  for (const uint64_t configuration : states_[state].configurations) {
    for (const Grammar::Edge& edge : states[StateOf(configuration)].edges) {
      if (edge.lo <= byte && byte <= edge.hi) {
        seeds.push_back(Pack(edge.target, StackOf(configuration)));
      }
    }
  }
  if (seeds.empty()) {
    transitions_[static_cast<size_t>(state) * 256 + byte] = kDead;
    return kDead;
  }
  std::sort(seeds.begin(), seeds.end());
  seeds.erase(std::unique(seeds.begin(), seeds.end()), seeds.end());
  int32_t next;
  if (auto it = states_[state].by_seeds.find(seeds); it != states_[state].by_seeds.end()) {
    next = it->second;
  } else {
    absl::StatusOr<int32_t> closed = Close(seeds);
    if (!closed.ok()) return closed.status();
    next = *closed;
    states_[state].by_seeds.emplace(std::move(seeds), next);  // states_ may have grown: index again
  }
  // Close may have grown transitions_: index again.
  transitions_[static_cast<size_t>(state) * 256 + byte] = next;
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

std::vector<uint64_t> ConstraintAutomaton::MaskKey(int32_t state) {
  const std::vector<Grammar::State>& states = grammar_.states();
  // Any input a token can be is at most this long: farther bounds are out of its reach.
  const int64_t horizon = vocabulary_->max_token_bytes() + 1;
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

absl::StatusOr<std::shared_ptr<const TokenMaskWords>> ConstraintAutomaton::Mask(int32_t state) {
  absl::MutexLock lock(&mutex_);
  if (state < 0) return std::make_shared<const TokenMaskWords>(vocabulary_->mask_words(), 0);
  if (masks_[state] != nullptr) return masks_[state];
  std::vector<uint64_t> key;
  if (limits_.share_masks) {
    key = MaskKey(state);
    if (auto it = shared_masks_.find(key); it != shared_masks_.end()) {
      masks_[state] = it->second;
      return it->second;
    }
  }
  auto words = std::make_shared<TokenMaskWords>(vocabulary_->mask_words(), 0);
  const std::vector<TokenVocabulary::Node>& nodes = vocabulary_->nodes();
  const std::vector<uint8_t>& child_bytes = vocabulary_->child_bytes();
  const std::vector<int32_t>& child_nodes = vocabulary_->child_nodes();
  // Depth-first over (trie node, DFA state) pairs whose bytes the grammar allows so far.
  std::vector<std::pair<int32_t, int32_t>> pending = {{0, state}};
  while (!pending.empty()) {
    const auto [node_id, at] = pending.back();
    pending.pop_back();
    const TokenVocabulary::Node& node = nodes[node_id];
    for (int32_t slot = node.first_child; slot < node.first_child + node.num_children; ++slot) {
      absl::StatusOr<int32_t> next = NextLocked(at, child_bytes[slot]);
      if (!next.ok()) return next.status();
      if (*next == kDead) continue;
      const TokenVocabulary::Node& child = nodes[child_nodes[slot]];
      for (const TokenId id : vocabulary_->tokens_at(child)) {
        (*words)[id >> 6] |= uint64_t{1} << (id & 63);
      }
      if (child.num_children > 0) pending.emplace_back(child_nodes[slot], *next);
    }
  }
  const int64_t bytes = static_cast<int64_t>(words->size() * sizeof(uint64_t));
  if (mask_bytes_ + bytes > limits_.max_mask_bytes) {
    for (auto& kept : masks_) kept.reset();
    shared_masks_.clear();
    mask_bytes_ = 0;
  }
  mask_bytes_ += bytes;
  masks_[state] = words;
  if (limits_.share_masks) shared_masks_.emplace(std::move(key), words);
  return std::shared_ptr<const TokenMaskWords>(std::move(words));
}

}  // namespace minimind
