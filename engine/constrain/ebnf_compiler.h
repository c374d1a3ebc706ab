// EBNF grammars to a Grammar: the `grammar` constraint. The syntax is the core of llama.cpp's GBNF,
// so grammars written for it work here unchanged when they keep to this subset:
//
//   root     ::= greeting ", " name "!"     # `root` is where the output starts
//   greeting ::= "Hello" | "Hi"             # comments run to the end of the line
//   name     ::= [A-Z] [a-z]{1,15}
//
// A rule is `name ::= body` (names: ASCII letters, digits, `-`, `_`); a body runs until the next
// `name ::=` (so it may span lines). A body is alternatives `a | b` of sequences of items, each
// optionally followed by one quantifier `*`, `+`, `?`, `{n}`, `{n,}` or `{n,m}`. Items:
//   "text"    a literal (escapes \n \r \t \\ \" \' \[ \] \xHH \uHHHH \UHHHHHHHH; UTF-8 text)
//   [...]     a character class, as in the regex constraint: ranges, `^` to negate, escapes
//   .         any one character
//   name      a rule (rules may call each other and themselves: any nesting)
//   ( body )  a group
// Refused with InvalidArgument naming the rule or the byte offset, never ignored: a rule referenced
// but never defined, a rule defined twice, no `root`, left recursion (a rule that can reach itself
// before writing anything; write it with repetition instead), a bound past max_repeat, groups
// nested past max_nesting, malformed literals or classes.
#ifndef MINIMIND_ENGINE_CONSTRAIN_EBNF_COMPILER_H_
#define MINIMIND_ENGINE_CONSTRAIN_EBNF_COMPILER_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/constrain/grammar.h"

namespace minimind {

struct EbnfLimits {
  int max_repeat = 1000;  // largest n or m in {n,m}
  int max_nesting = 64;   // groups within groups
  int max_rules = 1000;
  int64_t max_grammar_states = 200000;
};

// The grammar rooted at rule `root`. InvalidArgument for a malformed or unsupported grammar;
// ResourceExhausted past max_grammar_states.
absl::StatusOr<Grammar> CompileEbnf(absl::string_view text, const EbnfLimits& limits = {});

}  // namespace minimind

#endif  // MINIMIND_ENGINE_CONSTRAIN_EBNF_COMPILER_H_
