#include "engine/constrain/ebnf_compiler.h"

#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "engine/constrain/constraint.h"
#include "engine/tokenizer/utf8.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/engine/constrain/constrain_test_support.h"
#include "tests/engine/constrain/pcre2_reference.h"

namespace minimind {
namespace {

using ::minimind::testing::Accepts;
using ::minimind::testing::ByteVocabulary;
using ::minimind::testing::Pcre2FullMatcher;
using ::minimind::testing::RandomAccepted;
using ::testing::HasSubstr;

std::unique_ptr<ConstraintAutomaton> Automaton(const std::string& grammar) {
  return testing::ByteAutomaton({ConstraintKind::kGrammar, grammar, {}});
}

// Each grammar with the same language written by hand for PCRE2 (recursive ones through named
// groups and (?&name) calls): strings the automaton generates all match under PCRE2, and mutated
// strings are accepted exactly when PCRE2 accepts them.
TEST(EbnfCompilerTest, AgreesWithPcre2) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"x(root ::= greeting ", " name "!"   # a comment
          greeting ::= "Hello" | "Hi"
          name ::= [A-Z] [a-z]{1,5})x",
       "(?:Hello|Hi), [A-Z][a-z]{1,5}!"},
      // Recursive: arithmetic with nested parentheses.
      {R"x(root ::= expr
          expr ::= term (("+" | "-") term)*
          term ::= factor ([*/] factor)*
          factor ::= [0-9]+ | "(" expr ")")x",
       R"x((?(DEFINE)(?<expr>(?&term)(?:[+-](?&term))*)(?<term>(?&factor)(?:[*/](?&factor))*)(?<factor>[0-9]+|\((?&expr)\)))(?&expr))x"},
      // Balanced brackets of two kinds.
      {R"x(root ::= item*
          item ::= "(" item* ")" | "[" item* "]")x",
       R"x((?(DEFINE)(?<item>\((?&item)*\)|\[(?&item)*\]))(?&item)*)x"},
      // Quantifiers, `.`, escapes in literals, negated classes, an empty alternative; a body
      // over several lines.
      {R"x(root ::=
            "\x41\u00e9" [^a-c\n]{2,3} . "\t"?
            ( "x" | ) "y"+ "z"{2} ("w"{1,})?)x",
       "A\\x{e9}[^a-c\\n]{2,3}(?s:.)\\t?(?:x|)y+z{2}(?:w{1,})?"},
      {R"x(root ::= "yes" | "no" | "maybe")x", "yes|no|maybe"},
      // A rule used before it is defined, names with '-' and '_'.
      {R"x(root ::= list-of_words
          list-of_words ::= word (" " word){0,3}
          word ::= [a-z]+)x",
       "[a-z]+(?: [a-z]+){0,3}"},
  };
  std::mt19937_64 rng(11);
  for (const auto& [grammar, pattern] : cases) {
    SCOPED_TRACE(grammar);
    std::unique_ptr<ConstraintAutomaton> automaton = Automaton(grammar);
    ASSERT_NE(automaton, nullptr);
    Pcre2FullMatcher reference(pattern);
    ASSERT_TRUE(reference.ok()) << pattern;
    int generated = 0;
    for (int i = 0; i < 300; ++i) {
      std::string text;
      if (!RandomAccepted(*automaton, rng, 0.3, 80, text)) continue;
      ++generated;
      EXPECT_TRUE(reference.FullMatch(text)) << "generated \"" << absl::CHexEscape(text) << "\"";
      std::string mutated = text.empty() ? "(" : text;
      mutated[rng() % mutated.size()] = "(+)1a[] xHiz"[rng() % 12];
      if (!IsValidUtf8(mutated)) continue;
      EXPECT_EQ(Accepts(*automaton, mutated), reference.FullMatch(mutated))
          << "mutated \"" << absl::CHexEscape(mutated) << "\"";
    }
    EXPECT_GT(generated, 100);
  }
}

// A JSON grammar in the style of llama.cpp's json.gbnf (written here): every output parses.
TEST(EbnfCompilerTest, JsonGrammarOutputsParse) {
  std::unique_ptr<ConstraintAutomaton> automaton = Automaton(R"x(
    root   ::= object
    value  ::= object | array | string | number | ("true" | "false" | "null") ws
    object ::= "{" ws ( string ":" ws value ("," ws string ":" ws value)* )? "}" ws
    array  ::= "[" ws ( value ("," ws value)* )? "]" ws
    string ::= "\"" ( [^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4}) )* "\"" ws
    number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9]{1,2})? ws
    ws     ::= | " " | "\n" [ \t]{0,20}
  )x");
  ASSERT_NE(automaton, nullptr);
  std::mt19937_64 rng(5);
  int parsed = 0;
  for (int i = 0; i < 300; ++i) {
    std::string text;
    if (!RandomAccepted(*automaton, rng, 0.5, 400, text)) continue;
    EXPECT_FALSE(nlohmann::json::parse(text, nullptr, false).is_discarded()) << text;
    EXPECT_TRUE(nlohmann::json::parse(text, nullptr, false).is_object()) << text;
    ++parsed;
  }
  EXPECT_GT(parsed, 100);
  EXPECT_TRUE(Accepts(*automaton, R"x({"a": [1, -2.5e3, true, {"b": "\u00e9\n"}]})x"));
  EXPECT_FALSE(Accepts(*automaton, R"x({"a": 01})x"));
}

TEST(EbnfCompilerTest, ErrorsNameWhatIsWrong) {
  std::string many_rules = "root ::= r0\n";
  for (int i = 0; i < 1000; ++i) absl::StrAppend(&many_rules, "r", i, " ::= \"x\"\n");
  std::string deep = "root ::= ";
  for (int i = 0; i < 65; ++i) deep += "(";
  deep += "\"a\"";
  for (int i = 0; i < 65; ++i) deep += ")";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "grammar is empty"},
      {"  # only a comment\n", "grammar is empty"},
      {"start ::= \"a\"", "no rule \"root\""},
      {"root ::= missing", "rule \"missing\" is used (byte 9) but never defined"},
      {"root ::= \"a\"\nroot ::= \"b\"", "rule \"root\" is defined twice"},
      {"root ::= root \"a\" | \"a\"", "rule \"root\" can reach itself"},
      {"root ::= a\na ::= \"x\"? b\nb ::= \"\" a \"y\"", "left recursion"},
      {"root ::= \"abc", "closing '\"'"},
      {"root ::= [abc", "closing ']'"},
      {"root ::= [z-a]", "the class at byte 9"},
      {"root ::= \"a\"{1001}", "exceeds 1000"},
      {"root ::= \"a\"{3,2}", "maximum below its minimum"},
      {"root ::= \"a\"**", "one quantifier per item"},
      {"root ::= \"\\q\"", "an escape of"},
      {"root ::= \"\\uD800\"", "not a Unicode scalar value"},
      {"root ::= \"\\xZZ\"", "hexadecimal digits"},
      {"root \"a\"", "\"::=\" after the rule name"},
      {"root ::= (\"a\"", "')'"},
      {"root ::= \"a\" )", "a rule name"},
      {"root ::= @", "a literal, a class"},
      {many_rules, "more than 1000 rules"},
      {deep, "nests groups deeper than 64"},
  };
  for (const auto& [grammar, expected] : cases) {
    SCOPED_TRACE(grammar.substr(0, 80));
    absl::StatusOr<Grammar> compiled =
        CompileConstraintGrammar({ConstraintKind::kGrammar, grammar, {}}, ConstraintLimits{});
    EXPECT_EQ(compiled.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(compiled.status().message(), HasSubstr(expected));
  }
}

TEST(EbnfCompilerTest, StateLimitIsResourceExhausted) {
  ConstraintLimits limits;
  limits.max_grammar_states = 1000;
  EXPECT_EQ(CompileConstraintGrammar(
                {ConstraintKind::kGrammar, "root ::= (\"abcdefgh\" [0-9]){1,500}", {}}, limits)
                .status()
                .code(),
            absl::StatusCode::kResourceExhausted);
}

// Through the compiler and its masks with multi-byte tokens, as the engine uses it.
TEST(EbnfCompilerTest, CompiledConstraintMasksTokens) {
  ConstraintCompiler compiler(ByteVocabulary({"Hello", "Hi, ", "Bob!", "Hello, "}),
                              ConstraintLimits{});
  absl::StatusOr<std::shared_ptr<ConstraintAutomaton>> automaton = compiler.Compile(
      {ConstraintKind::kGrammar, R"x(root ::= ("Hello" | "Hi") ", " [A-Z][a-z]+ "!")x", {}});
  ASSERT_TRUE(automaton.ok()) << automaton.status();
  ConstraintAutomaton& a = **automaton;
  const std::shared_ptr<const TokenMaskWords> mask = *a.Mask(*a.Start());
  const auto allowed = [&](TokenId id) { return ((*mask)[id >> 6] >> (id & 63)) & 1; };
  EXPECT_TRUE(allowed(256));   // "Hello"
  EXPECT_TRUE(allowed(257));   // "Hi, "
  EXPECT_FALSE(allowed(258));  // "Bob!"
  EXPECT_TRUE(allowed(259));   // "Hello, "
  EXPECT_FALSE(allowed('B'));
  const int32_t after = *a.NextToken(*a.Start(), 259);
  EXPECT_TRUE(a.Complete(*a.NextToken(after, 258)));
}

}  // namespace
}  // namespace minimind
