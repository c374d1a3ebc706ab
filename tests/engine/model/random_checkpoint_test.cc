#include "engine/model/random_checkpoint.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/kernels/float_convert.h"
#include "engine/model/checkpoint_loader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_paths.h"

namespace minimind {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

fs::path ScratchDir(const std::string& name) {
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  const fs::path directory =
      fs::path(::testing::TempDir()) / "random_checkpoint_test" / test->name() / name;
  fs::remove_all(directory);
  return directory;
}

// FNV-1a: a fingerprint that is itself specified bit for bit.
uint64_t Fingerprint(const std::string& bytes) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (const unsigned char byte : bytes) hash = (hash ^ byte) * 0x100000001b3ull;
  return hash;
}

std::vector<float> ToFloats(const Tensor& tensor) {
  std::vector<float> values(tensor.num_elements());
  for (int64_t i = 0; i < tensor.num_elements(); ++i) {
    switch (tensor.dtype()) {
      case DType::kF32:
        values[i] = tensor.data_as<float>()[i];
        break;
      case DType::kF16:
        values[i] = F16ToF32(tensor.data_as<uint16_t>()[i]);
        break;
      case DType::kBF16:
        values[i] = BF16ToF32(tensor.data_as<uint16_t>()[i]);
        break;
      case DType::kQ8:  // Random checkpoints are never Q8.
      case DType::kQ8A8:
        break;
    }
  }
  return values;
}

struct Moments {
  double mean;
  double std;
};
Moments Measure(const Tensor& tensor) {
  const std::vector<float> values = ToFloats(tensor);
  double sum = 0, squares = 0;
  for (const float value : values) sum += value;
  const double mean = sum / values.size();
  for (const float value : values) squares += (value - mean) * (value - mean);
  return {mean, std::sqrt(squares / values.size())};
}

RandomCheckpointOptions SmallOptions() {
  RandomCheckpointOptions options;
  options.vocab_size = 96;
  options.hidden_size = 32;
  options.num_layers = 2;
  options.num_heads = 4;
  options.num_kv_heads = 2;
  options.head_dim = 8;
  options.intermediate_size = 48;
  return options;
}

TEST(RandomCheckpointTest, DefaultModelIsDeterministicAndLoads) {
  RandomCheckpointOptions options;
  options.vocab_size = 6400;
  const fs::path first = ScratchDir("first");
  const fs::path second = ScratchDir("second");
  ASSERT_TRUE(WriteRandomCheckpoint(options, first.string()).ok());
  ASSERT_TRUE(WriteRandomCheckpoint(options, second.string()).ok());
  for (const char* file : {"config.json", "model.safetensors"}) {
    const std::string a = testing::ReadFileOrEmpty(first / file);
    EXPECT_FALSE(a.empty());
    EXPECT_TRUE(a == testing::ReadFileOrEmpty(second / file)) << file;
  }
  EXPECT_FALSE(fs::exists(first / "tokenizer.json"));

  const absl::StatusOr<Model> model = LoadModel(first.string());
  ASSERT_TRUE(model.ok()) << model.status();
  const ModelConfig& config = model->config;
  EXPECT_EQ(config.architecture, Architecture::kQwen3);
  EXPECT_EQ(config.vocab_size, 6400);
  EXPECT_EQ(config.hidden_size, 256);
  EXPECT_EQ(config.num_layers, 4);
  EXPECT_EQ(config.num_heads, 8);
  EXPECT_EQ(config.num_kv_heads, 2);
  EXPECT_EQ(config.head_dim, 32);
  EXPECT_EQ(config.intermediate_size, 704);
  EXPECT_TRUE(config.qk_norm);
  EXPECT_TRUE(config.tie_word_embeddings);
  // 6400*256 + 256 + 4 * (2*256 + 256*256*2 + 64*256*2 + 2*32 + 3*704*256).
  EXPECT_EQ(model->parameter_count, 6400 * 256 + 256 + 4 * (512 + 131072 + 32768 + 64 + 540672));
  EXPECT_EQ(model->weights.embed_tokens.dtype(), DType::kF32);
}

// Pins the exact bytes: a change in the generator (or a platform computing it differently)
// shows up here rather than as a silently different "deterministic" model. The value was
// cross-checked against an independent Python re-implementation using exact rational arithmetic.
TEST(RandomCheckpointTest, BytesArePinned) {
  const fs::path directory = ScratchDir("pinned");
  ASSERT_TRUE(WriteRandomCheckpoint(SmallOptions(), directory.string()).ok());
  EXPECT_EQ(Fingerprint(testing::ReadFileOrEmpty(directory / "model.safetensors")),
            0xac6366e2b6161a80ull);
}

TEST(RandomCheckpointTest, SeedChangesWeightsOnly) {
  RandomCheckpointOptions options = SmallOptions();
  const fs::path a = ScratchDir("a");
  const fs::path b = ScratchDir("b");
  ASSERT_TRUE(WriteRandomCheckpoint(options, a.string()).ok());
  options.seed = 1;
  ASSERT_TRUE(WriteRandomCheckpoint(options, b.string()).ok());
  EXPECT_EQ(testing::ReadFileOrEmpty(a / "config.json"),
            testing::ReadFileOrEmpty(b / "config.json"));
  EXPECT_NE(testing::ReadFileOrEmpty(a / "model.safetensors"),
            testing::ReadFileOrEmpty(b / "model.safetensors"));
}

TEST(RandomCheckpointTest, EveryArchitectureAndDtypeLoadsBack) {
  struct Case {
    Architecture architecture;
    int64_t experts;
    DType dtype;
  };
  for (const Case& c :
       {Case{Architecture::kQwen3, 0, DType::kBF16}, Case{Architecture::kLlama, 0, DType::kF16},
        Case{Architecture::kQwen3Moe, 4, DType::kF32},
        Case{Architecture::kMiniMind, 0, DType::kF16},
        Case{Architecture::kMiniMind, 4, DType::kBF16}}) {
    RandomCheckpointOptions options = SmallOptions();
    options.architecture = c.architecture;
    options.num_experts = c.experts;
    options.dtype = c.dtype;
    options.tie_word_embeddings = c.architecture != Architecture::kLlama;
    const std::string name = absl::StrCat(ArchitectureName(c.architecture), "-", c.experts);
    const fs::path directory = ScratchDir(name);
    ASSERT_TRUE(WriteRandomCheckpoint(options, directory.string()).ok()) << name;
    const absl::StatusOr<Model> model = LoadModel(directory.string());
    ASSERT_TRUE(model.ok()) << name << ": " << model.status();
    EXPECT_EQ(model->config.architecture, c.architecture) << name;
    EXPECT_EQ(model->config.num_experts, c.experts) << name;
    EXPECT_EQ(model->config.tie_word_embeddings, options.tie_word_embeddings) << name;
    EXPECT_EQ(model->weights.embed_tokens.dtype(), c.dtype) << name;
    EXPECT_EQ(model->config.head_dim, 8) << name;
    if (c.architecture == Architecture::kMiniMind && c.experts > 0) {
      EXPECT_EQ(model->config.num_shared_experts, 1);
      EXPECT_EQ(model->weights.layers[0].moe.shared_experts.size(), 1u);
    }
  }
}

// The released models' shapes are consistent options: they write and load back with the
// configured geometry and parameter count (one layer, to keep the test small).
TEST(RandomCheckpointTest, ReleasedModelShapesLoadBack) {
  struct Case {
    const char* name;
    RandomCheckpointOptions options;
    int64_t q_dim;
  };
  for (const Case& c : {Case{"minimind2-small", MiniMind2SmallShape(), 512},
                        Case{"minimind-3", Minimind3Shape(), 768}}) {
    RandomCheckpointOptions options = c.options;
    options.num_layers = 1;
    const fs::path directory = ScratchDir(c.name);
    ASSERT_TRUE(WriteRandomCheckpoint(options, directory.string()).ok()) << c.name;
    const absl::StatusOr<Model> model = LoadModel(directory.string());
    ASSERT_TRUE(model.ok()) << c.name << ": " << model.status();
    EXPECT_EQ(model->config.architecture, options.architecture) << c.name;
    EXPECT_EQ(model->config.vocab_size, 6400) << c.name;
    EXPECT_EQ(model->config.hidden_size, options.hidden_size) << c.name;
    EXPECT_EQ(model->config.q_dim(), c.q_dim) << c.name;
    EXPECT_EQ(model->config.num_kv_heads, options.num_kv_heads) << c.name;
    EXPECT_EQ(model->config.intermediate_size, options.intermediate_size) << c.name;
    EXPECT_EQ(model->weights.embed_tokens.dtype(), DType::kF16) << c.name;
    fs::remove_all(directory);
  }
}

TEST(RandomCheckpointTest, WeightScalesFollowTheReference) {
  RandomCheckpointOptions options;
  options.vocab_size = 512;
  const fs::path directory = ScratchDir("scales");
  ASSERT_TRUE(WriteRandomCheckpoint(options, directory.string()).ok());
  const absl::StatusOr<Model> model = LoadModel(directory.string());
  ASSERT_TRUE(model.ok()) << model.status();
  const LayerWeights& layer = model->weights.layers[2];
  const auto expect_moments = [](const Tensor& tensor, double mean, double std) {
    const Moments moments = Measure(tensor);
    EXPECT_NEAR(moments.mean, mean, 0.1 * std + 1e-3);
    EXPECT_NEAR(moments.std, std, 0.05 * std);
  };
  expect_moments(model->weights.embed_tokens, 0, 2 / 16.0);
  expect_moments(layer.attention.q_proj, 0, 1.25 / 16.0);
  expect_moments(layer.attention.v_proj, 0, 1 / 16.0);
  expect_moments(layer.mlp.down_proj, 0, 1 / std::sqrt(704.0));
  expect_moments(layer.input_norm, 1, 0.1);

  // Logits of the embedding alone (rmsnorm(e_t) . E^T, the zero-layer model) are spread out
  // (std ~2, as the reference's tiny models) rather than flat or one-hot.
  const std::vector<float> embedding = ToFloats(model->weights.embed_tokens);
  const int64_t hidden = 256;
  std::vector<double> normalised(embedding.begin() + 7 * hidden, embedding.begin() + 8 * hidden);
  double squares = 0;
  for (const double value : normalised) squares += value * value;
  for (double& value : normalised) value /= std::sqrt(squares / hidden);
  std::vector<double> logits(options.vocab_size);
  for (int64_t token = 0; token < options.vocab_size; ++token) {
    for (int64_t i = 0; i < hidden; ++i) {
      logits[token] += normalised[i] * embedding[token * hidden + i];
    }
  }
  logits.erase(logits.begin() + 7);  // The token's own logit is large by construction.
  double mean = 0, variance = 0;
  for (const double logit : logits) mean += logit / logits.size();
  for (const double logit : logits) variance += (logit - mean) * (logit - mean) / logits.size();
  EXPECT_GT(std::sqrt(variance), 1.5);
  EXPECT_LT(std::sqrt(variance), 2.5);
}

TEST(RandomCheckpointTest, InvalidOptionsAreNamed) {
  struct Case {
    RandomCheckpointOptions options;
    const char* message;
  };
  std::vector<Case> cases;
  cases.push_back({RandomCheckpointOptions{}, "vocab_size"});
  RandomCheckpointOptions options = SmallOptions();
  options.architecture = Architecture::kQwen2;
  cases.push_back({options, "qwen2"});
  options = SmallOptions();
  options.num_experts = 4;
  cases.push_back({options, "num_experts"});
  options = SmallOptions();
  options.architecture = Architecture::kQwen3Moe;
  cases.push_back({options, "num_experts > 0"});
  options = SmallOptions();
  options.architecture = Architecture::kMiniMind;
  options.head_dim = 16;
  cases.push_back({options, "head_dim"});
  options = SmallOptions();
  options.num_kv_heads = 3;
  cases.push_back({options, "num_key_value_heads"});
  options = SmallOptions();
  options.architecture = Architecture::kQwen3Moe;
  options.num_experts = 2;
  options.experts_per_token = 3;
  cases.push_back({options, "num_experts_per_tok"});
  for (const Case& c : cases) {
    const fs::path directory = ScratchDir("invalid");
    const absl::Status status = WriteRandomCheckpoint(c.options, directory.string());
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_THAT(status.message(), HasSubstr(c.message));
    EXPECT_FALSE(fs::exists(directory / "model.safetensors")) << c.message;
  }
}

TEST(RandomCheckpointTest, UnwritableDirectoryIsReported) {
  const absl::Status status = WriteRandomCheckpoint(SmallOptions(), "/proc/random_checkpoint");
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("/proc/random_checkpoint"));
}

}  // namespace
}  // namespace minimind
