// BPE encode/decode round trip and the streaming detokenizer on the shipped model's byte-level
// tokenizer: every valid UTF-8 text must decode back to itself exactly, and StreamingDetokenizer
// (Add per id, then Finish) must equal one-shot Decode for any id sequence.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/tokenizer/streaming_detokenizer.h"
#include "engine/tokenizer/tokenizer.h"
#include "fuzz/fuzz_support.h"

namespace {

const minimind::Tokenizer& ShippedTokenizer() {
  static const minimind::Tokenizer* tokenizer = [] {
    absl::StatusOr<minimind::Tokenizer> loaded =
        minimind::Tokenizer::FromFile(minimind::fuzz::ModelDir() + "/tokenizer.json");
    if (!loaded.ok()) minimind::fuzz::Violated("load", std::string(loaded.status().message()));
    return new minimind::Tokenizer(*std::move(loaded));
  }();
  return *tokenizer;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const minimind::Tokenizer& tokenizer = ShippedTokenizer();
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  // Text as text (special tokens not parsed, so nothing is interpreted): exact round trip.
  absl::StatusOr<std::vector<minimind::TokenId>> ids =
      tokenizer.Encode(text, /*parse_special=*/false);
  if (ids.ok()) {
    absl::StatusOr<std::string> decoded = tokenizer.Decode(*ids);
    if (!decoded.ok() || *decoded != text) {
      minimind::fuzz::Violated("Decode(Encode(text)) == text",
                               absl::StrCat(size, " bytes -> ", ids->size(), " ids"));
    }
  }
  // The same bytes as arbitrary ids: streaming decode equals one-shot decode.
  std::vector<minimind::TokenId> arbitrary;
  for (size_t i = 0; i + 1 < size; i += 2) {
    arbitrary.push_back(static_cast<minimind::TokenId>((data[i] | (data[i + 1] << 8)) %
                                                       (tokenizer.vocab_size() + 8)));
  }
  for (const bool skip_special : {false, true}) {
    absl::StatusOr<std::string> whole = tokenizer.Decode(arbitrary, skip_special);
    // The engine's StreamingDetokenizer, id by id.
    minimind::StreamingDetokenizer detokenizer(tokenizer, skip_special);
    std::string streamed;
    bool failed = false;
    for (const minimind::TokenId id : arbitrary) {
      absl::StatusOr<std::string> piece = detokenizer.Add(id);
      if (!piece.ok()) {
        failed = true;
        break;
      }
      streamed += *piece;
    }
    if (failed != !whole.ok()) minimind::fuzz::Violated("Add fails iff Decode fails", "");
    if (!failed) {
      streamed += detokenizer.Finish();
      if (streamed != *whole) minimind::fuzz::Violated("streamed == Decode", "");
    }
  }
  return 0;
}
