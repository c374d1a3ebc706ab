// Tokenizer files for models the project generates itself (`minimind make-random`): a byte-level
// BPE tokenizer.json with no merges — the three ChatML special tokens (ids 0-2) and one token per
// byte (ids 3-258) — and a tokenizer_config.json carrying the project's plain ChatML template
// (known_chat_templates.h). Every file is written here; nothing is copied from elsewhere.
#ifndef MINIMIND_ENGINE_TOKENIZER_BYTE_TOKENIZER_FILES_H_
#define MINIMIND_ENGINE_TOKENIZER_BYTE_TOKENIZER_FILES_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace minimind {

// Writes tokenizer.json and tokenizer_config.json into `dir` (which must exist), replacing them.
// Returns the vocabulary size (259). The error names the file when writing fails.
absl::StatusOr<int64_t> WriteByteTokenizerFiles(const std::string& dir);

}  // namespace minimind

#endif  // MINIMIND_ENGINE_TOKENIZER_BYTE_TOKENIZER_FILES_H_
