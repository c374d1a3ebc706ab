#include "engine/tokenizer/byte_level.h"

#include <set>
#include <string>

#include "gtest/gtest.h"

namespace minimind {
namespace {

TEST(ByteLevelAlphabetTest, IsABijectionOverAllBytes) {
  const ByteLevelAlphabet alphabet;
  std::set<std::string> symbols;
  for (int byte = 0; byte < 256; ++byte) {
    const std::string symbol(alphabet.SymbolOf(static_cast<uint8_t>(byte)));
    symbols.insert(symbol);
    const auto back = alphabet.ToBytes(symbol);
    ASSERT_TRUE(back.has_value()) << byte;
    EXPECT_EQ(*back, std::string(1, static_cast<char>(byte)));
  }
  EXPECT_EQ(symbols.size(), 256u);
}

TEST(ByteLevelAlphabetTest, MatchesGpt2Assignments) {
  const ByteLevelAlphabet alphabet;
  EXPECT_EQ(alphabet.SymbolOf('A'), "A");
  EXPECT_EQ(alphabet.SymbolOf(' '), "\xC4\xA0");   // U+0120 'Ġ'
  EXPECT_EQ(alphabet.SymbolOf('\n'), "\xC4\x8A");  // U+010A 'Ċ'
  EXPECT_EQ(alphabet.SymbolOf(0xAD), "\xC5\x83");  // Soft hyphen is shifted: U+0143 'Ń'
  EXPECT_EQ(alphabet.SymbolOf(0xE4), "\xC3\xA4");  // Kept as itself: U+00E4 'ä'
}

TEST(ByteLevelAlphabetTest, RejectsCharactersOutsideTheAlphabet) {
  const ByteLevelAlphabet alphabet;
  EXPECT_FALSE(alphabet.ToBytes("a b").has_value());  // ' ' itself is not a symbol.
  EXPECT_FALSE(alphabet.ToBytes("中").has_value());
  EXPECT_EQ(*alphabet.ToBytes("\xC4\xA0hi"), " hi");
}

}  // namespace
}  // namespace minimind
