// UTF-8 validation and lossy decoding shared by the tokenizer's decode paths.
//
// Lossy decoding follows the Unicode "maximal subpart" practice, which is also what Rust's
// `String::from_utf8_lossy` (and so Hugging Face tokenizers) does: each maximal prefix of a
// well-formed sequence that is cut short or broken becomes one U+FFFD.
#ifndef MINIMIND_ENGINE_TOKENIZER_UTF8_H_
#define MINIMIND_ENGINE_TOKENIZER_UTF8_H_

#include <cstddef>
#include <string>
#include "absl/strings/string_view.h"

namespace minimind {

// Returns the byte offset of the first ill-formed byte in `text`, or `text.size()` when the whole
// string is well-formed UTF-8.
size_t FirstInvalidUtf8Offset(absl::string_view text);

inline bool IsValidUtf8(absl::string_view text) {
  return FirstInvalidUtf8Offset(text) == text.size();
}

// Incremental lossy UTF-8 decoder. Bytes go in with `Append`; `TakeComplete` returns the text
// that is final so far (complete characters, and U+FFFD for bytes already known to be invalid),
// keeping an unfinished trailing sequence pending; `Finish` flushes that pending tail (as one
// U+FFFD). Feeding bytes in any chunking yields the same concatenated output as one call to
// `Utf8Lossy` on all of them. Not thread-safe; a value type.
class Utf8LossyDecoder {
 public:
  void Append(absl::string_view bytes) { pending_.append(bytes.data(), bytes.size()); }
  std::string TakeComplete();
  std::string Finish();

 private:
  std::string pending_;
};

// One-shot lossy decoding: `Utf8LossyDecoder` fed everything, then finished.
std::string Utf8Lossy(absl::string_view bytes);

}  // namespace minimind

#endif  // MINIMIND_ENGINE_TOKENIZER_UTF8_H_
