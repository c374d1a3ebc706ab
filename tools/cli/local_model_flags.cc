#include "tools/cli/local_model_flags.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/model/weight_conversion.h"

namespace minimind::cli {

void AddLocalModelFlags(FlagSet& flags) {
  for (const char* name : {"model", "config", "tokenizer", "weight-dtype"}) {
    flags.valued.push_back(name);
  }
}

absl::StatusOr<ModelBundle> LoadLocalModel(const CommandLine& command_line) {
  const std::optional<std::string> model = command_line.Value("model");
  if (!model.has_value()) return absl::InvalidArgumentError("--model is required");
  absl::StatusOr<std::optional<DType>> weight_dtype =
      ParseWeightDType(command_line.Value("weight-dtype").value_or("auto"));
  if (!weight_dtype.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--weight-dtype: ", weight_dtype.status().message()));
  }
  return LoadModelBundle({.model_path = *model,
                          .config_path = command_line.Value("config").value_or(""),
                          .tokenizer_dir = command_line.Value("tokenizer").value_or(""),
                          .weight_dtype = *weight_dtype});
}

}  // namespace minimind::cli
