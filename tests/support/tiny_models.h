// The tiny test checkpoints committed under tests/data/models (one per supported architecture and
// format; tools/oracle makes them and their PyTorch goldens). Header-only; a test that includes it
// links minimind_model_io.
#ifndef MINIMIND_TESTS_SUPPORT_TINY_MODELS_H_
#define MINIMIND_TESTS_SUPPORT_TINY_MODELS_H_

#include <filesystem>
#include <string>

#include "absl/status/statusor.h"
#include "engine/model/checkpoint_loader.h"
#include "tests/support/test_paths.h"

namespace minimind::testing {

inline constexpr const char* kAllTinyModels[] = {
    "tiny-llama", "tiny-llama-f16", "tiny-llama-pth",    "tiny-qwen2",
    "tiny-qwen3", "tiny-qwen3-moe", "tiny-minimind-moe", "tiny-llama-yarn"};

// The tiny checkpoint `name`: its directory, or the .pth file inside it for MiniMind's format.
inline absl::StatusOr<Model> LoadTinyModel(const std::string& name) {
  const std::filesystem::path directory = TestDataDir() / "models" / name;
  const std::filesystem::path pth = directory / "model.pth";
  return LoadModel(std::filesystem::exists(pth) ? pth.string() : directory.string());
}

}  // namespace minimind::testing

#endif  // MINIMIND_TESTS_SUPPORT_TINY_MODELS_H_
