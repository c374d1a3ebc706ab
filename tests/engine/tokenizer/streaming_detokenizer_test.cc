#include "engine/tokenizer/streaming_detokenizer.h"

#include <random>
#include <string>
#include <vector>

#include "engine/tokenizer/utf8.h"
#include "gtest/gtest.h"
#include "tests/engine/tokenizer/synthetic_tokenizer.h"
#include "tests/support/test_paths.h"

namespace minimind {
namespace {

// Streams `ids` one at a time and checks every delta is complete UTF-8 and that the whole stream
// equals Decode.
void ExpectStreamMatchesDecode(const Tokenizer& tokenizer, const std::vector<TokenId>& ids,
                               bool skip_special) {
  StreamingDetokenizer stream(tokenizer, skip_special);
  std::string streamed;
  for (const TokenId id : ids) {
    auto delta = stream.Add(id);
    ASSERT_TRUE(delta.ok()) << delta.status();
    ASSERT_TRUE(IsValidUtf8(*delta));
    streamed += *delta;
  }
  streamed += stream.Finish();
  EXPECT_EQ(streamed, *tokenizer.Decode(ids, skip_special));
}

Tokenizer SyntheticTokenizer() {
  return *Tokenizer::FromJson(testing::SyntheticTokenizerJson().dump());
}

TEST(StreamingDetokenizerTest, EmitsAMultiByteCharacterOnceWhole) {
  const Tokenizer tokenizer = SyntheticTokenizer();
  // Each byte of "中" (E4 B8 AD) and of "🙂" (F0 9F 99 82) is its own token here.
  auto ids = tokenizer.Encode("中🙂");
  ASSERT_TRUE(ids.ok());
  ASSERT_EQ(ids->size(), 7u);
  StreamingDetokenizer stream(tokenizer, /*skip_special=*/false);
  std::vector<std::string> deltas;
  for (const TokenId id : *ids) deltas.push_back(*stream.Add(id));
  EXPECT_EQ(deltas, (std::vector<std::string>{"", "", "中", "", "", "", "🙂"}));
  EXPECT_EQ(stream.Finish(), "");
}

TEST(StreamingDetokenizerTest, UnfinishedCharacterIsFlushedAsReplacement) {
  const Tokenizer tokenizer = SyntheticTokenizer();
  auto ids = tokenizer.Encode("中");
  StreamingDetokenizer stream(tokenizer, /*skip_special=*/false);
  EXPECT_EQ(*stream.Add((*ids)[0]), "");
  EXPECT_EQ(*stream.Add((*ids)[1]), "");
  EXPECT_EQ(stream.Finish(), "\xEF\xBF\xBD");
}

TEST(StreamingDetokenizerTest, BadIdIsAnErrorAndLeavesTheStreamUsable) {
  const Tokenizer tokenizer = SyntheticTokenizer();
  StreamingDetokenizer stream(tokenizer, /*skip_special=*/false);
  EXPECT_EQ(stream.Add(tokenizer.vocab_size()).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(*stream.Add(*tokenizer.FindToken("hello")), "hello");
}

// Property: random id sequences — including ones that cut UTF-8 characters anywhere and mix in
// added tokens — stream to exactly what Decode returns, in every delta valid UTF-8.
TEST(StreamingDetokenizerTest, RandomSequencesMatchDecode) {
  const Tokenizer synthetic = SyntheticTokenizer();
  std::optional<Tokenizer> minimind;
  const auto fixture = testing::FixturesDir() / "minimind-3";
  if (std::filesystem::exists(fixture / "tokenizer.json")) {
    minimind.emplace(*Tokenizer::FromFile(fixture.string()));
  }
  std::mt19937 rng(2024);
  const Tokenizer* minimind_or_null = minimind ? &*minimind : nullptr;
  for (const Tokenizer* tokenizer : {&synthetic, minimind_or_null}) {
    if (tokenizer == nullptr) continue;
    for (int round = 0; round < 3000; ++round) {
      std::vector<TokenId> ids(std::uniform_int_distribution<int>(0, 24)(rng));
      for (TokenId& id : ids) {
        id = std::uniform_int_distribution<TokenId>(0, tokenizer->vocab_size() - 1)(rng);
      }
      ExpectStreamMatchesDecode(*tokenizer, ids, /*skip_special=*/round % 2 == 0);
    }
  }
}

TEST(StreamingDetokenizerTest, EncodedTextStreamsBackExactly) {
  MINIMIND_SKIP_WITHOUT_FIXTURE("minimind-3");
  const Tokenizer tokenizer =
      *Tokenizer::FromFile((testing::FixturesDir() / "minimind-3").string());
  const std::string text =
      "<|im_start|>user\n你好，世界！👩‍👩‍👧 emoji, café, 東京<|im_end|>\n<think>\n\n</think>";
  auto ids = tokenizer.Encode(text);
  ASSERT_TRUE(ids.ok());
  StreamingDetokenizer stream(tokenizer, /*skip_special=*/false);
  std::string streamed;
  for (const TokenId id : *ids) streamed += *stream.Add(id);
  streamed += stream.Finish();
  EXPECT_EQ(streamed, text);
}

}  // namespace
}  // namespace minimind
