// CommandLine: the `--name value` / `--name=value` / `--switch` arguments of one subcommand.
// Every flag a subcommand reads is declared up front, so a misspelt flag is an error, not a
// silently ignored word.
#ifndef MINIMIND_TOOLS_CLI_COMMAND_LINE_H_
#define MINIMIND_TOOLS_CLI_COMMAND_LINE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

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

  // The last value given for `name`, or nullopt.
  std::optional<std::string> Value(absl::string_view name) const;
  // Every value given for a repeatable flag, in order.
  std::vector<std::string> Values(absl::string_view name) const;
  bool Has(absl::string_view name) const {
    return switches_.contains(name) || values_.contains(name);
  }

  // Numeric flags: `fallback` when absent; InvalidArgument naming the flag when not a number.
  absl::StatusOr<int64_t> IntOr(absl::string_view name, int64_t fallback) const;
  absl::StatusOr<double> DoubleOr(absl::string_view name, double fallback) const;
  // Like IntOr/DoubleOr, but nullopt when absent.
  absl::StatusOr<std::optional<int64_t>> OptionalInt(absl::string_view name) const;
  absl::StatusOr<std::optional<double>> OptionalDouble(absl::string_view name) const;

 private:
  absl::flat_hash_map<std::string, std::vector<std::string>> values_;
  absl::flat_hash_set<std::string> switches_;
};

}  // namespace minimind::cli

#endif  // MINIMIND_TOOLS_CLI_COMMAND_LINE_H_
