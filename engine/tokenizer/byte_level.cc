#include "engine/tokenizer/byte_level.h"

namespace minimind {
namespace {

// Bytes that GPT-2 keeps as their own Latin-1 character; every other byte b is shifted to
// code point 256 + (its rank among the non-kept bytes).
bool IsKeptAsItself(int byte) {
  return (byte >= '!' && byte <= '~') || (byte >= 0xA1 && byte <= 0xAC) ||
         (byte >= 0xAE && byte <= 0xFF);
}

std::string EncodeCodePoint(uint32_t code_point) {
  std::string out;
  if (code_point < 0x80) {
    out.push_back(static_cast<char>(code_point));
  } else {  // Every symbol is below U+0800.
    out.push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
  return out;
}

}  // namespace

ByteLevelAlphabet::ByteLevelAlphabet() {
  byte_of_code_point_.fill(-1);
  int shifted = 0;
  for (int byte = 0; byte < 256; ++byte) {
    const uint32_t code_point = IsKeptAsItself(byte) ? byte : 256 + shifted++;
    symbols_[byte] = EncodeCodePoint(code_point);
    byte_of_code_point_[code_point] = static_cast<int16_t>(byte);
  }
}

std::optional<std::string> ByteLevelAlphabet::ToBytes(absl::string_view token) const {
  std::string bytes;
  bytes.reserve(token.size());
  size_t i = 0;
  while (i < token.size()) {
    const auto lead = static_cast<uint8_t>(token[i]);
    uint32_t code_point;
    if (lead < 0x80) {
      code_point = lead;
      i += 1;
    } else if ((lead & 0xE0) == 0xC0 && i + 1 < token.size()) {
      code_point = ((lead & 0x1F) << 6) | (static_cast<uint8_t>(token[i + 1]) & 0x3F);
      i += 2;
    } else {
      return std::nullopt;  // Three- and four-byte characters are never symbols.
    }
    if (code_point >= byte_of_code_point_.size() || byte_of_code_point_[code_point] < 0) {
      return std::nullopt;
    }
    bytes.push_back(static_cast<char>(byte_of_code_point_[code_point]));
  }
  return bytes;
}

void ByteLevelAlphabet::AppendSymbols(absl::string_view bytes, std::string& out) const {
  for (const char byte : bytes) out.append(symbols_[static_cast<uint8_t>(byte)]);
}

}  // namespace minimind
