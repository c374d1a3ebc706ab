#include "engine/model/random_checkpoint.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/base/status_macros.h"
#include "engine/kernels/float_convert.h"
#include "engine/model/checkpoint_layout.h"
#include "engine/model/file_writer.h"
#include "engine/model/model_weights.h"
#include "engine/model/safetensors_writer.h"
#include "nlohmann/json.hpp"

namespace minimind {
namespace {

using Json = nlohmann::ordered_json;

// splitmix64 (Steele, Lea, Flood 2014): tiny, fast, and specified bit for bit.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  // Uniform on [center - half_width, center + half_width). The 24-bit grid value is exact in
  // double and std::fma rounds once, so the result is the same on every IEEE platform.
  float Uniform(double center, double half_width) {
    const double unit =
        static_cast<double>(static_cast<int64_t>(Next() >> 40) - (1 << 23)) * 0x1p-23;  // [-1, 1)
    return static_cast<float>(std::fma(half_width, unit, center));
  }

 private:
  uint64_t state_;
};

const char* TorchDTypeName(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return "float32";
    case DType::kF16:
      return "float16";
    case DType::kBF16:
      return "bfloat16";
    case DType::kQ8:  // Rejected by BuildConfig.
    case DType::kQ8A8:
      break;
  }
  return "float32";
}

absl::StatusOr<Json> BuildConfig(const RandomCheckpointOptions& options) {
  const Architecture architecture = options.architecture;
  if (architecture == Architecture::kQwen2) {
    return absl::InvalidArgumentError(
        "random checkpoints support qwen3, llama, qwen3_moe and minimind, not qwen2");
  }
  if (options.vocab_size <= 0) {
    return absl::InvalidArgumentError(
        "vocab_size must be set to the paired tokenizer's vocabulary size");
  }
  if (IsQ8Blocked(options.dtype)) {
    return absl::InvalidArgumentError(
        "dtype must be F32, F16 or BF16: no checkpoint format stores Q8 (convert at load)");
  }
  const bool moe = options.num_experts > 0;
  if (moe && (architecture == Architecture::kLlama || architecture == Architecture::kQwen3)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "num_experts is ", options.num_experts, " but ", ArchitectureName(architecture),
        " is dense; use qwen3_moe or minimind for a mixture of experts"));
  }
  if (!moe && architecture == Architecture::kQwen3Moe) {
    return absl::InvalidArgumentError("qwen3_moe needs num_experts > 0");
  }
  if (architecture == Architecture::kMiniMind &&
      options.head_dim * options.num_heads != options.hidden_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("minimind derives head_dim as hidden_size / num_heads = ", options.hidden_size,
                     " / ", options.num_heads, ", but head_dim is ", options.head_dim));
  }

  static constexpr const char* kClassNames[] = {"LlamaForCausalLM", "Qwen2ForCausalLM",
                                                "Qwen3ForCausalLM", "Qwen3MoeForCausalLM",
                                                "MiniMindForCausalLM"};
  Json config;
  config["architectures"] = {kClassNames[static_cast<int>(architecture)]};
  config["model_type"] = ArchitectureName(architecture);
  config["vocab_size"] = options.vocab_size;
  config["hidden_size"] = options.hidden_size;
  config["num_hidden_layers"] = options.num_layers;
  config["num_attention_heads"] = options.num_heads;
  config["num_key_value_heads"] = options.num_kv_heads;
  if (architecture != Architecture::kMiniMind) config["head_dim"] = options.head_dim;
  config["intermediate_size"] = options.intermediate_size;
  config["max_position_embeddings"] = options.max_position_embeddings;
  config["hidden_act"] = "silu";
  config["rms_norm_eps"] = options.rms_norm_eps;
  config["rope_theta"] = options.rope_theta;
  config["rope_scaling"] = nullptr;
  config["tie_word_embeddings"] = options.tie_word_embeddings;
  if (architecture == Architecture::kMiniMind) {
    config["inference_rope_scaling"] = false;
    config["use_moe"] = moe;
    if (moe) {
      config["n_routed_experts"] = options.num_experts;
      config["num_experts_per_tok"] = options.experts_per_token;
      config["n_shared_experts"] = options.num_shared_experts;
      config["scoring_func"] = "softmax";
      config["norm_topk_prob"] = options.norm_topk_prob;
    }
  } else {
    config["attention_bias"] = false;
    if (moe) {
      config["num_experts"] = options.num_experts;
      config["num_experts_per_tok"] = options.experts_per_token;
      config["moe_intermediate_size"] = options.moe_intermediate_size;
      config["norm_topk_prob"] = options.norm_topk_prob;
      config["decoder_sparse_step"] = 1;
      config["mlp_only_layers"] = Json::array();
    }
  }
  config["torch_dtype"] = TorchDTypeName(options.dtype);
  return config;
}

// Standard deviation of a tensor's entries, after make_test_models.init_std; norm weights are
// handled by the caller (centred on 1).
double InitStd(const WeightSlot& slot, int64_t hidden) {
  const std::string& name = slot.name;
  if (name == "model.embed_tokens.weight" || name == "lm_head.weight" ||
      absl::EndsWith(name, ".mlp.gate.weight")) {
    return 2.0 / std::sqrt(static_cast<double>(hidden));
  }
  if (absl::EndsWith(name, ".bias")) return 0.1;
  const double fan_in = static_cast<double>(slot.shape.back());
  const bool query_or_key =
      absl::EndsWith(name, "q_proj.weight") || absl::EndsWith(name, "k_proj.weight");
  return (query_or_key ? 1.25 : 1.0) / std::sqrt(fan_in);
}

Tensor RandomTensor(const WeightSlot& slot, int64_t hidden, DType dtype, SplitMix64& random) {
  const bool is_norm = slot.shape.size() == 1 && !absl::EndsWith(slot.name, ".bias");
  const double center = is_norm ? 1.0 : 0.0;
  // A uniform distribution of half-width sqrt(3) * std has that std.
  const double half_width = std::sqrt(3.0) * (is_norm ? 0.1 : InitStd(slot, hidden));
  int64_t count = 1;
  for (const int64_t extent : slot.shape) count *= extent;
  auto bytes = std::make_shared<std::vector<unsigned char>>(count * DTypeSize(dtype));
  for (int64_t i = 0; i < count; ++i) {
    const float value = random.Uniform(center, half_width);
    switch (dtype) {
      case DType::kF32:
        std::memcpy(bytes->data() + 4 * i, &value, 4);
        break;
      case DType::kF16: {
        const uint16_t half = F32ToF16(value);
        std::memcpy(bytes->data() + 2 * i, &half, 2);
        break;
      }
      case DType::kBF16: {
        const uint16_t brain = F32ToBF16(value);
        std::memcpy(bytes->data() + 2 * i, &brain, 2);
        break;
      }
      case DType::kQ8:  // Rejected by BuildConfig.
      case DType::kQ8A8:
        break;
    }
  }
  const void* data = bytes->data();
  return Tensor(dtype, slot.shape, data, std::move(bytes));
}

}  // namespace

absl::Status WriteRandomCheckpoint(const RandomCheckpointOptions& options,
                                   const std::string& out_dir) {
  MINIMIND_ASSIGN_OR_RETURN(const Json config_json, BuildConfig(options));
  const std::string config_text = config_json.dump(2) + "\n";
  absl::StatusOr<ModelConfig> config = ParseModelConfig(config_text);
  if (!config.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("random checkpoint options are invalid: ", config.status().message()));
  }

  ModelWeights layout_weights;
  SplitMix64 random(options.seed);
  TensorMap tensors;
  for (const WeightSlot& slot : CheckpointLayout(*config, layout_weights)) {
    tensors.emplace(slot.name, RandomTensor(slot, config->hidden_size, options.dtype, random));
  }

  std::error_code error;
  std::filesystem::create_directories(out_dir, error);
  if (error) {
    return absl::Status(absl::ErrnoToStatusCode(error.value()),
                        absl::StrCat("cannot create directory '", out_dir, "': ", error.message()));
  }
  const std::filesystem::path directory(out_dir);
  MINIMIND_RETURN_IF_ERROR(WriteWholeFile((directory / "config.json").string(), config_text));
  return WriteSafetensors((directory / "model.safetensors").string(), tensors);
}

RandomCheckpointOptions MiniMind2SmallShape() {
  RandomCheckpointOptions options;
  options.architecture = Architecture::kLlama;
  options.vocab_size = 6400;
  options.hidden_size = 512;
  options.num_layers = 8;
  options.num_heads = 8;
  options.num_kv_heads = 2;
  options.head_dim = 64;
  options.intermediate_size = 1408;
  options.dtype = DType::kF16;
  return options;
}

RandomCheckpointOptions Minimind3Shape() {
  RandomCheckpointOptions options;
  options.architecture = Architecture::kQwen3;
  options.vocab_size = 6400;
  options.hidden_size = 768;
  options.num_layers = 8;
  options.num_heads = 8;
  options.num_kv_heads = 4;
  options.head_dim = 96;
  options.intermediate_size = 2432;
  options.dtype = DType::kF16;
  return options;
}

}  // namespace minimind
