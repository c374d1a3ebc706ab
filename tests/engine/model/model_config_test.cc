#include "engine/model/model_config.h"

#include <cmath>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/test_paths.h"

namespace minimind {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::StatusOr<ModelConfig> ParseCommitted(const std::string& model) {
  const std::string text =
      testing::ReadFileOrEmpty(testing::TestDataDir() / "models" / model / "config.json");
  EXPECT_FALSE(text.empty()) << model;
  return ParseModelConfig(text);
}

// A valid llama config to mutate in error tests.
nlohmann::json BaseConfig() {
  return {{"model_type", "llama"},    {"vocab_size", 384},
          {"hidden_size", 64},        {"num_hidden_layers", 2},
          {"num_attention_heads", 4}, {"num_key_value_heads", 2},
          {"intermediate_size", 128}, {"max_position_embeddings", 512}};
}

absl::Status ParseStatus(const nlohmann::json& config) {
  return ParseModelConfig(config.dump()).status();
}

TEST(ModelConfigTest, TinyLlama) {
  const absl::StatusOr<ModelConfig> config = ParseCommitted("tiny-llama");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->architecture, Architecture::kLlama);
  EXPECT_EQ(config->vocab_size, 384);
  EXPECT_EQ(config->hidden_size, 64);
  EXPECT_EQ(config->num_layers, 2);
  EXPECT_EQ(config->num_heads, 4);
  EXPECT_EQ(config->num_kv_heads, 2);
  EXPECT_EQ(config->head_dim, 16);
  EXPECT_EQ(config->intermediate_size, 128);
  EXPECT_EQ(config->max_position_embeddings, 512);
  EXPECT_EQ(config->rms_norm_eps, 1e-5);
  EXPECT_EQ(config->rope_theta, 1e6);
  EXPECT_TRUE(config->tie_word_embeddings);
  EXPECT_FALSE(config->attention_bias);
  EXPECT_FALSE(config->o_proj_bias);
  EXPECT_FALSE(config->qk_norm);
  EXPECT_EQ(config->rope_scaling.type, RopeScaling::Type::kNone);
  EXPECT_EQ(config->num_experts, 0);
  EXPECT_TRUE(config->layer_is_moe.empty());
  EXPECT_EQ(config->q_dim(), 64);
  EXPECT_EQ(config->kv_dim(), 32);
  EXPECT_EQ(config->heads_per_kv_head(), 2);
}

TEST(ModelConfigTest, TinyQwen2HasQkvBiasesButNoOutputBias) {
  const absl::StatusOr<ModelConfig> config = ParseCommitted("tiny-qwen2");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->architecture, Architecture::kQwen2);
  EXPECT_TRUE(config->attention_bias);
  EXPECT_FALSE(config->o_proj_bias);
  EXPECT_FALSE(config->tie_word_embeddings);
  EXPECT_EQ(config->rms_norm_eps, 1e-6);
}

TEST(ModelConfigTest, TinyQwen3HeadDimFromConfig) {
  const absl::StatusOr<ModelConfig> config = ParseCommitted("tiny-qwen3");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->architecture, Architecture::kQwen3);
  EXPECT_EQ(config->head_dim, 24);
  EXPECT_EQ(config->q_dim(), 96);
  EXPECT_EQ(config->kv_dim(), 48);
  EXPECT_TRUE(config->qk_norm);
  EXPECT_TRUE(config->tie_word_embeddings);
}

TEST(ModelConfigTest, TinyQwen3Moe) {
  const absl::StatusOr<ModelConfig> config = ParseCommitted("tiny-qwen3-moe");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->architecture, Architecture::kQwen3Moe);
  EXPECT_EQ(config->num_experts, 4);
  EXPECT_EQ(config->experts_per_token, 1);
  EXPECT_EQ(config->moe_intermediate_size, 32);
  EXPECT_EQ(config->num_shared_experts, 0);
  EXPECT_FALSE(config->norm_topk_prob);
  EXPECT_TRUE(config->qk_norm);
  EXPECT_FALSE(config->tie_word_embeddings);
  EXPECT_THAT(config->layer_is_moe, ElementsAre(true, true));
}

TEST(ModelConfigTest, TinyMiniMindMoe) {
  const absl::StatusOr<ModelConfig> config = ParseCommitted("tiny-minimind-moe");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->architecture, Architecture::kMiniMind);
  EXPECT_EQ(config->num_experts, 4);
  EXPECT_EQ(config->experts_per_token, 2);
  EXPECT_EQ(config->num_shared_experts, 1);
  EXPECT_EQ(config->intermediate_size, 32);
  EXPECT_EQ(config->moe_intermediate_size, 32);
  EXPECT_TRUE(config->norm_topk_prob);
  EXPECT_TRUE(config->tie_word_embeddings);
  EXPECT_FALSE(config->qk_norm);
  EXPECT_EQ(config->head_dim, 16);
  EXPECT_EQ(config->rms_norm_eps, 1e-5);
  EXPECT_THAT(config->layer_is_moe, ElementsAre(true, true));
}

TEST(ModelConfigTest, TinyLlamaPthSidecarIsDenseMiniMind) {
  const absl::StatusOr<ModelConfig> config = ParseCommitted("tiny-llama-pth");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->architecture, Architecture::kMiniMind);
  EXPECT_EQ(config->num_experts, 0);
  EXPECT_TRUE(config->layer_is_moe.empty());
  EXPECT_EQ(config->intermediate_size, 128);
  EXPECT_EQ(config->rope_scaling.type, RopeScaling::Type::kNone);
}

TEST(ModelConfigTest, TinyLlamaYarnMatchesReference) {
  const absl::StatusOr<ModelConfig> config = ParseCommitted("tiny-llama-yarn");
  ASSERT_TRUE(config.ok()) << config.status();
  const RopeScaling& rope = config->rope_scaling;
  EXPECT_EQ(rope.type, RopeScaling::Type::kYarn);
  EXPECT_EQ(rope.factor, 4.0);
  EXPECT_EQ(rope.original_max_position_embeddings, 128);
  EXPECT_EQ(rope.beta_fast, 32.0);
  EXPECT_EQ(rope.beta_slow, 1.0);
  // tools/reference/README.md: m = 1.1386294361119891 for factor 4.
  EXPECT_EQ(rope.attention_factor, 1.1386294361119891);
  EXPECT_FALSE(rope.clamp_high_to_half_dim);
  EXPECT_TRUE(rope.truncate);
  EXPECT_EQ(config->rope_theta, 1e4);
  EXPECT_FALSE(config->tie_word_embeddings);
}

TEST(ModelConfigTest, EveryCommittedConfigParses) {
  for (const char* model : {"tiny-llama", "tiny-llama-f16", "tiny-llama-pth", "tiny-llama-yarn",
                            "tiny-minimind-moe", "tiny-qwen2", "tiny-qwen3", "tiny-qwen3-moe"}) {
    EXPECT_TRUE(ParseCommitted(model).ok()) << model;
  }
}

TEST(ModelConfigTest, Defaults) {
  nlohmann::json json = BaseConfig();
  json.erase("num_key_value_heads");
  json.erase("max_position_embeddings");
  const absl::StatusOr<ModelConfig> config = ParseModelConfig(json.dump());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->num_kv_heads, 4);
  EXPECT_EQ(config->max_position_embeddings, 2048);
  EXPECT_EQ(config->rms_norm_eps, 1e-6);
  EXPECT_EQ(config->rope_theta, 10000.0);
  EXPECT_FALSE(config->tie_word_embeddings);  // HF classes default to untied.
}

TEST(ModelConfigTest, MiniMindDefaults) {
  const nlohmann::json json = {{"model_type", "minimind"}, {"vocab_size", 6400},
                               {"hidden_size", 512},       {"num_hidden_layers", 8},
                               {"num_attention_heads", 8}, {"num_key_value_heads", 2},
                               {"head_dim", 100},          {"intermediate_size", nullptr}};
  const absl::StatusOr<ModelConfig> config = ParseModelConfig(json.dump());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->head_dim, 64);             // head_dim key ignored: hidden / heads.
  EXPECT_EQ(config->intermediate_size, 1408);  // 64 * ceil(int(512 * 8 / 3) / 64).
  EXPECT_TRUE(config->tie_word_embeddings);
  EXPECT_EQ(config->rms_norm_eps, 1e-5);
  EXPECT_EQ(config->rope_theta, 1e6);
  EXPECT_EQ(config->max_position_embeddings, 32768);
}

TEST(ModelConfigTest, MiniMindMoeDefaults) {
  nlohmann::json json = BaseConfig();
  json["model_type"] = "minimind";
  json["use_moe"] = true;
  const absl::StatusOr<ModelConfig> config = ParseModelConfig(json.dump());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->num_experts, 4);
  EXPECT_EQ(config->experts_per_token, 2);
  EXPECT_EQ(config->num_shared_experts, 1);
  EXPECT_TRUE(config->norm_topk_prob);
  EXPECT_EQ(config->moe_intermediate_size, 128);
}

TEST(ModelConfigTest, MiniMindInferenceRopeScalingDefault) {
  nlohmann::json json = BaseConfig();
  json["model_type"] = "minimind";
  json["max_position_embeddings"] = 32768;
  json["inference_rope_scaling"] = true;
  const absl::StatusOr<ModelConfig> config = ParseModelConfig(json.dump());
  ASSERT_TRUE(config.ok()) << config.status();
  const RopeScaling& rope = config->rope_scaling;
  EXPECT_EQ(rope.type, RopeScaling::Type::kYarn);
  EXPECT_EQ(rope.factor, 16.0);
  EXPECT_EQ(rope.original_max_position_embeddings, 2048);
  EXPECT_EQ(rope.attention_factor, 1.0);
  EXPECT_TRUE(rope.clamp_high_to_half_dim);
}

TEST(ModelConfigTest, MiniMindYarnDisabledWithinOriginalContext) {
  nlohmann::json json = BaseConfig();
  json["model_type"] = "minimind";
  json["max_position_embeddings"] = 2048;  // Not beyond the default original 2048.
  json["inference_rope_scaling"] = true;
  const absl::StatusOr<ModelConfig> config = ParseModelConfig(json.dump());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->rope_scaling.type, RopeScaling::Type::kNone);
}

TEST(ModelConfigTest, YarnVariants) {
  nlohmann::json json = BaseConfig();
  json["rope_scaling"] = {{"type", "yarn"}, {"original_max_position_embeddings", 128}};
  absl::StatusOr<ModelConfig> config = ParseModelConfig(json.dump());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->rope_scaling.factor, 4.0);  // Falls back to 512 / 128.
  EXPECT_EQ(config->rope_scaling.attention_factor, 1.1386294361119891);

  json["rope_scaling"] = {
      {"rope_type", "yarn"}, {"factor", 4.0},         {"original_max_position_embeddings", 128},
      {"mscale", 2.0},       {"mscale_all_dim", 1.0}, {"truncate", false}};
  config = ParseModelConfig(json.dump());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_DOUBLE_EQ(config->rope_scaling.attention_factor,
                   (0.2 * std::log(4.0) + 1) / (0.1 * std::log(4.0) + 1));
  EXPECT_FALSE(config->rope_scaling.truncate);

  json["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}, {"attention_factor", 0.5}};
  config = ParseModelConfig(json.dump());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->rope_scaling.attention_factor, 0.5);
  EXPECT_EQ(config->rope_scaling.original_max_position_embeddings, 512);

  json["rope_scaling"] = {{"rope_type", "default"}};
  config = ParseModelConfig(json.dump());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->rope_scaling.type, RopeScaling::Type::kNone);
}

TEST(ModelConfigTest, Qwen3MoeSparseStepAndMlpOnlyLayers) {
  nlohmann::json json = BaseConfig();
  json["model_type"] = "qwen3_moe";
  json["num_hidden_layers"] = 6;
  json["num_experts"] = 8;
  json["num_experts_per_tok"] = 2;
  json["moe_intermediate_size"] = 32;
  json["decoder_sparse_step"] = 2;
  json["mlp_only_layers"] = {3};
  const absl::StatusOr<ModelConfig> config = ParseModelConfig(json.dump());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_THAT(config->layer_is_moe, ElementsAre(false, true, false, false, false, true));
  EXPECT_TRUE(config->is_moe_layer(1));
  EXPECT_FALSE(config->is_moe_layer(3));
}

TEST(ModelConfigTest, LlamaAttentionBiasIncludesOutputBias) {
  nlohmann::json json = BaseConfig();
  json["attention_bias"] = true;
  const absl::StatusOr<ModelConfig> config = ParseModelConfig(json.dump());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->attention_bias);
  EXPECT_TRUE(config->o_proj_bias);
}

TEST(ModelConfigTest, UnsupportedModelTypeNamesItAndTheSupportedList) {
  nlohmann::json json = BaseConfig();
  json["model_type"] = "mistral";
  const absl::Status status = ParseStatus(json);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(status.message(), HasSubstr("'mistral'"));
  EXPECT_THAT(status.message(), HasSubstr("llama, qwen2, qwen3, qwen3_moe, minimind"));
}

struct ErrorCase {
  const char* key;
  nlohmann::json value;  // null erases the key
  absl::StatusCode code;
  const char* message;
};

TEST(ModelConfigTest, ErrorsNameTheProblem) {
  const ErrorCase cases[] = {
      {"model_type", nullptr, absl::StatusCode::kInvalidArgument, "model_type"},
      {"vocab_size", nullptr, absl::StatusCode::kInvalidArgument,
       "missing required key 'vocab_size'"},
      {"vocab_size", 0, absl::StatusCode::kInvalidArgument, "'vocab_size' is 0"},
      {"vocab_size", (1 << 24) + 1, absl::StatusCode::kInvalidArgument, "vocab_size"},
      {"hidden_size", -64, absl::StatusCode::kInvalidArgument, "hidden_size"},
      {"hidden_size", 64.5, absl::StatusCode::kInvalidArgument, "'hidden_size' must be an integer"},
      {"hidden_size", "64", absl::StatusCode::kInvalidArgument, "'hidden_size' must be an integer"},
      {"num_hidden_layers", 1025, absl::StatusCode::kInvalidArgument, "num_hidden_layers"},
      {"num_key_value_heads", 3, absl::StatusCode::kInvalidArgument,
       "not a multiple of num_key_value_heads"},
      {"num_attention_heads", 5, absl::StatusCode::kInvalidArgument, "not a multiple"},
      {"head_dim", 15, absl::StatusCode::kInvalidArgument, "must be even"},
      {"intermediate_size", nullptr, absl::StatusCode::kInvalidArgument, "intermediate_size"},
      {"rms_norm_eps", 0, absl::StatusCode::kInvalidArgument, "rms_norm_eps"},
      {"rope_theta", "big", absl::StatusCode::kInvalidArgument, "rope_theta"},
      {"tie_word_embeddings", 1, absl::StatusCode::kInvalidArgument, "tie_word_embeddings"},
      {"hidden_act", "gelu", absl::StatusCode::kUnimplemented, "gelu"},
      {"mlp_bias", true, absl::StatusCode::kUnimplemented, "mlp_bias"},
      {"use_sliding_window", true, absl::StatusCode::kUnimplemented, "sliding"},
      {"partial_rotary_factor", 0.5, absl::StatusCode::kUnimplemented, "partial_rotary_factor"},
      {"rope_scaling",
       {{"type", "linear"}, {"factor", 2.0}},
       absl::StatusCode::kUnimplemented,
       "linear"},
      {"rope_scaling",
       {{"type", "yarn"}, {"factor", -1.0}},
       absl::StatusCode::kInvalidArgument,
       "factor"},
      {"rope_scaling", "yarn", absl::StatusCode::kInvalidArgument, "rope_scaling"},
  };
  for (const ErrorCase& error : cases) {
    nlohmann::json json = BaseConfig();
    if (error.value.is_null()) {
      json.erase(error.key);
    } else {
      json[error.key] = error.value;
    }
    const absl::Status status = ParseStatus(json);
    EXPECT_EQ(status.code(), error.code) << error.key << " = " << error.value << ": " << status;
    EXPECT_THAT(status.message(), HasSubstr(error.message)) << error.key;
  }
}

TEST(ModelConfigTest, MoeErrors) {
  nlohmann::json json = BaseConfig();
  json["model_type"] = "qwen3_moe";
  json["num_experts"] = 4;
  json["moe_intermediate_size"] = 32;
  absl::Status status = ParseStatus(json);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("num_experts_per_tok"));

  json["num_experts_per_tok"] = 5;
  status = ParseStatus(json);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("num_experts_per_tok"));

  json["num_experts_per_tok"] = 1;
  json["decoder_sparse_step"] = 0;
  status = ParseStatus(json);
  EXPECT_THAT(status.message(), HasSubstr("decoder_sparse_step"));

  nlohmann::json minimind = BaseConfig();
  minimind["model_type"] = "minimind";
  minimind["use_moe"] = true;
  minimind["scoring_func"] = "sigmoid";
  status = ParseStatus(minimind);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(status.message(), HasSubstr("sigmoid"));
}

TEST(ModelConfigTest, NotJsonOrNotObject) {
  EXPECT_EQ(ParseModelConfig("{").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseModelConfig("[1, 2]").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseModelConfig("").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ModelConfigTest, ArchitectureNames) {
  EXPECT_STREQ(ArchitectureName(Architecture::kLlama), "llama");
  EXPECT_STREQ(ArchitectureName(Architecture::kQwen2), "qwen2");
  EXPECT_STREQ(ArchitectureName(Architecture::kQwen3), "qwen3");
  EXPECT_STREQ(ArchitectureName(Architecture::kQwen3Moe), "qwen3_moe");
  EXPECT_STREQ(ArchitectureName(Architecture::kMiniMind), "minimind");
}

}  // namespace
}  // namespace minimind
