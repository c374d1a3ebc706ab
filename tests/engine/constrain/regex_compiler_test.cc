#include "engine/constrain/regex_compiler.h"

#include <memory>
#include <random>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "engine/constrain/constraint.h"
#include "engine/tokenizer/utf8.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/engine/constrain/constrain_test_support.h"
#include "tests/engine/constrain/pcre2_reference.h"

namespace minimind {
namespace {

using ::minimind::testing::Accepts;
using ::minimind::testing::Pcre2FullMatcher;
using ::minimind::testing::RandomAccepted;
using ::testing::HasSubstr;

std::unique_ptr<ConstraintAutomaton> Automaton(const std::string& pattern) {
  return testing::ByteAutomaton({ConstraintKind::kRegex, pattern, {}});
}

// Strings the automaton generates all match under PCRE2, and strings PCRE2 matches (and close
// misses) are accepted exactly when PCRE2 accepts them.
TEST(RegexCompilerTest, AgreesWithPcre2) {
  const std::vector<std::string> patterns = {"abc",
                                             "a|b|cd",
                                             "(ab)*c",
                                             "a+b?c{2,4}",
                                             "[a-c]{3}",
                                             "[^a-y]x",
                                             "\\d{3}-\\d{4}",
                                             "\\w+@\\w+\\.(com|org)",
                                             "\\s*yes\\s*",
                                             "(?:red|green|blue)",
                                             "x{0,3}y{2,}",
                                             "[\\x41-\\x43]+",
                                             "é+[α-ω]{2}",
                                             "\\.\\*\\+\\?\\(\\)",
                                             "[-a]+",
                                             "[a-]+",
                                             "(a|ab)(c|bcd)",
                                             "[0-9]+(\\.[0-9]+)?",
                                             "(?<word>[a-z]+)-(?P<num>[0-9])",
                                             "(?:a{2}){2}",
                                             "[\\d\\s]+",
                                             ".{2}",
                                             "[^\\n]{1,3}",
                                             "\\x{e9}|\\x{1F600}",
                                             "^anchored$",
                                             "(true|false)",
                                             "colou?r"};
  std::mt19937_64 rng(7);
  for (const std::string& pattern : patterns) {
    SCOPED_TRACE(pattern);
    std::unique_ptr<ConstraintAutomaton> automaton = Automaton(pattern);
    ASSERT_NE(automaton, nullptr);
    Pcre2FullMatcher reference(pattern);
    ASSERT_TRUE(reference.ok());
    for (int i = 0; i < 200; ++i) {
      std::string text;
      if (!RandomAccepted(*automaton, rng, 0.3, 64, text)) continue;
      EXPECT_TRUE(reference.FullMatch(text)) << "generated \"" << text << "\"";
      // A mutation of a generated string: both must agree.
      std::string mutated = text;
      if (!mutated.empty()) {
        mutated[rng() % mutated.size()] = "ab01-.x"[rng() % 7];
      } else {
        mutated = "a";
      }
      if (!IsValidUtf8(mutated)) continue;  // PCRE2's UTF mode is defined on valid UTF-8 only
      EXPECT_EQ(Accepts(*automaton, mutated), reference.FullMatch(mutated))
          << "mutated \"" << mutated << "\"";
    }
  }
}

TEST(RegexCompilerTest, UnsupportedConstructsAreNamed) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"(a)\\1", "backreference"},
      {"a(?=b)", "lookaround"},
      {"\\bword", "word boundary"},
      {"\\p{L}", "\\p"},
      {"(?i)abc", "inline flags"},
      {"a^b", "'^' after the start"},
      {"a$b", "'$' before the end"},
      {"[[:alpha:]]", "POSIX"},
      {"a{5,2}", "m < n"},
      {"(ab", "unterminated group"},
      {"ab)", "unmatched ')'"},
      {"*a", "nothing to repeat"},
      {"[abc", "unterminated character class"},
      {"a{2}{2}", "after a quantifier"},
      {"a**", "after a quantifier"},
      {"a{99999}", "limit"},
      {"\\xZZ", "hex"}};
  for (const auto& [pattern, expected] : cases) {
    ConstraintSpec spec{ConstraintKind::kRegex, pattern, {}};
    absl::StatusOr<Grammar> grammar = CompileConstraintGrammar(spec, ConstraintLimits{});
    EXPECT_EQ(grammar.status().code(), absl::StatusCode::kInvalidArgument) << pattern;
    EXPECT_THAT(grammar.status().message(), HasSubstr(expected)) << pattern;
  }
}

TEST(RegexCompilerTest, StateLimitIsResourceExhausted) {
  ConstraintLimits limits;
  limits.max_grammar_states = 1000;
  ConstraintSpec spec{ConstraintKind::kRegex, "(abcdefgh){1,500}", {}};
  EXPECT_EQ(CompileConstraintGrammar(spec, limits).status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(RegexCompilerTest, OnlyValidUtf8IsGenerated) {
  std::unique_ptr<ConstraintAutomaton> automaton = Automaton(".{1,8}");
  std::mt19937_64 rng(3);
  for (int i = 0; i < 500; ++i) {
    std::string text;
    ASSERT_TRUE(RandomAccepted(*automaton, rng, 0.2, 64, text));
    EXPECT_TRUE(IsValidUtf8(text)) << absl::CHexEscape(text);
    EXPECT_EQ(text.find('\n'), std::string::npos);
  }
  EXPECT_FALSE(Accepts(*automaton, "\xed\xa0\x80"));  // a surrogate
  EXPECT_FALSE(Accepts(*automaton, "\xc0\xaf"));      // overlong
}

}  // namespace
}  // namespace minimind
