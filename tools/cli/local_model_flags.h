// The flags that name a local model (--model, --config, --tokenizer) and how to store its weights
// (--weight-dtype auto|f32|f16|bf16|int8, see engine/model/weight_conversion.h), shared by the
// commands that load one, and the load itself with errors printed for the user.
#ifndef MINIMIND_TOOLS_CLI_LOCAL_MODEL_FLAGS_H_
#define MINIMIND_TOOLS_CLI_LOCAL_MODEL_FLAGS_H_

#include <iosfwd>

#include "absl/status/statusor.h"
#include "engine/model/model_bundle.h"
#include "tools/cli/command_line.h"

namespace minimind::cli {

// Appends "model", "config", "tokenizer" and "weight-dtype" to `flags`.
void AddLocalModelFlags(FlagSet& flags);

// Loads the bundle the flags name. InvalidArgument when --model is missing or --weight-dtype is
// not one of its values.
absl::StatusOr<ModelBundle> LoadLocalModel(const CommandLine& command_line);

}  // namespace minimind::cli

#endif  // MINIMIND_TOOLS_CLI_LOCAL_MODEL_FLAGS_H_
