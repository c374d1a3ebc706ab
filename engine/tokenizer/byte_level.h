// The GPT-2 byte-level alphabet: a bijection between the 256 byte values and 256 printable
// Unicode characters, so that any byte string can be written as a vocabulary string.
// Immutable after construction; safe to share across threads.
#ifndef MINIMIND_ENGINE_TOKENIZER_BYTE_LEVEL_H_
#define MINIMIND_ENGINE_TOKENIZER_BYTE_LEVEL_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"

namespace minimind {

class ByteLevelAlphabet {
 public:
  ByteLevelAlphabet();

  // UTF-8 encoding of the character that stands for `byte`.
  absl::string_view SymbolOf(uint8_t byte) const { return symbols_[byte]; }

  // Maps every character of `token` back to its byte. Returns nullopt when a character is not in
  // the alphabet (Hugging Face's ByteLevel decoder then keeps the token's raw UTF-8 instead).
  std::optional<std::string> ToBytes(absl::string_view token) const;

  // Appends the symbols of every byte of `bytes` to `out`.
  void AppendSymbols(absl::string_view bytes, std::string& out) const;

 private:
  std::array<std::string, 256> symbols_;
  // Code point (0..323) -> byte, or -1 when the code point is not a symbol.
  std::array<int16_t, 324> byte_of_code_point_;
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_TOKENIZER_BYTE_LEVEL_H_
