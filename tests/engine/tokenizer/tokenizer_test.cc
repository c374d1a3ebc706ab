#include "engine/tokenizer/tokenizer.h"

#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/engine/tokenizer/synthetic_tokenizer.h"
#include "tests/support/test_paths.h"

namespace minimind {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

Tokenizer SyntheticTokenizer(bool merges_as_strings = false) {
  auto tokenizer =
      Tokenizer::FromJson(testing::SyntheticTokenizerJson(merges_as_strings).dump());
  EXPECT_TRUE(tokenizer.ok()) << tokenizer.status();
  return *std::move(tokenizer);
}

// ---- Golden ids from Hugging Face tokenizers (tools/oracle), one suite per vocabulary. ----

class HuggingFaceParityTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    MINIMIND_SKIP_WITHOUT_FIXTURE(GetParam());
    auto tokenizer = Tokenizer::FromFile((testing::FixturesDir() / GetParam()).string());
    ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
    tokenizer_.emplace(*std::move(tokenizer));
    const auto cases = nlohmann::json::parse(
        testing::ReadFileOrEmpty(testing::TestDataDir() / "tokenizer" / "cases.json"));
    for (const auto& entry : cases["cases"]) {
      texts_[entry["name"].get<std::string>()] = entry["text"].get<std::string>();
    }
    golden_ = nlohmann::json::parse(testing::ReadFileOrEmpty(
        testing::TestDataDir() / "tokenizer" / (GetParam() + ".golden.json")));
  }

  std::optional<Tokenizer> tokenizer_;
  std::map<std::string, std::string> texts_;
  nlohmann::json golden_;
};

TEST_P(HuggingFaceParityTest, EncodeMatchesEveryGoldenCase) {
  ASSERT_GE(golden_["cases"].size(), 200u);
  for (const auto& golden : golden_["cases"]) {
    const std::string name = golden["name"];
    ASSERT_TRUE(texts_.contains(name)) << name;
    auto ids = tokenizer_->Encode(texts_[name]);
    ASSERT_TRUE(ids.ok()) << name << ": " << ids.status();
    EXPECT_EQ(*ids, golden["ids"].get<std::vector<TokenId>>()) << "case " << name;
  }
}

TEST_P(HuggingFaceParityTest, DecodeMatchesEveryGoldenCase) {
  for (const auto& golden : golden_["cases"]) {
    const auto ids = golden["ids"].get<std::vector<TokenId>>();
    auto decoded = tokenizer_->Decode(ids);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, golden["decoded"].get<std::string>()) << golden["name"];
    auto skipped = tokenizer_->Decode(ids, /*skip_special=*/true);
    ASSERT_TRUE(skipped.ok()) << skipped.status();
    EXPECT_EQ(*skipped, golden["decoded_skip_special"].get<std::string>()) << golden["name"];
  }
}

TEST_P(HuggingFaceParityTest, DecodeOfBrokenUtf8MatchesGolden) {
  int compared = 0;
  for (const auto& golden : golden_["decode_cases"]) {
    const auto ids = golden["ids"].get<std::vector<TokenId>>();
    // Hugging Face drops ids outside the vocabulary; we return an error instead (tested below).
    const bool has_unknown_id = std::any_of(ids.begin(), ids.end(), [&](TokenId id) {
      return id < 0 || id >= tokenizer_->vocab_size();
    });
    if (has_unknown_id) {
      EXPECT_EQ(tokenizer_->Decode(ids).status().code(), absl::StatusCode::kOutOfRange);
      continue;
    }
    auto decoded = tokenizer_->Decode(ids);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, golden["decoded"].get<std::string>()) << golden.dump();
    auto skipped = tokenizer_->Decode(ids, /*skip_special=*/true);
    ASSERT_TRUE(skipped.ok());
    EXPECT_EQ(*skipped, golden["decoded_skip_special"].get<std::string>()) << golden.dump();
    ++compared;
  }
  EXPECT_GE(compared, 20);
}

TEST_P(HuggingFaceParityTest, RoundTripsEveryCase) {
  for (const auto& [name, text] : texts_) {
    for (const bool parse_special : {true, false}) {
      auto ids = tokenizer_->Encode(text, parse_special);
      ASSERT_TRUE(ids.ok()) << name;
      EXPECT_EQ(*tokenizer_->Decode(*ids), text) << name << " parse_special=" << parse_special;
    }
  }
}

TEST_P(HuggingFaceParityTest, SpecialTokenTextIsPlainWhenNotParsed) {
  const std::string text = "<|im_start|>user\nhi<|im_end|>";
  auto parsed = tokenizer_->Encode(text, /*parse_special=*/true);
  auto plain = tokenizer_->Encode(text, /*parse_special=*/false);
  ASSERT_TRUE(parsed.ok() && plain.ok());
  const TokenId im_start = *tokenizer_->FindToken("<|im_start|>");
  EXPECT_EQ(parsed->front(), im_start);
  for (const TokenId id : *plain) EXPECT_FALSE(tokenizer_->IsSpecial(id)) << id;
  EXPECT_GT(plain->size(), parsed->size());
}

INSTANTIATE_TEST_SUITE_P(MiniMindVocabularies, HuggingFaceParityTest,
                         ::testing::Values("minimind-3", "minimind2"),
                         [](const auto& info) {
                           return info.param == "minimind-3" ? std::string("Minimind3")
                                                             : std::string("Minimind2");
                         });

// Random valid UTF-8 from a mix of scripts round-trips exactly (fixture-free).
TEST(TokenizerTest, RandomValidUtf8RoundTrips) {
  const Tokenizer tokenizer = SyntheticTokenizer();
  std::mt19937 rng(7);
  const std::vector<uint32_t> ranges[] = {{0x20, 0x7E}, {0x00, 0x1F}, {0x4E00, 0x9FFF},
                                          {0x1F300, 0x1F6FF}, {0x0400, 0x04FF}, {0xA0, 0xFF}};
  for (int round = 0; round < 300; ++round) {
    std::string text;
    const int length = std::uniform_int_distribution<int>(0, 40)(rng);
    for (int i = 0; i < length; ++i) {
      const auto& range = ranges[std::uniform_int_distribution<int>(0, 5)(rng)];
      uint32_t cp = std::uniform_int_distribution<uint32_t>(range[0], range[1])(rng);
      if (cp < 0x80) {
        text.push_back(static_cast<char>(cp));
      } else if (cp < 0x800) {
        text.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        text.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
      } else if (cp < 0x10000) {
        text.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        text.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        text.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
      } else {
        text.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        text.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        text.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        text.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
      }
    }
    auto ids = tokenizer.Encode(text);
    ASSERT_TRUE(ids.ok()) << ids.status();
    EXPECT_EQ(*tokenizer.Decode(*ids), text);
  }
}

TEST(TokenizerTest, AppliesMergesByRank) {
  const Tokenizer tokenizer = SyntheticTokenizer();
  auto ids = tokenizer.Encode("hello world");
  ASSERT_TRUE(ids.ok());
  ASSERT_EQ(ids->size(), 2u);
  EXPECT_EQ(*tokenizer.TokenString((*ids)[0]), "hello");
  EXPECT_EQ(*tokenizer.TokenString((*ids)[1]), "\xC4\xA0world");  // "Ġworld"
}

TEST(TokenizerTest, LegacyStringMergesEncodeLikePairs) {
  const Tokenizer pairs = SyntheticTokenizer(/*merges_as_strings=*/false);
  const Tokenizer strings = SyntheticTokenizer(/*merges_as_strings=*/true);
  for (const char* text : {"hello world", "hell", "say hello, world!", "ll he or"}) {
    EXPECT_EQ(*pairs.Encode(text), *strings.Encode(text)) << text;
  }
}

TEST(TokenizerTest, AddedTokensSplitTextAndSpecialOnesObeyParseSpecial) {
  const Tokenizer tokenizer = SyntheticTokenizer();
  auto parsed = tokenizer.Encode("hello<|end|><tool>");
  ASSERT_TRUE(parsed.ok());
  EXPECT_THAT(*parsed, ElementsAre(*tokenizer.FindToken("hello"), 0, 1));
  auto plain = tokenizer.Encode("hello<|end|><tool>", /*parse_special=*/false);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->back(), 1) << "non-special added tokens are always matched";
  EXPECT_EQ(std::count(plain->begin(), plain->end(), 0), 0);
}

TEST(TokenizerTest, SkipSpecialDropsOnlySpecialTokens) {
  const Tokenizer tokenizer = SyntheticTokenizer();
  auto ids = tokenizer.Encode("<|end|>hello<tool>");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*tokenizer.Decode(*ids, /*skip_special=*/true), "hello<tool>");
  EXPECT_EQ(*tokenizer.Decode(*ids, /*skip_special=*/false), "<|end|>hello<tool>");
}

TEST(TokenizerTest, RejectsInvalidUtf8WithTheOffset) {
  const Tokenizer tokenizer = SyntheticTokenizer();
  for (const std::string& bad :
       {std::string("ab\xFF"), std::string("\xE4\xB8"), std::string("x\xC0\x80"),
        std::string("\xED\xA0\x80")}) {
    auto ids = tokenizer.Encode(bad);
    EXPECT_EQ(ids.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(ids.status().message()), HasSubstr("not valid UTF-8"));
  }
  EXPECT_THAT(std::string(tokenizer.Encode("ab\xFF").status().message()), HasSubstr("offset 2"));
}

TEST(TokenizerTest, DecodingAnUnknownIdIsOutOfRange) {
  const Tokenizer tokenizer = SyntheticTokenizer();
  for (const TokenId id : {-1, tokenizer.vocab_size(), 1 << 20}) {
    auto text = tokenizer.Decode({100, id});
    EXPECT_EQ(text.status().code(), absl::StatusCode::kOutOfRange) << id;
    EXPECT_THAT(std::string(text.status().message()), HasSubstr(std::to_string(id)));
  }
}

TEST(TokenizerTest, AddedTokenEndsAByteRunInDecode) {
  const Tokenizer tokenizer = SyntheticTokenizer();
  // "中" is E4 B8 AD; the byte tokens are each byte's symbol.
  auto byte_id = [&](uint8_t byte) {
    return *tokenizer.FindToken(ByteLevelAlphabet().SymbolOf(byte));
  };
  const std::vector<TokenId> ids = {byte_id(0xE4), byte_id(0xB8), 0, byte_id(0xAD)};
  EXPECT_EQ(*tokenizer.Decode(ids), "\xEF\xBF\xBD<|end|>\xEF\xBF\xBD");
  EXPECT_EQ(*tokenizer.Decode(ids, /*skip_special=*/true), "中");
}

TEST(TokenizerTest, MissingFileIsNotFound) {
  auto tokenizer = Tokenizer::FromFile("/nonexistent/dir");
  EXPECT_EQ(tokenizer.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(tokenizer.status().message()), HasSubstr("/nonexistent/dir"));
}

}  // namespace
}  // namespace minimind
