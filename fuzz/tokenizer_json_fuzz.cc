// tokenizer.json loading: arbitrary bytes must give a Tokenizer or an error, never a crash; a
// loaded tokenizer must survive encoding and decoding a slice of its own input.
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "engine/tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view json(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<minimind::Tokenizer> tokenizer = minimind::Tokenizer::FromJson(json);
  if (!tokenizer.ok()) return 0;
  absl::StatusOr<std::vector<minimind::TokenId>> ids = tokenizer->Encode(json.substr(0, 256));
  if (ids.ok()) (void)tokenizer->Decode(*ids);
  return 0;
}
