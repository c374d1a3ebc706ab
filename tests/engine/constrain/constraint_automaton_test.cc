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

// Walks `a` and `b` (the same constraint) through the same random tokens, comparing every mask.
int CompareMasksOnRandomWalks(ConstraintAutomaton& a, ConstraintAutomaton& b, int walks) {
  const TokenVocabulary& vocabulary = a.vocabulary();
  std::mt19937_64 rng(29);
  int compared = 0;
  for (int walk = 0; walk < walks; ++walk) {
    int32_t x = *a.Start();
    int32_t y = *b.Start();
    for (int step = 0; step < 80 && !a.Complete(x); ++step) {
      const std::shared_ptr<const TokenMaskWords> mask = *a.Mask(x);
      EXPECT_EQ(*mask, **b.Mask(y)) << "walk " << walk << " step " << step;
      ++compared;
      std::vector<TokenId> allowed;
      for (TokenId id = 0; id < vocabulary.num_tokens(); ++id) {
        if (Allowed(*mask, id)) allowed.push_back(id);
      }
      if (allowed.empty()) break;
      const TokenId id = allowed[rng() % allowed.size()];
      x = *a.NextToken(x, id);
      y = *b.NextToken(y, id);
      if (x == ConstraintAutomaton::kDead || y == ConstraintAutomaton::kDead) {
        ADD_FAILURE() << "a token of the mask led nowhere";
        return compared;
      }
    }
  }
  return compared;
}

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
      const int compared = CompareMasksOnRandomWalks(shared, alone, 150);
      EXPECT_GT(compared, 300);
    }
  }
}

// Compiling computes masks ahead (breadth-first from the start); they are the masks first use
// makes, and a constraint small enough for the budget leaves nothing to walk for its requests.
TEST(ConstraintAutomatonTest, PrecomputedMasksEqualMasksMadeOnFirstUse) {
  const std::shared_ptr<const TokenVocabulary> vocabulary =
      testing::ByteVocabulary({"ab", "a\"", "\"}", "é", "éé\"", "aaaaaa", ",\"t\":\"", "12"});
  const ConstraintSpec spec{ConstraintKind::kJsonSchema,
                            R"({"type":"object","properties":{
      "s":{"type":"string","minLength":2,"maxLength":20},"t":{"type":"string"},
      "n":{"type":"integer"}},"required":["s","t","n"]})",
                            {}};
  ConstraintLimits lazy_limits;
  lazy_limits.precompute_trie_nodes = 0;
  ConstraintCompiler ahead_compiler(vocabulary, ConstraintLimits{});
  ConstraintCompiler lazy_compiler(vocabulary, lazy_limits);
  std::shared_ptr<ConstraintAutomaton> ahead = *ahead_compiler.Compile(spec);
  std::shared_ptr<ConstraintAutomaton> lazy = *lazy_compiler.Compile(spec);
  EXPECT_GT(ahead->num_states(), 100);
  const int64_t walked_at_compile = ahead->walked_trie_nodes();
  EXPECT_GT(CompareMasksOnRandomWalks(*ahead, *lazy, 100), 1000);
  EXPECT_EQ(ahead->walked_trie_nodes(), walked_at_compile);  // every mask was there
  EXPECT_GT(lazy->walked_trie_nodes(), 0);
}

// Computing ahead stops at its budgets and leaves the state limit to requests: it may make at most
// an eighth of max_dfa_states, walk about precompute_trie_nodes and keep half the mask budget.
TEST(ConstraintAutomatonTest, PrecomputeStaysWithinItsBudgets) {
  const ConstraintSpec spec{ConstraintKind::kRegex, "[a-z]{0,500}!", {}};
  {
    ConstraintLimits limits;
    limits.max_dfa_states = 400;
    ConstraintCompiler compiler(ByteVocabulary(), limits);
    std::shared_ptr<ConstraintAutomaton> a = *compiler.Compile(spec);
    EXPECT_LE(a->num_states(), 50);
    // A request still has the rest of the limit.
    int32_t state = *a->Start();
    for (int i = 0; i < 300; ++i) state = *a->Next(state, 'q');
    EXPECT_GT(a->num_states(), 300);
    EXPECT_TRUE(Allowed(**a->Mask(state), '!'));
  }
  // 300 letters: 300 states whose masks are their own, 26 trie nodes walked for each.
  std::string letters;
  for (int i = 0; i < 300; ++i) letters += "[a-z]";
  const ConstraintSpec distinct{ConstraintKind::kRegex, letters, {}};
  {
    ConstraintCompiler compiler(ByteVocabulary(), ConstraintLimits{});
    EXPECT_EQ((*compiler.Compile(distinct))->walked_trie_nodes(), 300 * 26);
  }
  {
    ConstraintLimits limits;
    limits.precompute_trie_nodes = 1000;
    ConstraintCompiler compiler(ByteVocabulary(), limits);
    std::shared_ptr<ConstraintAutomaton> a = *compiler.Compile(distinct);
    EXPECT_GE(a->walked_trie_nodes(), 1000);
    EXPECT_LE(a->walked_trie_nodes(), 1000 + 26 * 2);
  }
  {
    ConstraintLimits limits;
    limits.max_mask_bytes = 10 * 32;  // ten masks of 4 words
    ConstraintCompiler compiler(ByteVocabulary(), limits);
    std::shared_ptr<ConstraintAutomaton> a = *compiler.Compile(distinct);
    // Masks (the start's first) until half the budget is kept: five.
    EXPECT_EQ(a->walked_trie_nodes(), 5 * 26);
  }
}

// The cache holds at most its byte budget (measured at each compile) and its entry count, least
// recently used dropped first; the newest stays even alone over the budget; a dropped automaton
// still works for whoever holds it, and compiling it again is a miss.
TEST(ConstraintCompilerTest, CacheStaysWithinItsBytesAndEntries) {
  const ConstraintSpec a{ConstraintKind::kRegex, "[a-c]{1,40}x", {}};
  const ConstraintSpec b{ConstraintKind::kRegex, "[d-f]{1,40}y", {}};
  const ConstraintSpec c{ConstraintKind::kRegex, "[g-i]{1,40}z", {}};
  int64_t one = 0;  // what one of them holds
  {
    ConstraintCompiler compiler(ByteVocabulary(), ConstraintLimits{});
    std::shared_ptr<ConstraintAutomaton> automaton = *compiler.Compile(a);
    one = automaton->held_bytes();
    ASSERT_GT(one, 0);
    EXPECT_EQ(compiler.stats().cached_bytes, one);
    ASSERT_TRUE(compiler.Compile(b).ok());
    ASSERT_TRUE(compiler.Compile(a).ok());  // a hit: both fit the default budget
    EXPECT_EQ(compiler.stats().cache_hits, 1);
    EXPECT_EQ(compiler.stats().cached, 2);
    EXPECT_EQ(compiler.stats().evicted, 0);
  }
  {
    // Room for about two: compiling a third drops the least recently used (b, after a's hit).
    ConstraintCompiler compiler(ByteVocabulary(), ConstraintLimits{}, 64, 2 * one + one / 2);
    std::shared_ptr<ConstraintAutomaton> held_a = *compiler.Compile(a);
    ASSERT_TRUE(compiler.Compile(b).ok());
    ASSERT_TRUE(compiler.Compile(a).ok());
    ASSERT_TRUE(compiler.Compile(c).ok());
    ConstraintCompilerStats stats = compiler.stats();
    EXPECT_EQ(stats.cached, 2);
    EXPECT_EQ(stats.evicted, 1);
    EXPECT_LE(stats.cached_bytes, 2 * one + one / 2);
    ASSERT_TRUE(compiler.Compile(a).ok());  // still cached
    EXPECT_EQ(compiler.stats().compiled, 3);
    ASSERT_TRUE(compiler.Compile(b).ok());  // dropped: compiled again
    EXPECT_EQ(compiler.stats().compiled, 4);
    EXPECT_TRUE(held_a->Mask(*held_a->Start()).ok());
  }
  {
    // A zero budget keeps only the newest; two entries at most by count.
    ConstraintCompiler none(ByteVocabulary(), ConstraintLimits{}, 64, 0);
    ASSERT_TRUE(none.Compile(a).ok());
    ASSERT_TRUE(none.Compile(b).ok());
    EXPECT_EQ(none.stats().cached, 1);
    ConstraintCompiler two(ByteVocabulary(), ConstraintLimits{}, 2);
    for (const ConstraintSpec* spec : {&a, &b, &c}) ASSERT_TRUE(two.Compile(*spec).ok());
    EXPECT_EQ(two.stats().cached, 2);
    EXPECT_EQ(two.stats().evicted, 1);
  }
}

}  // namespace
}  // namespace minimind
