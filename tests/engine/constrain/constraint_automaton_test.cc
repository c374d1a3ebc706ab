#include "engine/constrain/constraint_automaton.h"

#include <memory>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/constrain/constraint.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/engine/constrain/constrain_test_support.h"

namespace minimind {
namespace {

using ::minimind::testing::ByteVocabulary;
using ::testing::HasSubstr;

bool Allowed(const TokenMaskWords& mask, TokenId id) { return (mask[id >> 6] >> (id & 63)) & 1; }

// Tokens: 256 single bytes, then "ab" (256), "abc" (257), "b" duplicate-free multi-byte tokens,
// and "é" (258, two bytes).
TEST(ConstraintAutomatonTest, MasksAllowExactlyTheTokensWhoseBytesFit) {
  ConstraintCompiler compiler(ByteVocabulary({"ab", "abc", "\xc3\xa9", "zz"}), ConstraintLimits{});
  absl::StatusOr<std::shared_ptr<ConstraintAutomaton>> automaton =
      compiler.Compile({ConstraintKind::kRegex, "ab(c|é)", {}});
  ASSERT_TRUE(automaton.ok()) << automaton.status();
  ConstraintAutomaton& a = **automaton;
  const int32_t start = *a.Start();
  std::shared_ptr<const TokenMaskWords> mask = *a.Mask(start);
  EXPECT_TRUE(Allowed(*mask, 'a'));
  EXPECT_TRUE(Allowed(*mask, 256));  // "ab"
  EXPECT_TRUE(Allowed(*mask, 257));  // "abc": the whole match
  EXPECT_FALSE(Allowed(*mask, 'b'));
  EXPECT_FALSE(Allowed(*mask, 258));
  EXPECT_FALSE(Allowed(*mask, 259));
  EXPECT_FALSE(a.Accepting(start));
  const int32_t after_ab = *a.NextToken(start, 256);
  mask = *a.Mask(after_ab);
  EXPECT_TRUE(Allowed(*mask, 'c'));
  EXPECT_TRUE(Allowed(*mask, 258));   // "é" as one token
  EXPECT_TRUE(Allowed(*mask, 0xc3));  // its first byte alone: a prefix of a valid path
  EXPECT_FALSE(Allowed(*mask, 'a'));
  const int32_t done = *a.NextToken(after_ab, 258);
  EXPECT_TRUE(a.Accepting(done));
  EXPECT_TRUE(a.Complete(done));
  EXPECT_EQ(*a.NextToken(after_ab, 'z'), ConstraintAutomaton::kDead);
  // The same constraint again comes from the cache.
  EXPECT_EQ(*compiler.Compile({ConstraintKind::kRegex, "ab(c|é)", {}}), *automaton);
  EXPECT_EQ(compiler.stats().compiled, 1);
  EXPECT_EQ(compiler.stats().cache_hits, 1);
}

TEST(ConstraintAutomatonTest, AcceptingButNotCompleteWhenMoreMayFollow) {
  ConstraintCompiler compiler(ByteVocabulary(), ConstraintLimits{});
  std::shared_ptr<ConstraintAutomaton> a =
      *compiler.Compile({ConstraintKind::kRegex, "[0-9]+", {}});
  const int32_t one = *a->Next(*a->Start(), '1');
  EXPECT_TRUE(a->Accepting(one));
  EXPECT_FALSE(a->Complete(one));
}

TEST(ConstraintAutomatonTest, ChoicesAndTheirErrors) {
  ConstraintCompiler compiler(ByteVocabulary(), ConstraintLimits{});
  std::shared_ptr<ConstraintAutomaton> a =
      *compiler.Compile({ConstraintKind::kChoice, "", {"yes", "no", "maybe"}});
  EXPECT_TRUE(testing::Accepts(*a, "maybe"));
  EXPECT_FALSE(testing::Accepts(*a, "may"));
  EXPECT_THAT(compiler.Compile({ConstraintKind::kChoice, "", {}}).status().message(),
              HasSubstr("no choices"));
  EXPECT_THAT(compiler.Compile({ConstraintKind::kChoice, "", {"a", ""}}).status().message(),
              HasSubstr("choice[1]"));
}

TEST(ConstraintAutomatonTest, ConstraintsNoTokenCanBeginAreRefused) {
  // A vocabulary with only "x": a regex of "y" cannot begin.
  auto vocabulary = std::make_shared<const TokenVocabulary>(std::vector<std::string>{"x"}, 1);
  ConstraintCompiler compiler(vocabulary, ConstraintLimits{});
  absl::StatusOr<std::shared_ptr<ConstraintAutomaton>> refused =
      compiler.Compile({ConstraintKind::kRegex, "y", {}});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("no token"));
}

TEST(ConstraintAutomatonTest, DfaStateLimitIsResourceExhausted) {
  ConstraintLimits limits;
  limits.max_dfa_states = 20;
  ConstraintCompiler compiler(ByteVocabulary(), limits);
  std::shared_ptr<ConstraintAutomaton> a =
      *compiler.Compile({ConstraintKind::kRegex, "[a-z]{0,100}", {}});
  absl::StatusOr<int32_t> state = a->Start();
  absl::Status status;
  for (int i = 0; i < 100 && state.ok(); ++i) {
    state = a->Next(*state, 'a');
  }
  EXPECT_EQ(state.status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(ConstraintAutomatonTest, MaskCacheStaysWithinItsBudget) {
  ConstraintLimits limits;
  limits.max_mask_bytes = 40;  // a mask is 4 words (256 tokens): room for one at a time
  ConstraintCompiler compiler(ByteVocabulary(), limits);
  std::shared_ptr<ConstraintAutomaton> a = *compiler.Compile({ConstraintKind::kRegex, "abc", {}});
  int32_t state = *a->Start();
  std::shared_ptr<const TokenMaskWords> first = *a->Mask(state);
  for (const char c : std::string("abc")) {
    state = *a->Next(state, c);
    ASSERT_TRUE(a->Mask(state).ok());
  }
  // The first mask was dropped from the cache but recomputes the same.
  EXPECT_EQ(**a->Mask(*a->Start()), *first);
}

}  // namespace
}  // namespace minimind

namespace minimind {
namespace {

// Shared masks (states that differ only in how far they are into a bounded repeat share the part of
// short tokens, or the whole mask when farther than the longest token from its bounds) equal the
// masks computed state by state, on every state random walks reach, for every split between
// short and long tokens: strings with min/maxLength, counted regexes (also of copies that may be
// empty, nested, and next to their bounds) and arrays of bounded length.
TEST(ConstraintAutomatonTest, SharedMasksEqualMasksComputedAlone) {
  std::vector<std::string> tokens = {
      "ab", "aaa", "\"}", "a\",", "aaaa\"",     "\":1",       "b\"",      "\\\"",        "1,2",
      "é",  "éé",  "xyz", "a\"}", "aaaaaaaaaa", "ababababab", "ééééé\"}", "aaaaaaa\",\""};
  const std::shared_ptr<const TokenVocabulary> vocabulary =
      testing::ByteVocabulary(std::move(tokens));
  const std::vector<ConstraintSpec> specs = {
      {ConstraintKind::kJsonSchema,
       R"({"type":"object","properties":{"s":{"type":"string","minLength":3,"maxLength":30},
           "t":{"type":"string","maxLength":12},"n":{"type":"array","items":{"type":"integer"},
           "maxItems":9}},"required":["s","t"]})",
       {}},
      {ConstraintKind::kRegex, "a{5,40}b", {}},
      {ConstraintKind::kRegex, "(a?){3,25}\"", {}},
      {ConstraintKind::kRegex, "((ab){2,6}x){1,9}", {}},
      {ConstraintKind::kRegex, "[aé]{0,50}", {}},
  };
  for (const ConstraintSpec& spec : specs) {
    for (const int64_t split : {1, 2, 3, 6, 0}) {
      SCOPED_TRACE(absl::StrCat(spec.text, " first_tier_bytes=", split));
      ConstraintLimits shared_limits;
      shared_limits.first_tier_bytes = split;
      ConstraintLimits alone_limits;
      alone_limits.share_masks = false;
      absl::StatusOr<Grammar> g1 = CompileConstraintGrammar(spec, shared_limits);
      absl::StatusOr<Grammar> g2 = CompileConstraintGrammar(spec, alone_limits);
      ASSERT_TRUE(g1.ok() && g2.ok());
      ConstraintAutomaton shared(*std::move(g1), vocabulary, shared_limits);
      ConstraintAutomaton alone(*std::move(g2), vocabulary, alone_limits);
      std::mt19937_64 rng(17);
      int compared = 0;
      for (int walk = 0; walk < 150; ++walk) {
        int32_t a = *shared.Start();
        int32_t b = *alone.Start();
        for (int step = 0; step < 80 && !shared.Complete(a); ++step) {
          const std::shared_ptr<const TokenMaskWords> mask = *shared.Mask(a);
          ASSERT_EQ(*mask, **alone.Mask(b)) << "walk " << walk << " step " << step;
          ++compared;
          std::vector<TokenId> allowed;
          for (TokenId id = 0; id < vocabulary->num_tokens(); ++id) {
            if (((*mask)[id >> 6] >> (id & 63)) & 1) allowed.push_back(id);
          }
          if (allowed.empty()) break;
          const TokenId id = allowed[rng() % allowed.size()];
          a = *shared.NextToken(a, id);
          b = *alone.NextToken(b, id);
          ASSERT_NE(a, ConstraintAutomaton::kDead);
          ASSERT_NE(b, ConstraintAutomaton::kDead);
        }
      }
      EXPECT_GT(compared, 300);
    }
  }
}

}  // namespace
}  // namespace minimind
