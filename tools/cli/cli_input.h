// Reading a command's input: all of a stream, byte for byte, and token ids given as JSON.
#ifndef MINIMIND_TOOLS_CLI_CLI_INPUT_H_
#define MINIMIND_TOOLS_CLI_CLI_INPUT_H_

#include <iosfwd>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/tokenizer/tokenizer.h"

namespace minimind::cli {

// Everything left in `in`, unchanged (a trailing newline counts).
std::string ReadAll(std::istream& in);

// A JSON array of 32-bit integers, e.g. "[1, 2, 3]". InvalidArgument naming `what` otherwise.
absl::StatusOr<std::vector<TokenId>> ParseTokenIdsJson(const std::string& text,
                                                       absl::string_view what);

}  // namespace minimind::cli

#endif  // MINIMIND_TOOLS_CLI_CLI_INPUT_H_
