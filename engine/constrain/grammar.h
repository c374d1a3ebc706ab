// Grammar: what a constraint (constraint.h) allows the model to write, as a recursive transition
// network over bytes. A set of rules, each a small NFA whose states have byte-range edges, epsilon
// edges, a call of another rule (the rule runs, then the state's `call_return` continues) or the
// rule's end. Calls make the network context-free: JSON of any nesting depth, recursive $refs. Its
// output is bytes; every constraint here allows only valid UTF-8.
//
// GrammarBuilder makes one in Thompson style: fragments with one start and one end state, joined
// by epsilon edges. Fragments are consumed by the operation that takes them (a fragment is used
// once; to repeat one, build it again). Every builder operation checks the state limit: beyond
// it the builder stops adding states and Build returns ResourceExhausted.
#ifndef MINIMIND_ENGINE_CONSTRAIN_GRAMMAR_H_
#define MINIMIND_ENGINE_CONSTRAIN_GRAMMAR_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace minimind {

class Grammar {
 public:
  struct Edge {
    uint8_t lo;
    uint8_t hi;  // inclusive
    int32_t target;
  };
  struct State {
    std::vector<Edge> edges;
    std::vector<int32_t> epsilon;
    int32_t call = -1;  // a rule: it runs from here, then call_return continues
    int32_t call_return = -1;
    bool rule_end = false;  // its rule ends here
    // Set on the states of a copy made by GrammarBuilder::Repeat with a bound (the innermost
    // repeat wins): which repeat, the copy's position in it, and the state's offset inside the
    // copy. Copies are built alike, so two states with the same group and offset whose positions
    // are far enough from both bounds behave alike for any short input (ConstraintAutomaton
    // shares their token masks).
    int32_t repeat_group = -1;
    int32_t repeat_position = 0;
    int32_t repeat_offset = 0;
  };
  struct RepeatBounds {
    int64_t min = 0;
    int64_t max = -1;  // -1: unbounded
  };

  const std::vector<State>& states() const { return states_; }
  int32_t rule_start(int32_t rule) const { return rule_starts_[rule]; }
  int32_t root_rule() const { return root_rule_; }
  int64_t num_rules() const { return static_cast<int64_t>(rule_starts_.size()); }
  const RepeatBounds& repeat_bounds(int32_t group) const { return repeat_bounds_[group]; }

 private:
  friend class GrammarBuilder;
  std::vector<State> states_;
  std::vector<int32_t> rule_starts_;
  std::vector<RepeatBounds> repeat_bounds_;
  int32_t root_rule_ = 0;
};

// A code point range [lo, hi] (inclusive) of Unicode scalar values.
struct CodePointRange {
  uint32_t lo;
  uint32_t hi;
};

class GrammarBuilder {
 public:
  struct Fragment {
    int32_t start = -1;
    int32_t end = -1;
  };

  explicit GrammarBuilder(int64_t max_states) : max_states_(max_states) {}

  // Matches the empty string.
  Fragment Empty();
  // One byte in [lo, hi].
  Fragment ByteRange(uint8_t lo, uint8_t hi);
  // These bytes, in order.
  Fragment Literal(absl::string_view bytes);
  // One UTF-8 encoded character whose code point is in one of `ranges` (surrogates never).
  Fragment CodePoints(absl::Span<const CodePointRange> ranges);
  // Any one valid UTF-8 character except those in `excluded`.
  Fragment CodePointsExcept(absl::Span<const CodePointRange> excluded);
  Fragment Concat(Fragment a, Fragment b);
  Fragment Concat(absl::Span<const Fragment> parts);
  Fragment Alternatives(absl::Span<const Fragment> options);
  Fragment Optional(Fragment f);
  Fragment Star(Fragment f);
  Fragment Plus(Fragment f);
  // make(){min,max}: `min` fragments from `make`, then up to max - min more, each optional
  // (max < 0: any number more). Calls `make` once per copy (a fragment is used once).
  Fragment Repeat(const std::function<Fragment()>& make, int64_t min, int64_t max);
  // Joins two places: whatever ends `from` may continue with `to` (for junction fragments made by
  // Empty() and used in several places, e.g. an object's "before property i").
  void Connect(Fragment from, Fragment to) { AddEpsilon(from.end, to.start); }

  // Rules: NewRule reserves an id (so rules may call each other, recursively), DefineRule gives
  // it its body (exactly once), Call matches the rule's body where it stands.
  int32_t NewRule();
  void DefineRule(int32_t rule, Fragment body);
  Fragment Call(int32_t rule);

  int64_t num_states() const { return static_cast<int64_t>(grammar_.states_.size()); }
  bool over_limit() const { return over_limit_; }

  // The grammar rooted at `root`. ResourceExhausted past max_states; Internal for a rule never
  // defined.
  absl::StatusOr<Grammar> Build(int32_t root) &&;

 private:
  int32_t NewState();
  void AddEpsilon(int32_t from, int32_t to);
  void AddEdge(int32_t from, uint8_t lo, uint8_t hi, int32_t to);
  // UTF-8 sequences of the code points in [lo, hi] from `from` to `to`.
  void AddCodePointRange(int32_t from, uint32_t lo, uint32_t hi, int32_t to);

  int64_t max_states_;
  bool over_limit_ = false;
  Grammar grammar_;
  // A scratch state absorbs operations once over the limit, so callers need no checks.
  int32_t scratch_ = -1;
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_CONSTRAIN_GRAMMAR_H_
