#include "tools/cli/local_model_flags.h"

#include "absl/status/status.h"

namespace minimind::cli {

void AddLocalModelFlags(FlagSet& flags) {
  for (const char* name : {"model", "config", "tokenizer"}) flags.valued.push_back(name);
}

absl::StatusOr<ModelBundle> LoadLocalModel(const CommandLine& command_line) {
  const std::optional<std::string> model = command_line.Value("model");
  if (!model.has_value()) return absl::InvalidArgumentError("--model is required");
  return LoadModelBundle({.model_path = *model,
                          .config_path = command_line.Value("config").value_or(""),
                          .tokenizer_dir = command_line.Value("tokenizer").value_or("")});
}

}  // namespace minimind::cli
