// ConstraintAutomaton: a Grammar (grammar.h) run over bytes as a DFA built lazily, and the set of
// tokens (TokenVocabulary) each DFA state allows: the token mask applied before sampling.
//
// A DFA state is the set of the grammar's configurations — (NFA state, call stack) — reachable
// after the bytes so far, closed over epsilon edges, calls (push the return state) and rule ends
// (pop). Stacks are interned as a tree, so a configuration is two ints. States and their byte
// transitions are made on first use and kept; a state's token mask is computed on first use by
// walking the token trie through the DFA (a token is allowed when every one of its bytes is) and
// kept too, within a byte budget (past it the kept masks are dropped and recomputed on demand).
// States that differ only by their position in a bounded repeat (the n-th character of a
// maxLength string) share masks by tiers of token length: a tier is walked once for all positions
// farther than its longest token from the bounds, so a new position walks only the tiers it
// cannot share (its longest tokens, or near a bound the longer tiers).
// Precompute makes the states nearest the start and their masks ahead of use, within a budget (the
// compiler calls it, so that the engine thread finds most masks made).
// Everything depends only on the grammar and the vocabulary: the same bytes reach the same state
// and the same mask in any order of use, so constrained sampling stays deterministic alone or
// batched.
//
// Limits: more than max_states DFA states is ResourceExhausted (the request fails with a message;
// the automaton stays usable for the states it has); calls nested deeper than max_depth are not
// followed (JSON nested deeper than that is not generated).
//
// Thread-safety: every method is safe to call concurrently (one mutex); the engine thread is the
// only caller in practice.
#ifndef MINIMIND_ENGINE_CONSTRAIN_CONSTRAINT_AUTOMATON_H_
#define MINIMIND_ENGINE_CONSTRAIN_CONSTRAINT_AUTOMATON_H_

#include <array>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "engine/constrain/grammar.h"
#include "engine/constrain/token_vocabulary.h"

namespace minimind {

struct ConstraintLimits {
  int64_t max_grammar_states = 200000;
  int64_t max_dfa_states = 50000;
  int max_depth = 64;
  int64_t max_mask_bytes = int64_t{64} << 20;
  // States that differ only in how far they are into a bounded repeat (a maxLength string's
  // characters) allow the same tokens of n bytes when both are more than n from the repeat's
  // bounds: masks are shared — whole beyond the longest token, else by tiers of token length
  // (false only in tests, to compare).
  bool share_masks = true;
  // The tiers: (0, n], (n, 2n], (2n, 4n], ... bytes with n this (tests set others).
  int64_t first_tier_bytes = 1;
  // Compiling computes masks ahead (ConstraintAutomaton::Precompute) on the compiling thread, so
  // that the engine thread meets few new states: at most this many trie nodes walked (about
  // 10 ns each), max_dfa_states / 8 states and half of max_mask_bytes. 0: none ahead.
  int64_t precompute_trie_nodes = 8000000;
};

// A token mask: bit `id` of `words` set = token allowed. Shared, immutable.
using TokenMaskWords = std::vector<uint64_t>;

class ConstraintAutomaton {
 public:
  static constexpr int32_t kDead = -1;

  ConstraintAutomaton(Grammar grammar, std::shared_ptr<const TokenVocabulary> vocabulary,
                      ConstraintLimits limits);
  ConstraintAutomaton(const ConstraintAutomaton&) = delete;
  ConstraintAutomaton& operator=(const ConstraintAutomaton&) = delete;

  // The state before any byte.
  absl::StatusOr<int32_t> Start();
  // The state after `byte` (kDead when the grammar does not allow it).
  absl::StatusOr<int32_t> Next(int32_t state, uint8_t byte);
  // The state after token `id`'s bytes (kDead when not allowed; added tokens never are).
  absl::StatusOr<int32_t> NextToken(int32_t state, TokenId id);
  // The bytes so far are a complete match.
  bool Accepting(int32_t state);
  // Accepting, and no byte may follow: the output is finished.
  bool Complete(int32_t state);
  // The tokens allowed in `state` (the end-of-sequence ids are not in it: allow them when
  // Accepting).
  absl::StatusOr<std::shared_ptr<const TokenMaskWords>> Mask(int32_t state);
  // Computes the masks of the states nearest the start (breadth-first over bytes) within the
  // budget of ConstraintLimits::precompute_trie_nodes; returns how many states have a mask. The
  // states and masks are those any later use would make (same bytes, same mask), so only where
  // the time is spent changes. Never fails: past a budget or a limit it stops.
  int64_t Precompute();

  const TokenVocabulary& vocabulary() const { return *vocabulary_; }
  int64_t num_states();
  // Trie nodes walked for masks so far (the work Mask and Precompute did).
  int64_t walked_trie_nodes();
  // The memory the automaton holds now: its states, transitions and kept masks (bytes, about).
  int64_t held_bytes();

 private:
  struct DfaState {
    std::vector<uint64_t> configurations;  // with byte edges only, sorted
    bool accepting = false;
  };
  using Key = std::pair<std::vector<uint64_t>, bool>;

  absl::StatusOr<int32_t> StartLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  absl::StatusOr<int32_t> NextLocked(int32_t state, uint8_t byte)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  absl::StatusOr<std::shared_ptr<const TokenMaskWords>> MaskLocked(int32_t state)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // The DFA state of the closure of `seeds` (ResourceExhausted past state_limit_ states).
  absl::StatusOr<int32_t> Close(std::vector<uint64_t> seeds) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  int32_t PushStack(int32_t stack, int32_t return_state) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // The configurations of `state` with repeat positions capped at `horizon` from the bounds:
  // states with equal keys allow the same tokens of fewer than `horizon` bytes.
  std::vector<uint64_t> MaskKey(int32_t state, int64_t horizon)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Sets the tokens allowed in `state` of n bytes in *into_by_bytes[n] (none where nullptr): a
  // walk of the token trie through the DFA.
  absl::Status Walk(int32_t state, absl::Span<TokenMaskWords* const> into_by_bytes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Accounts for one more kept mask within the masks' byte budget (past it, drops every kept
  // mask first).
  void MakeRoom() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const Grammar grammar_;
  const std::shared_ptr<const TokenVocabulary> vocabulary_;
  const ConstraintLimits limits_;

  absl::Mutex mutex_;
  int32_t start_ ABSL_GUARDED_BY(mutex_) = -2;  // -2: not made yet
  // limits_.max_dfa_states, or Precompute's lower cap while it runs.
  int64_t state_limit_ ABSL_GUARDED_BY(mutex_);
  int64_t walked_trie_nodes_ ABSL_GUARDED_BY(mutex_) = 0;
  // States by the configurations a byte led to before closure: the bytes that behave alike, from
  // this state or any other, share one closure.
  absl::flat_hash_map<std::vector<uint64_t>, int32_t> closures_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_set<uint64_t> close_seen_ ABSL_GUARDED_BY(mutex_);  // Close's scratch
  std::vector<DfaState> states_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_map<Key, int32_t> index_ ABSL_GUARDED_BY(mutex_);
  // Bytes by class (byte_class_[b] < num_classes_): bytes of a class move every state alike.
  std::array<uint8_t, 256> byte_class_;
  int32_t num_classes_ = 0;
  // num_classes_ per state: the next state, kDead, or kUnknown.
  std::vector<int32_t> transitions_ ABSL_GUARDED_BY(mutex_);
  std::vector<std::shared_ptr<const TokenMaskWords>> masks_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_map<std::vector<uint64_t>, std::shared_ptr<const TokenMaskWords>> shared_masks_
      ABSL_GUARDED_BY(mutex_);
  // By tier (the last element: the tier's longest token bytes).
  absl::flat_hash_map<std::vector<uint64_t>, std::shared_ptr<const TokenMaskWords>> tier_masks_
      ABSL_GUARDED_BY(mutex_);
  int64_t mask_bytes_ ABSL_GUARDED_BY(mutex_) = 0;
  // Of states_: each DfaState and its configurations (kept as states are added, so held_bytes
  // is O(1): the compiler asks it of every cached automaton at each compile).
  int64_t state_bytes_ ABSL_GUARDED_BY(mutex_) = 0;
  // Interned call stacks: id 0 is the empty stack; others are (parent, return state).
  std::vector<std::pair<int32_t, int32_t>> stacks_ ABSL_GUARDED_BY(mutex_) = {{-1, -1}};
  std::vector<int32_t> stack_depths_ ABSL_GUARDED_BY(mutex_) = {0};
  absl::flat_hash_map<std::pair<int32_t, int32_t>, int32_t> stack_index_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_CONSTRAIN_CONSTRAINT_AUTOMATON_H_
