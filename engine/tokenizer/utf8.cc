#include "engine/tokenizer/utf8.h"

#include <cstdint>

#include "absl/strings/str_cat.h"

namespace minimind {
namespace {

constexpr absl::string_view kReplacementCharacter = "\xEF\xBF\xBD";

// Outcome of examining the sequence that starts at some offset.
struct SequenceScan {
  enum Kind { kValid, kInvalid, kIncomplete } kind;
  // kValid: length of the character. kInvalid: length of the maximal ill-formed subpart (one
  // U+FFFD replaces it). kIncomplete: bytes present so far (all well-formed).
  size_t length;
};

// Valid range of the second byte for a lead byte, per Unicode Table 3-7.
bool SecondByteInRange(uint8_t lead, uint8_t second) {
  switch (lead) {
    case 0xE0: return second >= 0xA0 && second <= 0xBF;
    case 0xED: return second >= 0x80 && second <= 0x9F;
    case 0xF0: return second >= 0x90 && second <= 0xBF;
    case 0xF4: return second >= 0x80 && second <= 0x8F;
    default: return second >= 0x80 && second <= 0xBF;
  }
}

SequenceScan ScanSequence(absl::string_view text, size_t offset) {
  const auto lead = static_cast<uint8_t>(text[offset]);
  size_t needed;
  if (lead < 0x80) return {SequenceScan::kValid, 1};
  if (lead >= 0xC2 && lead <= 0xDF) {
    needed = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    needed = 3;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    needed = 4;
  } else {
    return {SequenceScan::kInvalid, 1};
  }
  for (size_t i = 1; i < needed; ++i) {
    if (offset + i >= text.size()) return {SequenceScan::kIncomplete, i};
    const auto byte = static_cast<uint8_t>(text[offset + i]);
    const bool in_range =
        i == 1 ? SecondByteInRange(lead, byte) : (byte >= 0x80 && byte <= 0xBF);
    if (!in_range) return {SequenceScan::kInvalid, i};
  }
  return {SequenceScan::kValid, needed};
}

}  // namespace

size_t FirstInvalidUtf8Offset(absl::string_view text) {
  size_t offset = 0;
  while (offset < text.size()) {
    // ASCII fast path.
    if (static_cast<uint8_t>(text[offset]) < 0x80) {
      ++offset;
      continue;
    }
    const SequenceScan scan = ScanSequence(text, offset);
    if (scan.kind != SequenceScan::kValid) return offset;
    offset += scan.length;
  }
  return text.size();
}

std::string Utf8LossyDecoder::TakeComplete() {
  std::string out;
  size_t offset = 0;
  while (offset < pending_.size()) {
    const SequenceScan scan = ScanSequence(pending_, offset);
    if (scan.kind == SequenceScan::kIncomplete) break;
    if (scan.kind == SequenceScan::kValid) {
      out.append(pending_, offset, scan.length);
    } else {
      absl::StrAppend(&out, kReplacementCharacter);
    }
    offset += scan.length;
  }
  pending_.erase(0, offset);
  return out;
}

std::string Utf8LossyDecoder::Finish() {
  std::string out = TakeComplete();
  if (!pending_.empty()) {
    absl::StrAppend(&out, kReplacementCharacter);
    pending_.clear();
  }
  return out;
}

std::string Utf8Lossy(absl::string_view bytes) {
  Utf8LossyDecoder decoder;
  decoder.Append(bytes);
  return decoder.Finish();
}

}  // namespace minimind
