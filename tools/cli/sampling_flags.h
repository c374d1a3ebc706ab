// The sampling flags shared by every command that generates (`generate` locally or against a
// server): their names, their usage text and their conversion to SamplingParams.
#ifndef MINIMIND_TOOLS_CLI_SAMPLING_FLAGS_H_
#define MINIMIND_TOOLS_CLI_SAMPLING_FLAGS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/sampling/sampling_params.h"
#include "tools/cli/command_line.h"

namespace minimind::cli {

inline constexpr char kSamplingFlagsUsage[] =
    "  sampling: [--max-tokens N] [--temperature T] [--top-k K] [--top-p P] [--min-p P]\n"
    "    [--repetition-penalty R] [--presence-penalty P] [--frequency-penalty F] [--seed S]\n"
    "    [--stop TEXT]... [--stop-token-id ID]... [--ignore-eos]\n"
    "    Unset flags take the engine defaults (temperature 1, no truncation, no penalties);\n"
    "    --temperature 0 is greedy.\n";

// Appends the sampling flags to `flags`.
void AddSamplingFlags(FlagSet& flags);

// SamplingParams from the flags, validated (InvalidArgument naming the flag or field).
absl::StatusOr<SamplingParams> SamplingParamsFrom(const CommandLine& command_line);

}  // namespace minimind::cli

#endif  // MINIMIND_TOOLS_CLI_SAMPLING_FLAGS_H_
