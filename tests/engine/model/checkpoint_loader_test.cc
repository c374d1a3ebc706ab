#include "engine/model/checkpoint_loader.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/kernels/float_convert.h"
#include "engine/model/safetensors_reader.h"
#include "engine/model/safetensors_writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/test_paths.h"

namespace minimind {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;

fs::path ModelDir(const std::string& model) { return testing::TestDataDir() / "models" / model; }

fs::path ScratchDir() {
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  const fs::path directory =
      fs::path(::testing::TempDir()) / "checkpoint_loader_test" / test->name();
  fs::remove_all(directory);
  fs::create_directories(directory);
  return directory;
}

TensorMap CommittedTensors(const std::string& model) {
  absl::StatusOr<TensorMap> tensors =
      ReadSafetensors((ModelDir(model) / "model.safetensors").string());
  EXPECT_TRUE(tensors.ok()) << tensors.status();
  return *std::move(tensors);
}

nlohmann::json CommittedConfig(const std::string& model) {
  return nlohmann::json::parse(testing::ReadFileOrEmpty(ModelDir(model) / "config.json"));
}

// Writes config.json and model.safetensors into a fresh directory and returns it.
fs::path WriteCheckpoint(const nlohmann::json& config, const TensorMap& tensors) {
  const fs::path directory = ScratchDir();
  std::ofstream(directory / "config.json") << config.dump(2);
  EXPECT_TRUE(WriteSafetensors((directory / "model.safetensors").string(), tensors).ok());
  return directory;
}

// A heap copy of `tensor` whose raw bytes the caller may edit.
Tensor EditableCopy(const Tensor& tensor, std::shared_ptr<std::vector<unsigned char>>& bytes) {
  bytes = std::make_shared<std::vector<unsigned char>>(
      static_cast<const unsigned char*>(tensor.data()),
      static_cast<const unsigned char*>(tensor.data()) + tensor.size_bytes());
  const void* data = bytes->data();
  return Tensor(tensor.dtype(), std::vector<int64_t>(tensor.shape().begin(), tensor.shape().end()),
                data, bytes);
}

absl::Status LoadStatus(const fs::path& path, const LoadOptions& options = {}) {
  return LoadModel(path.string(), options).status();
}

TEST(CheckpointLoaderTest, LoadsEveryCommittedModel) {
  struct Case {
    const char* model;
    Architecture architecture;
    int64_t parameters;
  };
  for (const Case& c : {Case{"tiny-llama", Architecture::kLlama, 98624},
                        Case{"tiny-llama-f16", Architecture::kLlama, 98624},
                        Case{"tiny-llama-yarn", Architecture::kLlama, 123200},
                        Case{"tiny-minimind-moe", Architecture::kMiniMind, 111424},
                        Case{"tiny-qwen2", Architecture::kQwen2, 123456},
                        Case{"tiny-qwen3", Architecture::kQwen3, 111008},
                        Case{"tiny-qwen3-moe", Architecture::kQwen3Moe, 123776}}) {
    const absl::StatusOr<Model> model = LoadModel(ModelDir(c.model).string());
    ASSERT_TRUE(model.ok()) << c.model << ": " << model.status();
    EXPECT_EQ(model->config.architecture, c.architecture) << c.model;
    EXPECT_EQ(model->parameter_count, c.parameters) << c.model;
    const ModelWeights& weights = model->weights;
    ASSERT_EQ(weights.layers.size(), 2u);
    EXPECT_FALSE(weights.embed_tokens.empty());
    EXPECT_FALSE(weights.final_norm.empty());
    EXPECT_FALSE(weights.lm_head.empty());
    EXPECT_EQ(weights.lm_head.data() == weights.embed_tokens.data(),
              model->config.tie_word_embeddings)
        << c.model;
    for (const LayerWeights& layer : weights.layers) {
      EXPECT_FALSE(layer.input_norm.empty());
      EXPECT_FALSE(layer.attention.o_proj.empty());
      EXPECT_EQ(layer.attention.q_bias.empty(), !model->config.attention_bias) << c.model;
      EXPECT_TRUE(layer.attention.o_bias.empty());
      EXPECT_EQ(layer.attention.k_norm.empty(), !model->config.qk_norm) << c.model;
      const bool moe = model->config.num_experts > 0;
      EXPECT_EQ(layer.mlp.up_proj.empty(), moe) << c.model;
      EXPECT_EQ(layer.moe.router.empty(), !moe) << c.model;
      EXPECT_EQ(static_cast<int64_t>(layer.moe.experts.size()), model->config.num_experts);
    }
  }
}

TEST(CheckpointLoaderTest, PthLoadsWithItsSidecarConfigAndMatchesSafetensors) {
  const absl::StatusOr<Model> pth = LoadModel((ModelDir("tiny-llama-pth") / "model.pth").string());
  ASSERT_TRUE(pth.ok()) << pth.status();
  EXPECT_EQ(pth->config.architecture, Architecture::kMiniMind);
  EXPECT_EQ(pth->parameter_count, 98624);  // The stored lm_head copy is ignored (tied).
  EXPECT_EQ(pth->weights.lm_head.data(), pth->weights.embed_tokens.data());

  const absl::StatusOr<Model> f16 = LoadModel(ModelDir("tiny-llama-f16").string());
  ASSERT_TRUE(f16.ok()) << f16.status();
  const auto same = [](const Tensor& a, const Tensor& b) {
    return a.dtype() == b.dtype() && a.size_bytes() == b.size_bytes() &&
           std::equal(a.shape().begin(), a.shape().end(), b.shape().begin(), b.shape().end()) &&
           std::memcmp(a.data(), b.data(), a.size_bytes()) == 0;
  };
  EXPECT_TRUE(same(pth->weights.embed_tokens, f16->weights.embed_tokens));
  EXPECT_TRUE(same(pth->weights.lm_head, f16->weights.lm_head));
  EXPECT_TRUE(same(pth->weights.final_norm, f16->weights.final_norm));
  for (int layer = 0; layer < 2; ++layer) {
    const LayerWeights& a = pth->weights.layers[layer];
    const LayerWeights& b = f16->weights.layers[layer];
    EXPECT_TRUE(same(a.input_norm, b.input_norm));
    EXPECT_TRUE(same(a.post_attention_norm, b.post_attention_norm));
    EXPECT_TRUE(same(a.attention.q_proj, b.attention.q_proj));
    EXPECT_TRUE(same(a.attention.k_proj, b.attention.k_proj));
    EXPECT_TRUE(same(a.attention.v_proj, b.attention.v_proj));
    EXPECT_TRUE(same(a.attention.o_proj, b.attention.o_proj));
    EXPECT_TRUE(same(a.mlp.gate_proj, b.mlp.gate_proj));
    EXPECT_TRUE(same(a.mlp.up_proj, b.mlp.up_proj));
    EXPECT_TRUE(same(a.mlp.down_proj, b.mlp.down_proj));
  }
}

TEST(CheckpointLoaderTest, FilePathsAndConfigOverride) {
  EXPECT_TRUE(LoadModel((ModelDir("tiny-qwen3") / "model.safetensors").string()).ok());
  EXPECT_TRUE(
      LoadModel((ModelDir("tiny-qwen3-moe") / "model.safetensors.index.json").string()).ok());
  LoadOptions options;
  options.config_path = (ModelDir("tiny-llama") / "config.json").string();
  const absl::StatusOr<Model> model =
      LoadModel((ModelDir("tiny-llama-f16") / "model.safetensors").string(), options);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->weights.embed_tokens.dtype(), DType::kF16);

  // A .pth somewhere without a sidecar, given its config explicitly.
  const fs::path lonely = ScratchDir() / "full_sft_512.pth";
  fs::copy_file(ModelDir("tiny-llama-pth") / "model.pth", lonely);
  EXPECT_EQ(LoadStatus(lonely).code(), absl::StatusCode::kNotFound);
  options.config_path = (ModelDir("tiny-llama-pth") / "config.json").string();
  EXPECT_TRUE(LoadModel(lonely.string(), options).ok());
}

TEST(CheckpointLoaderTest, TensorsOutliveTheModelTheyCameFrom) {
  Tensor embedding;
  {
    absl::StatusOr<Model> model = LoadModel(ModelDir("tiny-qwen3").string());
    ASSERT_TRUE(model.ok());
    embedding = model->weights.embed_tokens;
  }
  EXPECT_EQ(embedding.dtype(), DType::kBF16);
  EXPECT_TRUE(
      std::isfinite(BF16ToF32(embedding.data_as<uint16_t>()[embedding.num_elements() - 1])));
}

TEST(CheckpointLoaderTest, MissingTensor) {
  TensorMap tensors = CommittedTensors("tiny-llama");
  tensors.erase("model.layers.1.self_attn.q_proj.weight");
  const fs::path directory = WriteCheckpoint(CommittedConfig("tiny-llama"), tensors);
  const absl::Status status = LoadStatus(directory);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              AllOf(HasSubstr(directory.string()),
                    HasSubstr("'model.layers.1.self_attn.q_proj.weight'"), HasSubstr("llama")));
}

TEST(CheckpointLoaderTest, UntiedConfigWithoutLmHead) {
  nlohmann::json config = CommittedConfig("tiny-llama");
  config["tie_word_embeddings"] = false;
  const absl::Status status = LoadStatus(WriteCheckpoint(config, CommittedTensors("tiny-llama")));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              AllOf(HasSubstr("'lm_head.weight'"), HasSubstr("tie_word_embeddings is false")));
}

TEST(CheckpointLoaderTest, WrongShape) {
  TensorMap tensors = CommittedTensors("tiny-llama");
  // Swap in a [64, 64] tensor where k_proj should be [32, 64].
  tensors["model.layers.0.self_attn.k_proj.weight"] =
      tensors.at("model.layers.0.self_attn.q_proj.weight");
  const absl::Status status = LoadStatus(WriteCheckpoint(CommittedConfig("tiny-llama"), tensors));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              AllOf(HasSubstr("'model.layers.0.self_attn.k_proj.weight'"),
                    HasSubstr("has shape [64, 64]"), HasSubstr("expects [32, 64]")));
}

TEST(CheckpointLoaderTest, UnexpectedTensorsAreRejectedExceptKnownHarmlessOnes) {
  // A qwen2 checkpoint (with q/k/v biases) described by a llama config.
  nlohmann::json config = CommittedConfig("tiny-qwen2");
  config["model_type"] = "llama";
  absl::Status status = LoadStatus(WriteCheckpoint(config, CommittedTensors("tiny-qwen2")));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), AllOf(HasSubstr("6 tensor(s)"), HasSubstr("does not describe"),
                                      HasSubstr("self_attn.k_proj.bias'")));

  // Old HF exports' rotary buffers and a tied model's redundant lm_head are fine.
  TensorMap tensors = CommittedTensors("tiny-llama");
  tensors["model.layers.0.self_attn.rotary_emb.inv_freq"] = tensors.at("model.norm.weight");
  tensors["lm_head.weight"] = tensors.at("model.embed_tokens.weight");
  const absl::StatusOr<Model> model =
      LoadModel(WriteCheckpoint(CommittedConfig("tiny-llama"), tensors).string());
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->parameter_count, 98624);
}

TEST(CheckpointLoaderTest, NonFiniteWeightsNameTheTensorAndElement) {
  struct Case {
    const char* model;
    const char* tensor;
    int64_t element;
    const char* index;
    uint32_t bits;  // Written little-endian in the tensor's own width.
  };
  const Case cases[] = {
      {"tiny-llama", "model.layers.0.mlp.up_proj.weight", 133, "[2, 5]", 0x7FC00000},  // F32 NaN
      {"tiny-llama", "model.norm.weight", 63, "[63]", 0xFF800000},                     // F32 -inf
      {"tiny-llama-f16", "model.embed_tokens.weight", 64 * 383 + 1, "[383, 1]", 0x7C00},  // F16 inf
      {"tiny-llama-f16", "model.layers.1.input_layernorm.weight", 0, "[0]", 0x7E01},      // F16 NaN
      {"tiny-qwen3", "model.layers.1.self_attn.k_norm.weight", 23, "[23]", 0xFF81},  // BF16 NaN
  };
  for (const Case& c : cases) {
    TensorMap tensors = CommittedTensors(c.model);
    std::shared_ptr<std::vector<unsigned char>> bytes;
    Tensor poisoned = EditableCopy(tensors.at(c.tensor), bytes);
    const size_t width = DTypeSize(poisoned.dtype());
    std::memcpy(bytes->data() + c.element * width, &c.bits, width);
    tensors[c.tensor] = poisoned;
    const absl::Status status = LoadStatus(WriteCheckpoint(CommittedConfig(c.model), tensors));
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.tensor;
    EXPECT_THAT(status.message(),
                AllOf(HasSubstr(absl::StrCat("'", c.tensor, "'")), HasSubstr("NaN or infinity"),
                      HasSubstr(absl::StrCat("element ", c.element, " (index ", c.index, ")"))))
        << status;
  }
}

TEST(CheckpointLoaderTest, LargestFiniteValuesAreAccepted) {
  TensorMap tensors = CommittedTensors("tiny-llama-f16");
  std::shared_ptr<std::vector<unsigned char>> bytes;
  Tensor extreme = EditableCopy(tensors.at("model.norm.weight"), bytes);
  const uint16_t max_half = 0x7BFF, min_subnormal = 0x8001;
  std::memcpy(bytes->data(), &max_half, 2);
  std::memcpy(bytes->data() + 2, &min_subnormal, 2);
  tensors["model.norm.weight"] = extreme;
  EXPECT_TRUE(LoadStatus(WriteCheckpoint(CommittedConfig("tiny-llama-f16"), tensors)).ok());
}

TEST(CheckpointLoaderTest, ConfigErrorsNameTheConfigFile) {
  nlohmann::json config = CommittedConfig("tiny-llama");
  config["model_type"] = "gpt2";
  const fs::path directory = WriteCheckpoint(config, CommittedTensors("tiny-llama"));
  const absl::Status status = LoadStatus(directory);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(status.message(), AllOf(HasSubstr((directory / "config.json").string()),
                                      HasSubstr("'gpt2'"), HasSubstr("qwen3_moe")));
}

TEST(CheckpointLoaderTest, MissingFiles) {
  const fs::path directory = ScratchDir();
  absl::Status status = LoadStatus(directory / "absent");
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("does not exist"));

  status = LoadStatus(directory);  // Empty directory.
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("neither model.safetensors"));

  fs::copy_file(ModelDir("tiny-llama") / "model.safetensors", directory / "model.safetensors");
  status = LoadStatus(directory);  // Weights without config.json.
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr((directory / "config.json").string()));

  LoadOptions options;
  options.config_path = (directory / "nope.json").string();
  status = LoadStatus(directory, options);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("nope.json"));

  std::ofstream(directory / "weights.bin") << "x";
  status = LoadStatus(directory / "weights.bin");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("*.pth"));
}

TEST(CheckpointLoaderTest, CorruptWeightsFileIsReported) {
  const fs::path directory = ScratchDir();
  fs::copy_file(ModelDir("tiny-llama") / "config.json", directory / "config.json");
  std::ofstream(directory / "model.safetensors") << "garbage!garbage!";
  const absl::Status status = LoadStatus(directory);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("model.safetensors"));
}

TEST(CheckpointLoaderTest, AssembleModelFromMemory) {
  absl::StatusOr<ModelConfig> config =
      ParseModelConfig(testing::ReadFileOrEmpty(ModelDir("tiny-qwen2") / "config.json"));
  ASSERT_TRUE(config.ok());
  const TensorMap tensors = CommittedTensors("tiny-qwen2");
  const absl::StatusOr<Model> model = AssembleModel(*config, tensors);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->weights.layers[1].attention.v_bias.data(),
            tensors.at("model.layers.1.self_attn.v_proj.bias").data());
  EXPECT_EQ(model->parameter_count, 123456);
}

}  // namespace
}  // namespace minimind
