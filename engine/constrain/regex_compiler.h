// Regular expressions to grammar fragments: the `regex` constraint, JSON Schema `pattern`, and
// string formats. The pattern must match the whole output (as if anchored at both ends; a leading
// `^` and trailing `$` are accepted and change nothing).
//
// Supported (PCRE/ECMAScript syntax): literals (UTF-8), `.` (any character but newline), classes
// `[a-z]`, `[^...]` (over Unicode code points), `\d \D \w \W \s \S` (ASCII meanings), escapes
// `\n \r \t \f \v \0 \xHH \x{H...} \uHHHH` and escaped punctuation, groups `(...)`, `(?:...)`,
// `(?<name>...)`, `(?P<name>...)`, alternation `|`, quantifiers `* + ? {n} {n,} {n,m}` (lazy `?`
// and possessive `+` suffixes are accepted: for a full match they change nothing). Anything else
// (backreferences, lookaround, `\b`, `\p{...}`, inline flags, anchors elsewhere) is
// InvalidArgument naming the construct and its offset, never ignored.
#ifndef MINIMIND_ENGINE_CONSTRAIN_REGEX_COMPILER_H_
#define MINIMIND_ENGINE_CONSTRAIN_REGEX_COMPILER_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/constrain/grammar.h"

namespace minimind {

struct RegexOptions {
  // Inside a JSON string: characters that need escaping there are written escaped (`\"`, `\\`),
  // control characters are never generated.
  bool json_string = false;
  int max_repeat = 1000;  // largest n or m in {n,m}
  int max_pattern_bytes = 16384;
  int max_nesting = 64;  // groups within groups
};

// The pattern's fragment in `builder`. InvalidArgument for a malformed or unsupported pattern,
// naming the byte offset.
absl::StatusOr<GrammarBuilder::Fragment> CompileRegex(absl::string_view pattern,
                                                      GrammarBuilder& builder,
                                                      const RegexOptions& options = {});

}  // namespace minimind

#endif  // MINIMIND_ENGINE_CONSTRAIN_REGEX_COMPILER_H_
