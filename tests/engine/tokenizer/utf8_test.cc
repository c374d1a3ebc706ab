#include "engine/tokenizer/utf8.h"

#include <random>
#include <string>

#include "gtest/gtest.h"

namespace minimind {
namespace {

const std::string kReplacement = "\xEF\xBF\xBD";

TEST(Utf8Test, FindsFirstInvalidByte) {
  EXPECT_EQ(FirstInvalidUtf8Offset("plain ascii"), 11u);
  EXPECT_EQ(FirstInvalidUtf8Offset("中文🙂"), std::string("中文🙂").size());
  EXPECT_EQ(FirstInvalidUtf8Offset("ab\x80"), 2u);          // Stray continuation byte.
  EXPECT_EQ(FirstInvalidUtf8Offset("a\xC0\xAF"), 1u);       // Overlong encoding.
  EXPECT_EQ(FirstInvalidUtf8Offset("\xED\xA0\x80"), 0u);    // Surrogate.
  EXPECT_EQ(FirstInvalidUtf8Offset("\xF4\x90\x80\x80"), 0u);  // Above U+10FFFF.
  EXPECT_EQ(FirstInvalidUtf8Offset("xy\xE4\xB8"), 2u);      // Truncated at the end.
}

// Expected values follow Rust's String::from_utf8_lossy (maximal subparts).
TEST(Utf8Test, LossyReplacesMaximalSubparts) {
  EXPECT_EQ(Utf8Lossy("\xE4\xB8"), kReplacement);
  EXPECT_EQ(Utf8Lossy("\xC0\x80"), kReplacement + kReplacement);
  EXPECT_EQ(Utf8Lossy("\xED\xA0\x80"), kReplacement + kReplacement + kReplacement);
  EXPECT_EQ(Utf8Lossy("\xF4\x90\x80\x80"),
            kReplacement + kReplacement + kReplacement + kReplacement);
  EXPECT_EQ(Utf8Lossy("\xE4\xB8x\xAD"), kReplacement + "x" + kReplacement);
  EXPECT_EQ(Utf8Lossy("\xF0\x9F\x99"), kReplacement);
  EXPECT_EQ(Utf8Lossy("ok 中"), "ok 中");
}

// Any chunking of the input gives the same output as decoding it whole, and TakeComplete never
// returns a partial character.
TEST(Utf8Test, IncrementalDecodingIsIndependentOfChunking) {
  std::mt19937 rng(11);
  const std::string alphabet[] = {"a", "\n", "é", "中", "🙂", "\x80", "\xE4", "\xB8", "\xF0",
                                  "\x9F", "\xFF", "\xC3"};
  for (int round = 0; round < 2000; ++round) {
    std::string bytes;
    const int pieces = std::uniform_int_distribution<int>(0, 12)(rng);
    for (int i = 0; i < pieces; ++i) bytes += alphabet[rng() % std::size(alphabet)];
    Utf8LossyDecoder decoder;
    std::string streamed;
    size_t offset = 0;
    while (offset < bytes.size()) {
      const size_t length = std::uniform_int_distribution<size_t>(1, 4)(rng);
      decoder.Append(absl::string_view(bytes).substr(offset, length));
      const std::string delta = decoder.TakeComplete();
      EXPECT_TRUE(IsValidUtf8(delta));
      streamed += delta;
      offset += length;
    }
    streamed += decoder.Finish();
    EXPECT_EQ(streamed, Utf8Lossy(bytes));
  }
}

}  // namespace
}  // namespace minimind
