#include "engine/model/checkpoint_loader.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/base/status_macros.h"
#include "engine/model/checkpoint_layout.h"
#include "engine/model/mapped_file.h"
#include "engine/model/pth_reader.h"
#include "engine/model/safetensors_reader.h"

namespace minimind {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxNamesInError = 5;

std::string JoinSome(const std::vector<std::string>& names) {
  std::vector<std::string> quoted;
  for (size_t i = 0; i < names.size() && i < kMaxNamesInError; ++i) {
    quoted.push_back(absl::StrCat("'", names[i], "'"));
  }
  if (names.size() > kMaxNamesInError) {
    quoted.push_back(absl::StrCat("and ", names.size() - kMaxNamesInError, " more"));
  }
  return absl::StrJoin(quoted, ", ");
}

// Index of the first NaN or infinity, or -1. Compares exponent bits (all ones = non-finite) in
// blocks so the common all-finite case vectorises; only a bad block is searched element-wise.
template <typename Bits>
int64_t FirstNonFiniteIn(const void* data, int64_t count, Bits exponent_mask) {
  constexpr int64_t kBlock = 4096;
  for (int64_t start = 0; start < count; start += kBlock) {
    const int64_t end = std::min(count, start + kBlock);
    bool any = false;
    for (int64_t i = start; i < end; ++i) {
      Bits bits;
      std::memcpy(&bits, static_cast<const char*>(data) + i * sizeof(Bits), sizeof(Bits));
      any |= (bits & exponent_mask) == exponent_mask;
    }
    if (!any) continue;
    for (int64_t i = start; i < end; ++i) {
      Bits bits;
      std::memcpy(&bits, static_cast<const char*>(data) + i * sizeof(Bits), sizeof(Bits));
      if ((bits & exponent_mask) == exponent_mask) return i;
    }
  }
  return -1;
}

int64_t FirstNonFinite(const Tensor& tensor) {
  switch (tensor.dtype()) {
    case DType::kF32:
      return FirstNonFiniteIn<uint32_t>(tensor.data(), tensor.num_elements(), 0x7F800000u);
    case DType::kF16:
      return FirstNonFiniteIn<uint16_t>(tensor.data(), tensor.num_elements(), 0x7C00u);
    case DType::kBF16:
      return FirstNonFiniteIn<uint16_t>(tensor.data(), tensor.num_elements(), 0x7F80u);
    case DType::kQ8:  // Only made at load, from weights already checked.
    case DType::kQ8A8:
      return -1;
  }
  return -1;
}

absl::Status CheckFinite(const std::string& name, const Tensor& tensor) {
  const int64_t flat = FirstNonFinite(tensor);
  if (flat < 0) return absl::OkStatus();
  std::vector<int64_t> index(tensor.rank());
  int64_t remainder = flat;
  for (int axis = tensor.rank() - 1; axis >= 0; --axis) {
    index[axis] = remainder % tensor.dim(axis);
    remainder /= tensor.dim(axis);
  }
  return absl::InvalidArgumentError(absl::StrCat("tensor '", name,
                                                 "' holds a NaN or infinity at element ", flat,
                                                 " (index ", FormatShape(index), ")"));
}

// Tensors a checkpoint may hold without them meaning anything here.
bool IsIgnorable(const std::string& name, const ModelConfig& config) {
  return (config.tie_word_embeddings && name == "lm_head.weight") ||
         absl::EndsWith(name, ".rotary_emb.inv_freq");
}

absl::StatusOr<std::string> ReadText(const std::string& path) {
  MINIMIND_ASSIGN_OR_RETURN(std::shared_ptr<const MappedFile> file, MappedFile::Open(path));
  return std::string(file->bytes().begin(), file->bytes().end());
}

absl::Status WithContext(const absl::Status& status, absl::string_view context) {
  return absl::Status(status.code(), absl::StrCat(context, status.message()));
}

struct CheckpointFiles {
  std::string config;
  enum class Format { kSafetensors, kShardedSafetensors, kPth } format;
  std::string weights;
};

absl::StatusOr<CheckpointFiles> LocateFiles(const std::string& path, const LoadOptions& options) {
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  if (!fs::exists(status)) {
    return absl::NotFoundError(absl::StrCat("checkpoint '", path, "' does not exist"));
  }
  CheckpointFiles files;
  fs::path config_directory;
  if (fs::is_directory(status)) {
    const fs::path directory(path);
    config_directory = directory;
    if (fs::exists(directory / "model.safetensors", error)) {
      files.format = CheckpointFiles::Format::kSafetensors;
      files.weights = (directory / "model.safetensors").string();
    } else if (fs::exists(directory / "model.safetensors.index.json", error)) {
      files.format = CheckpointFiles::Format::kShardedSafetensors;
      files.weights = (directory / "model.safetensors.index.json").string();
    } else {
      return absl::NotFoundError(
          absl::StrCat("checkpoint directory '", path,
                       "' holds neither model.safetensors nor model.safetensors.index.json"));
    }
  } else {
    config_directory = fs::path(path).parent_path();
    files.weights = path;
    if (absl::EndsWith(path, ".pth")) {
      files.format = CheckpointFiles::Format::kPth;
    } else if (absl::EndsWith(path, ".safetensors")) {
      files.format = CheckpointFiles::Format::kSafetensors;
    } else if (absl::EndsWith(path, ".safetensors.index.json")) {
      files.format = CheckpointFiles::Format::kShardedSafetensors;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "checkpoint '", path,
          "' is not a directory, *.safetensors, *.safetensors.index.json or *.pth file"));
    }
  }
  if (!options.config_path.empty()) {
    files.config = options.config_path;
  } else {
    files.config = (config_directory / "config.json").string();
    if (!fs::exists(files.config, error)) {
      return absl::NotFoundError(
          absl::StrCat("checkpoint '", path, "' has no config: '", files.config,
                       "' does not exist (a .pth needs MiniMind's config.json beside it, or "
                       "LoadOptions::config_path)"));
    }
  }
  return files;
}

}  // namespace

absl::StatusOr<Model> AssembleModel(const ModelConfig& config, const TensorMap& tensors) {
  Model model{.config = config};
  const std::vector<WeightSlot> slots = CheckpointLayout(model.config, model.weights);

  std::vector<std::string> missing;
  absl::flat_hash_set<std::string> expected;
  for (const WeightSlot& slot : slots) {
    expected.insert(slot.name);
    if (!tensors.contains(slot.name)) missing.push_back(slot.name);
  }
  const std::string architecture = ArchitectureName(config.architecture);
  if (!missing.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "checkpoint lacks ", missing.size(), " tensor(s) the ", architecture,
        " config requires: ", JoinSome(missing),
        std::find(missing.begin(), missing.end(), "lm_head.weight") == missing.end()
            ? ""
            : " (the config says tie_word_embeddings is false, so lm_head.weight must be stored)"));
  }
  std::vector<std::string> unexpected;
  for (const auto& [name, tensor] : tensors) {
    if (!expected.contains(name) && !IsIgnorable(name, config)) unexpected.push_back(name);
  }
  if (!unexpected.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("checkpoint holds ", unexpected.size(), " tensor(s) the ", architecture,
                     " config does not describe: ", JoinSome(unexpected),
                     " (does config.json match the checkpoint?)"));
  }

  for (const WeightSlot& slot : slots) {
    const Tensor& tensor = tensors.at(slot.name);
    if (!std::equal(tensor.shape().begin(), tensor.shape().end(), slot.shape.begin(),
                    slot.shape.end())) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor '", slot.name, "' has shape ", FormatShape(tensor.shape()),
                       " but the ", architecture, " config expects ", FormatShape(slot.shape)));
    }
    MINIMIND_RETURN_IF_ERROR(CheckFinite(slot.name, tensor));
    *slot.destination = tensor;
    model.parameter_count += tensor.num_elements();
  }
  if (config.tie_word_embeddings) model.weights.lm_head = model.weights.embed_tokens;
  return model;
}

absl::StatusOr<Model> LoadModel(const std::string& path, const LoadOptions& options) {
  MINIMIND_ASSIGN_OR_RETURN(const CheckpointFiles files, LocateFiles(path, options));
  MINIMIND_ASSIGN_OR_RETURN(const std::string config_text, ReadText(files.config));
  absl::StatusOr<ModelConfig> config = ParseModelConfig(config_text);
  if (!config.ok()) {
    return WithContext(config.status(), absl::StrCat("config '", files.config, "': "));
  }
  absl::StatusOr<TensorMap> tensors;
  switch (files.format) {
    case CheckpointFiles::Format::kSafetensors:
      tensors = ReadSafetensors(files.weights);
      break;
    case CheckpointFiles::Format::kShardedSafetensors:
      tensors = ReadShardedSafetensors(files.weights);
      break;
    case CheckpointFiles::Format::kPth:
      tensors = ReadPth(files.weights);
      break;
  }
  if (!tensors.ok()) return tensors.status();
  absl::StatusOr<Model> model = AssembleModel(*config, *tensors);
  if (!model.ok()) {
    return WithContext(model.status(), absl::StrCat("checkpoint '", path, "': "));
  }
  return model;
}

}  // namespace minimind
