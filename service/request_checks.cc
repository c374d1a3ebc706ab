#include "service/request_checks.h"

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/tokenizer/utf8.h"
#include "proto/lenient_parse.h"

namespace minimind {

absl::Status CheckRequestParsed(const google::protobuf::Message& request) {
  std::optional<std::string> error = RequestParseError(request);
  if (error.has_value()) return absl::InvalidArgumentError(*error);
  return absl::OkStatus();
}

absl::Status CheckUtf8(absl::string_view field, absl::string_view text) {
  const size_t offset = FirstInvalidUtf8Offset(text);
  if (offset == text.size()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(field, " is not valid UTF-8 (first bad byte at offset ", offset, ")"));
}

}  // namespace minimind
