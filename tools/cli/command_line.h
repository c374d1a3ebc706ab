// CommandLine: the `--name value` / `--name=value` / `--switch` arguments of one subcommand.
// Every flag a subcommand reads is declared up front, so a misspelt flag is an error, not a
// silently ignored word.
#ifndef MINIMIND_TOOLS_CLI_COMMAND_LINE_H_
#define MINIMIND_TOOLS_CLI_COMMAND_LINE_H_

#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"

namespace minimind::cli {

struct FlagSet {
  std::vector<std::string> valued;    // Flags that take a value.
  std::vector<std::string> switches;  // Boolean flags, present or not.
};

class CommandLine {
 public:
  // Parses `args` (without the program and subcommand names). InvalidArgument for an unknown
  // flag, a missing value or a positional argument.
  static absl::StatusOr<CommandLine> Parse(const std::vector<std::string>& args,
                                           const FlagSet& flags);

  std::optional<std::string> Value(absl::string_view name) const;
  bool Has(absl::string_view name) const { return switches_.contains(name) || Value(name); }

 private:
  absl::flat_hash_map<std::string, std::string> values_;
  absl::flat_hash_set<std::string> switches_;
};

}  // namespace minimind::cli

#endif  // MINIMIND_TOOLS_CLI_COMMAND_LINE_H_
