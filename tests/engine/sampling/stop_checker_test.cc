#include "engine/sampling/stop_checker.h"

#include <string>
#include <vector>

#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/utf8.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/engine/tokenizer/synthetic_tokenizer.h"

namespace minimind {
namespace {

using ::testing::ElementsAre;

// The synthetic tokenizer: <|end|> (id 0, special), one token per byte, and merges up to
// "hello" and " world".
const Tokenizer& TestTokenizer() {
  static const Tokenizer* tokenizer = [] {
    absl::StatusOr<Tokenizer> parsed =
        Tokenizer::FromJson(testing::SyntheticTokenizerJson().dump());
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    return new Tokenizer(*std::move(parsed));
  }();
  return *tokenizer;
}

constexpr TokenId kEnd = 0;

const ByteLevelAlphabet& Alphabet() {
  static const ByteLevelAlphabet* alphabet = new ByteLevelAlphabet();
  return *alphabet;
}

TokenId ByteToken(uint8_t byte) {
  const std::optional<TokenId> id = TestTokenizer().FindToken(Alphabet().SymbolOf(byte));
  EXPECT_TRUE(id.has_value());
  return id.value_or(-1);
}

// One token per byte of `text`.
std::vector<TokenId> ByteTokens(absl::string_view text) {
  std::vector<TokenId> ids;
  for (const char c : text) ids.push_back(ByteToken(static_cast<uint8_t>(c)));
  return ids;
}

// The vocabulary token whose bytes are `text` ("hello", " world", ...).
TokenId Token(absl::string_view text) {
  std::string symbols;
  Alphabet().AppendSymbols(text, symbols);
  const std::optional<TokenId> id = TestTokenizer().FindToken(symbols);
  EXPECT_TRUE(id.has_value()) << text;
  return id.value_or(-1);
}

struct StreamedRun {
  std::vector<std::string> deltas;  // One per Add that succeeded.
  std::string text;                 // All deltas, plus Finish() if the run did not finish.
  std::optional<FinishReason> finish_reason;
  int finished_at = -1;  // Index of the id that finished the run.
};

StreamedRun Feed(const SamplingParams& params, const std::vector<TokenId>& ids,
                 std::vector<TokenId> eos = {kEnd}) {
  absl::StatusOr<StopChecker> checker = StopChecker::Create(params, TestTokenizer(), eos);
  EXPECT_TRUE(checker.ok()) << checker.status();
  StreamedRun run;
  for (size_t i = 0; i < ids.size() && !checker->finished(); ++i) {
    absl::StatusOr<StopCheckResult> step = checker->Add(ids[i]);
    EXPECT_TRUE(step.ok()) << step.status();
    EXPECT_TRUE(IsValidUtf8(step->text)) << "step " << i;
    run.deltas.push_back(step->text);
    run.text += step->text;
    if (step->finish_reason.has_value()) {
      run.finish_reason = step->finish_reason;
      run.finished_at = static_cast<int>(i);
    }
  }
  if (!checker->finished()) run.text += checker->Finish();
  return run;
}

TEST(StopCheckerTest, WithoutStopConditionsStreamsEveryToken) {
  const StreamedRun run = Feed({}, {Token("hello"), Token(" world")});
  EXPECT_THAT(run.deltas, ElementsAre("hello", " world"));
  EXPECT_EQ(run.text, "hello world");
  EXPECT_FALSE(run.finish_reason.has_value());
}

TEST(StopCheckerTest, StopStringSplitAcrossTokens) {
  const StreamedRun run = Feed({.stop = {"END"}}, ByteTokens("AENDZ"));
  EXPECT_THAT(run.deltas, ElementsAre("A", "", "", ""));
  EXPECT_EQ(run.text, "A");
  EXPECT_EQ(run.finish_reason, FinishReason::kStopSequence);
  EXPECT_EQ(run.finished_at, 3);
}

TEST(StopCheckerTest, FailedPartialMatchReleasesTheHeldText) {
  const StreamedRun run = Feed({.stop = {"END"}}, ByteTokens("ENXE"));
  EXPECT_THAT(run.deltas, ElementsAre("", "", "ENX", ""));
  EXPECT_EQ(run.text, "ENXE");  // The trailing "E" is flushed by Finish.
  EXPECT_FALSE(run.finish_reason.has_value());
}

TEST(StopCheckerTest, HoldsOnlyTheSuffixThatCanStillMatch) {
  // "EEN": the first E can no longer start "END" once the second E arrives... but "EN" can.
  const StreamedRun run = Feed({.stop = {"END"}}, ByteTokens("EENX"));
  EXPECT_THAT(run.deltas, ElementsAre("", "E", "", "ENX"));
}

TEST(StopCheckerTest, StopStringInsideAndAcrossMergedTokens) {
  const StreamedRun run = Feed({.stop = {"lo w"}}, {Token("hello"), Token(" world")});
  EXPECT_THAT(run.deltas, ElementsAre("hel", ""));
  EXPECT_EQ(run.text, "hel");
  EXPECT_EQ(run.finish_reason, FinishReason::kStopSequence);
}

TEST(StopCheckerTest, StopStringAtTheVeryStart) {
  const StreamedRun run = Feed({.stop = {"he"}}, {Token("hello"), Token(" world")});
  EXPECT_THAT(run.deltas, ElementsAre(""));
  EXPECT_EQ(run.text, "");
  EXPECT_EQ(run.finish_reason, FinishReason::kStopSequence);
  EXPECT_EQ(run.finished_at, 0);
}

TEST(StopCheckerTest, MultiByteStopStringFedByteByByte) {
  const StreamedRun run = Feed({.stop = {"é!"}}, ByteTokens("aé!b"));
  // "é" is two byte tokens: nothing is emitted mid-character, and "é" is held as a prefix.
  EXPECT_THAT(run.deltas, ElementsAre("a", "", "", ""));
  EXPECT_EQ(run.text, "a");
  EXPECT_EQ(run.finish_reason, FinishReason::kStopSequence);
}

TEST(StopCheckerTest, MultiBytePartialMatchIsReleasedWhole) {
  const StreamedRun run = Feed({.stop = {"日本"}}, ByteTokens("日x"));
  // Three bytes of 日, then x: 日 is held until x shows it is not followed by 本.
  EXPECT_THAT(run.deltas, ElementsAre("", "", "", "日x"));
  EXPECT_FALSE(run.finish_reason.has_value());
  const StreamedRun matched = Feed({.stop = {"日本"}}, ByteTokens("a日本"));
  EXPECT_EQ(matched.text, "a");
  EXPECT_EQ(matched.finish_reason, FinishReason::kStopSequence);
}

TEST(StopCheckerTest, ShorterStopStringThatPrefixesALongerOneStopsFirst) {
  const StreamedRun run = Feed({.stop = {"abc", "ab"}}, ByteTokens("xabc"));
  EXPECT_EQ(run.text, "x");
  EXPECT_EQ(run.finished_at, 2);
}

TEST(StopCheckerTest, EarliestMatchWinsAmongSeveral) {
  const StreamedRun run = Feed({.stop = {"abcd", "bc"}}, ByteTokens("abcd"));
  EXPECT_EQ(run.text, "a");
  EXPECT_EQ(run.finished_at, 2);
  // Both match in the same step; the order of the list does not matter.
  for (const std::vector<std::string>& stops :
       {std::vector<std::string>{"ld", "o w"}, std::vector<std::string>{"o w", "ld"}}) {
    const StreamedRun run = Feed({.stop = stops}, {Token("hello"), Token(" world")});
    EXPECT_EQ(run.text, "hell");
  }
}

TEST(StopCheckerTest, StopTokenIdEndsWithoutItsText) {
  const StreamedRun run = Feed({.stop_token_ids = {ByteToken('q')}}, ByteTokens("xqz"));
  EXPECT_THAT(run.deltas, ElementsAre("x", ""));
  EXPECT_EQ(run.finish_reason, FinishReason::kStop);
  EXPECT_EQ(run.finished_at, 1);
}

TEST(StopCheckerTest, EosStopsAndFlushesHeldText) {
  std::vector<TokenId> ids = ByteTokens("EN");
  ids.push_back(kEnd);
  const StreamedRun run = Feed({.stop = {"END"}}, ids);
  EXPECT_THAT(run.deltas, ElementsAre("", "", "EN"));
  EXPECT_EQ(run.finish_reason, FinishReason::kStop);
}

TEST(StopCheckerTest, IgnoreEosKeepsGoingAndSkipsTheSpecialToken) {
  const StreamedRun run = Feed({.ignore_eos = true}, {Token("hello"), kEnd, Token(" world")});
  EXPECT_THAT(run.deltas, ElementsAre("hello", "", " world"));
  EXPECT_FALSE(run.finish_reason.has_value());
  // An explicit stop token id still applies.
  const StreamedRun explicit_stop =
      Feed({.stop_token_ids = {kEnd}, .ignore_eos = true}, {Token("hello"), kEnd});
  EXPECT_EQ(explicit_stop.finish_reason, FinishReason::kStop);
}

TEST(StopCheckerTest, SeveralEosIds) {
  const StreamedRun run = Feed({}, ByteTokens("abc"), {kEnd, ByteToken('b')});
  EXPECT_EQ(run.text, "a");
  EXPECT_EQ(run.finish_reason, FinishReason::kStop);
}

TEST(StopCheckerTest, MaxTokensEndsWithLengthAndFlushes) {
  const StreamedRun run =
      Feed({.max_tokens = 1, .stop = {"lo w"}}, {Token("hello"), Token(" world")});
  EXPECT_THAT(run.deltas, ElementsAre("hello"));
  EXPECT_EQ(run.finish_reason, FinishReason::kLength);
  const StreamedRun three = Feed({.max_tokens = 3}, ByteTokens("abcdef"));
  EXPECT_EQ(three.text, "abc");
  EXPECT_EQ(three.finished_at, 2);
  EXPECT_EQ(three.finish_reason, FinishReason::kLength);
}

TEST(StopCheckerTest, StopStringOnTheLastAllowedTokenIsAStopSequence) {
  const StreamedRun run = Feed({.max_tokens = 3, .stop = {"bc"}}, ByteTokens("abcd"));
  EXPECT_EQ(run.text, "a");
  EXPECT_EQ(run.finish_reason, FinishReason::kStopSequence);
}

TEST(StopCheckerTest, StopStringCompletedByTheFinalFlushIsAStopSequence) {
  // The unfinished byte becomes U+FFFD only when the generation ends, completing the stop string.
  const StreamedRun run =
      Feed({.max_tokens = 2, .stop = {"a\xEF\xBF\xBD"}}, {ByteToken('a'), ByteToken(0xC3)});
  EXPECT_EQ(run.text, "");
  EXPECT_EQ(run.finish_reason, FinishReason::kStopSequence);
}

TEST(StopCheckerTest, StopTokenOnTheLastAllowedTokenIsAStop) {
  const StreamedRun run = Feed({.max_tokens = 2}, {ByteToken('a'), kEnd});
  EXPECT_EQ(run.finish_reason, FinishReason::kStop);
}

TEST(StopCheckerTest, UnfinishedCharacterAtTheEndBecomesReplacementCharacter) {
  const StreamedRun run = Feed({.max_tokens = 2}, {ByteToken('a'), ByteToken(0xC3)});
  EXPECT_THAT(run.deltas, ElementsAre("a", "\xEF\xBF\xBD"));
}

TEST(StopCheckerTest, FinishFlushesAndForbidsMoreTokens) {
  absl::StatusOr<StopChecker> checker = StopChecker::Create({.stop = {"END"}}, TestTokenizer(), {});
  ASSERT_TRUE(checker.ok());
  ASSERT_TRUE(checker->Add(ByteToken('E')).ok());
  EXPECT_EQ(checker->Finish(), "E");
  EXPECT_TRUE(checker->finished());
  EXPECT_EQ(checker->Finish(), "");
  const absl::Status status = checker->Add(ByteToken('x')).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
}

TEST(StopCheckerTest, UnknownIdFailsWithoutChangingState) {
  absl::StatusOr<StopChecker> checker = StopChecker::Create({.stop = {"END"}}, TestTokenizer(), {});
  ASSERT_TRUE(checker.ok());
  ASSERT_TRUE(checker->Add(ByteToken('E')).ok());
  EXPECT_EQ(checker->Add(100000).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(checker->num_tokens(), 1);
  absl::StatusOr<StopCheckResult> step = checker->Add(ByteToken('N'));
  ASSERT_TRUE(step.ok());
  step = checker->Add(ByteToken('D'));
  ASSERT_TRUE(step.ok());
  EXPECT_EQ(step->finish_reason, FinishReason::kStopSequence);
  EXPECT_EQ(checker->num_tokens(), 3);
}

TEST(StopCheckerTest, CountsStopTokensAsCompletionTokens) {
  absl::StatusOr<StopChecker> checker = StopChecker::Create({}, TestTokenizer(), {kEnd});
  ASSERT_TRUE(checker.ok());
  ASSERT_TRUE(checker->Add(ByteToken('a')).ok());
  ASSERT_TRUE(checker->Add(kEnd).ok());
  EXPECT_EQ(checker->num_tokens(), 2);
}

TEST(StopCheckerTest, RejectsInvalidParams) {
  absl::StatusOr<StopChecker> checker = StopChecker::Create({.stop = {""}}, TestTokenizer(), {});
  EXPECT_EQ(checker.status().code(), absl::StatusCode::kInvalidArgument);
}

// Whatever the token boundaries, the streamed text is the full text cut before the earliest stop
// string.
TEST(StopCheckerTest, StreamedTextEqualsTextCutBeforeFirstStopString) {
  const std::vector<std::string> stops = {"wor", "ll", "日本", "zz", "éé"};
  const std::vector<std::string> texts = {"hello world",   "say hi to the world",
                                          "日の本 日本語", "a zebra",
                                          "aéb éé",        "no match here at all!"};
  for (const std::string& text : texts) {
    size_t cut = std::string::npos;
    for (const std::string& stop : stops) cut = std::min(cut, text.find(stop));
    const std::string expected = text.substr(0, cut);
    const StreamedRun bytewise = Feed({.stop = stops}, ByteTokens(text));
    EXPECT_EQ(bytewise.text, expected) << text;
    absl::StatusOr<std::vector<TokenId>> encoded = TestTokenizer().Encode(text);
    ASSERT_TRUE(encoded.ok());
    const StreamedRun merged = Feed({.stop = stops}, *encoded);
    EXPECT_EQ(merged.text, expected) << text;
    EXPECT_EQ(merged.finish_reason.has_value(), cut != std::string::npos) << text;
  }
}

}  // namespace
}  // namespace minimind
