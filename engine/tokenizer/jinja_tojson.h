// JinjaToJson: the `tojson` filter of Hugging Face chat templates, applied to a JSON value given as
// text. transformers defines the filter as Python's `json.dumps(value, ensure_ascii=False)`, so the
// output is Python's, byte for byte:
//   - separators ", " and ": ", no indentation, object keys in their original order (a repeated
//     key keeps its first position and its last value, as Python's json.loads does);
//   - strings escape only '"', '\\' and the C0 controls: \n \r \t \b \f by name, the others as
//     \u00XX (lower-case hex); every other character, non-ASCII included, is written as is;
//   - integers as written; floats as Python's repr (shortest round-trip digits, "1.0", "1e-05",
//     "1e+16"; fixed notation for decimal exponents from -4 to 15).
// Limitation: an integer outside the 64-bit range is read as a float (Python keeps it exact).
// Stateless; safe to call from any thread.
#ifndef MINIMIND_ENGINE_TOKENIZER_JINJA_TOJSON_H_
#define MINIMIND_ENGINE_TOKENIZER_JINJA_TOJSON_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace minimind {

// InvalidArgument when `json_text` is not one valid JSON value (invalid UTF-8 included).
absl::StatusOr<std::string> JinjaToJson(absl::string_view json_text);

}  // namespace minimind

#endif  // MINIMIND_ENGINE_TOKENIZER_JINJA_TOJSON_H_
