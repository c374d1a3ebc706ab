#include "engine/tokenizer/tokenizer_spec.h"

#include <string>

#include "engine/tokenizer/tokenizer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/engine/tokenizer/synthetic_tokenizer.h"
#include "tests/support/test_paths.h"

namespace minimind {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::ordered_json;

// Loads a tokenizer from `json` and expects failure with `code` and a message containing `what`.
void ExpectRejected(const Json& json, absl::StatusCode code, const std::string& what) {
  auto tokenizer = Tokenizer::FromJson(json.dump());
  ASSERT_FALSE(tokenizer.ok()) << "accepted a tokenizer that should fail with: " << what;
  EXPECT_EQ(tokenizer.status().code(), code) << tokenizer.status();
  EXPECT_THAT(std::string(tokenizer.status().message()), HasSubstr(what));
}

TEST(TokenizerSpecTest, SyntheticTokenizerParses) {
  auto spec = ParseTokenizerJson(testing::SyntheticTokenizerJson().dump());
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->added_tokens.size(), 2u);
  ASSERT_EQ(spec->split_patterns.size(), 1u);
  EXPECT_EQ(spec->split_patterns[0].pattern, kGpt2SplitPattern);
}

TEST(TokenizerSpecTest, NotJsonNamesTheBytePosition) {
  auto tokenizer = Tokenizer::FromJson("{\"model\": [1, 2,");
  EXPECT_EQ(tokenizer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(tokenizer.status().message()), HasSubstr("not valid JSON at byte"));
}

// Found by fuzz_tokenizer_json: nlohmann throws out_of_range (406), not parse_error, for a number
// beyond double's range; it escaped the parse_error handler and terminated the process.
TEST(TokenizerSpecTest, NumberBeyondDoubleIsAnErrorNotACrash) {
  auto tokenizer = Tokenizer::FromJson("{\"model\": {\"dropout\": 2e29816}}");
  EXPECT_EQ(tokenizer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(tokenizer.status().message()), HasSubstr("number overflow"));
}

TEST(TokenizerSpecTest, EveryTruncationOfARealFileIsAnErrorNotACrash) {
  MINIMIND_SKIP_WITHOUT_FIXTURE("minimind2");
  const std::string full =
      testing::ReadFileOrEmpty(testing::FixturesDir() / "minimind2" / "tokenizer.json");
  ASSERT_GT(full.size(), 1000u);
  int rejected = 0;
  for (size_t length = 0; length < full.size(); length += 997) {
    auto tokenizer = Tokenizer::FromJson(absl::string_view(full).substr(0, length));
    EXPECT_FALSE(tokenizer.ok()) << "truncated at " << length;
    rejected += !tokenizer.ok();
  }
  EXPECT_GT(rejected, 400);
}

TEST(TokenizerSpecTest, StructuralErrorsNameTheirPath) {
  Json json = testing::SyntheticTokenizerJson();
  json.erase("model");
  ExpectRejected(json, absl::StatusCode::kInvalidArgument, "missing \"model\"");

  json = testing::SyntheticTokenizerJson();
  json["model"]["vocab"] = Json::array();
  ExpectRejected(json, absl::StatusCode::kInvalidArgument, "model.vocab");

  json = testing::SyntheticTokenizerJson();
  json["model"]["vocab"]["h"] = -5;
  ExpectRejected(json, absl::StatusCode::kInvalidArgument, "token id -5");

  json = testing::SyntheticTokenizerJson();
  json["model"]["vocab"]["zz-new"] = 3;  // Id 3 already belongs to a byte symbol.
  ExpectRejected(json, absl::StatusCode::kInvalidArgument, "id 3 is used by both");

  json = testing::SyntheticTokenizerJson();
  json["model"]["merges"].push_back("lonely");
  ExpectRejected(json, absl::StatusCode::kInvalidArgument, "model.merges[9]");

  json = testing::SyntheticTokenizerJson();
  json["model"]["merges"].push_back({"q", "notatoken"});
  ExpectRejected(json, absl::StatusCode::kInvalidArgument,
                 "token \"notatoken\" is not in the vocabulary");

  json = testing::SyntheticTokenizerJson();
  json["model"]["merges"].push_back({"q", "z"});  // "qz" is not in the vocabulary.
  ExpectRejected(json, absl::StatusCode::kInvalidArgument, "token \"qz\"");

  json = testing::SyntheticTokenizerJson();
  json["added_tokens"][0].erase("content");
  ExpectRejected(json, absl::StatusCode::kInvalidArgument, "added_tokens[0]");

  json = testing::SyntheticTokenizerJson();
  json["added_tokens"][1]["id"] = 0;  // Clashes with <|end|>.
  ExpectRejected(json, absl::StatusCode::kInvalidArgument, "reuses id 0");

  json = testing::SyntheticTokenizerJson();
  json["added_tokens"][0]["special"] = "yes";
  ExpectRejected(json, absl::StatusCode::kInvalidArgument, "expected a boolean");

  json = testing::SyntheticTokenizerJson();
  json["pre_tokenizer"] = {{"type", "Sequence"},
                           {"pretokenizers", {{{"type", "Split"},
                                               {"pattern", {{"Regex", "(bad"}}},
                                               {"behavior", "Isolated"}},
                                              {{"type", "ByteLevel"}, {"use_regex", false}}}}};
  ExpectRejected(json, absl::StatusCode::kInvalidArgument, "does not compile");
}

TEST(TokenizerSpecTest, UnsupportedFeaturesAreNamed) {
  Json json = testing::SyntheticTokenizerJson();
  json["model"]["type"] = "WordPiece";
  ExpectRejected(json, absl::StatusCode::kUnimplemented, "WordPiece");

  json = testing::SyntheticTokenizerJson();
  json["normalizer"] = {{"type", "NFC"}};
  ExpectRejected(json, absl::StatusCode::kUnimplemented, "normalizer NFC");

  json = testing::SyntheticTokenizerJson();
  json["pre_tokenizer"] = {{"type", "Whitespace"}};
  ExpectRejected(json, absl::StatusCode::kUnimplemented, "pre-tokenizer \"Whitespace\"");

  json = testing::SyntheticTokenizerJson();
  json["decoder"] = nullptr;
  ExpectRejected(json, absl::StatusCode::kUnimplemented, "decoder");

  json = testing::SyntheticTokenizerJson();
  json["added_tokens"][0]["single_word"] = true;
  ExpectRejected(json, absl::StatusCode::kUnimplemented, "single_word");

  json = testing::SyntheticTokenizerJson();
  json["model"]["byte_fallback"] = true;
  ExpectRejected(json, absl::StatusCode::kUnimplemented, "byte_fallback");
}

// Qwen-style: an explicit Split regex followed by ByteLevel without its own regex.
TEST(TokenizerSpecTest, SequenceOfSplitAndByteLevelEncodesLikeByteLevelRegex) {
  Json qwen_style = testing::SyntheticTokenizerJson();
  qwen_style["pre_tokenizer"] = {
      {"type", "Sequence"},
      {"pretokenizers",
       {{{"type", "Split"}, {"pattern", {{"Regex", std::string(kGpt2SplitPattern)}}},
         {"behavior", "Isolated"}, {"invert", false}},
        {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
  auto sequence = Tokenizer::FromJson(qwen_style.dump());
  auto byte_level = Tokenizer::FromJson(testing::SyntheticTokenizerJson().dump());
  ASSERT_TRUE(sequence.ok()) << sequence.status();
  ASSERT_TRUE(byte_level.ok());
  for (const char* text : {"hello world", "  hello\n\nworld 123 ,;", "中文 hello"}) {
    EXPECT_EQ(*sequence->Encode(text), *byte_level->Encode(text)) << text;
  }
}

TEST(TokenizerSpecTest, AddPrefixSpaceMakesAFirstWordLookMidSentence) {
  Json json = testing::SyntheticTokenizerJson();
  json["pre_tokenizer"]["add_prefix_space"] = true;
  auto tokenizer = Tokenizer::FromJson(json.dump());
  ASSERT_TRUE(tokenizer.ok());
  auto ids = tokenizer->Encode("world");
  ASSERT_TRUE(ids.ok());
  ASSERT_EQ(ids->size(), 1u);
  EXPECT_EQ(*tokenizer->TokenString(ids->front()), "\xC4\xA0world");
}

}  // namespace
}  // namespace minimind
