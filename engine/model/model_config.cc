#include "engine/model/model_config.h"

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/base/status_macros.h"
#include "nlohmann/json.hpp"

namespace minimind {
namespace {

using Json = nlohmann::json;

// Upper bounds far above any MiniMind-family model; they keep derived sizes (e.g. q_dim * hidden)
// well inside int64 and turn a corrupt config into an error instead of a huge allocation.
constexpr int64_t kMaxVocab = int64_t{1} << 24;
constexpr int64_t kMaxHidden = int64_t{1} << 16;
constexpr int64_t kMaxLayers = 1024;
constexpr int64_t kMaxHeads = 1024;
constexpr int64_t kMaxHeadDim = 1024;
constexpr int64_t kMaxIntermediate = int64_t{1} << 20;
constexpr int64_t kMaxPositions = int64_t{1} << 24;
constexpr int64_t kMaxExperts = 1024;

constexpr const char* kSupportedModelTypes = "llama, qwen2, qwen3, qwen3_moe, minimind";

// Typed access to config.json's top-level object (or a nested one such as rope_scaling), with
// errors that name the key. A null value counts as absent, as Python's dict.get() does for the
// reference.
class ConfigObject {
 public:
  ConfigObject(const Json& object, std::string prefix)
      : object_(object), prefix_(std::move(prefix)) {}

  bool Has(const char* key) const {
    const auto it = object_.find(key);
    return it != object_.end() && !it->is_null();
  }

  absl::StatusOr<int64_t> Int(const char* key, std::optional<int64_t> fallback) const {
    if (!Has(key)) {
      if (fallback.has_value()) return *fallback;
      return absl::InvalidArgumentError(absl::StrCat("missing required key '", Name(key), "'"));
    }
    const Json& value = object_.at(key);
    if (!value.is_number_integer()) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", Name(key), "' must be an integer, got ", value.dump()));
    }
    return value.get<int64_t>();
  }

  // An integer in [minimum, maximum].
  absl::StatusOr<int64_t> BoundedInt(const char* key, std::optional<int64_t> fallback,
                                     int64_t minimum, int64_t maximum) const {
    absl::StatusOr<int64_t> value = Int(key, fallback);
    if (!value.ok()) return value.status();
    if (*value < minimum || *value > maximum) {
      return absl::InvalidArgumentError(absl::StrCat("'", Name(key), "' is ", *value,
                                                     ", outside the supported range [", minimum,
                                                     ", ", maximum, "]"));
    }
    return value;
  }

  absl::StatusOr<double> Number(const char* key, double fallback) const {
    if (!Has(key)) return fallback;
    const Json& value = object_.at(key);
    if (!value.is_number() || !std::isfinite(value.get<double>())) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", Name(key), "' must be a finite number, got ", value.dump()));
    }
    return value.get<double>();
  }

  absl::StatusOr<bool> Bool(const char* key, bool fallback) const {
    if (!Has(key)) return fallback;
    const Json& value = object_.at(key);
    if (!value.is_boolean()) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", Name(key), "' must be true or false, got ", value.dump()));
    }
    return value.get<bool>();
  }

  absl::StatusOr<std::string> String(const char* key, const char* fallback) const {
    if (!Has(key)) return std::string(fallback);
    const Json& value = object_.at(key);
    if (!value.is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", Name(key), "' must be a string, got ", value.dump()));
    }
    return value.get<std::string>();
  }

  const Json& Raw(const char* key) const { return object_.at(key); }

 private:
  std::string Name(const char* key) const { return absl::StrCat(prefix_, key); }

  const Json& object_;
  std::string prefix_;
};

absl::StatusOr<Architecture> ParseArchitecture(const std::string& model_type) {
  if (model_type == "llama") return Architecture::kLlama;
  if (model_type == "qwen2") return Architecture::kQwen2;
  if (model_type == "qwen3") return Architecture::kQwen3;
  if (model_type == "qwen3_moe") return Architecture::kQwen3Moe;
  if (model_type == "minimind") return Architecture::kMiniMind;
  return absl::UnimplementedError(absl::StrCat(
      "model_type '", model_type, "' is not supported (supported: ", kSupportedModelTypes, ")"));
}

// YaRN's attention scale for a context extension `scale` (HF `get_mscale`).
double YarnMscale(double scale, double mscale) {
  return scale <= 1.0 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0;
}

// rope_scaling -> RopeScaling, following the reference's `_parse_yarn` (HF
// `_compute_yarn_parameters` semantics; MiniMind2's variant for model_type minimind).
absl::Status ParseRopeScaling(const Json& raw, const ModelConfig& config, RopeScaling& rope) {
  if (!raw.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'rope_scaling' must be an object or null, got ", raw.dump()));
  }
  const ConfigObject object(raw, "rope_scaling.");
  std::string type;
  MINIMIND_ASSIGN_OR_RETURN(type, object.Has("rope_type") ? object.String("rope_type", "")
                                                          : object.String("type", "default"));
  if (type == "default") return absl::OkStatus();
  if (type != "yarn") {
    return absl::UnimplementedError(
        absl::StrCat("rope_scaling type '", type, "' is not supported (only yarn)"));
  }
  const int64_t max_positions = config.max_position_embeddings;
  int64_t original = 0;
  MINIMIND_ASSIGN_OR_RETURN(original, object.BoundedInt("original_max_position_embeddings",
                                                        max_positions, 0, kMaxPositions));
  if (original == 0) original = max_positions;  // The reference's `or max_positions`.
  double factor = 0;
  MINIMIND_ASSIGN_OR_RETURN(factor, object.Number("factor", static_cast<double>(max_positions) /
                                                                static_cast<double>(original)));
  if (factor <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("'rope_scaling.factor' must be positive, got ", factor));
  }
  double beta_fast = 0, beta_slow = 0;
  MINIMIND_ASSIGN_OR_RETURN(beta_fast, object.Number("beta_fast", 32.0));
  MINIMIND_ASSIGN_OR_RETURN(beta_slow, object.Number("beta_slow", 1.0));
  if (beta_fast == 0) beta_fast = 32.0;  // The reference's `or 32` / `or 1`.
  if (beta_slow == 0) beta_slow = 1.0;
  if (beta_fast < 0 || beta_slow < 0) {
    return absl::InvalidArgumentError("'rope_scaling.beta_fast' and 'beta_slow' must be positive");
  }
  double attention_factor = 0;
  if (object.Has("attention_factor")) {
    MINIMIND_ASSIGN_OR_RETURN(attention_factor, object.Number("attention_factor", 1.0));
  } else {
    double mscale = 0, mscale_all_dim = 0;
    MINIMIND_ASSIGN_OR_RETURN(mscale, object.Number("mscale", 0.0));
    MINIMIND_ASSIGN_OR_RETURN(mscale_all_dim, object.Number("mscale_all_dim", 0.0));
    attention_factor = (mscale != 0 && mscale_all_dim != 0)
                           ? YarnMscale(factor, mscale) / YarnMscale(factor, mscale_all_dim)
                           : YarnMscale(factor, 1.0);
  }
  bool truncate = true;
  MINIMIND_ASSIGN_OR_RETURN(truncate, object.Bool("truncate", true));

  const bool is_minimind = config.architecture == Architecture::kMiniMind;
  // MiniMind2 applies YaRN only when the model's context exceeds the original one.
  if (is_minimind && !(static_cast<double>(max_positions) / static_cast<double>(original) > 1.0)) {
    return absl::OkStatus();
  }
  rope.type = RopeScaling::Type::kYarn;
  rope.factor = factor;
  rope.original_max_position_embeddings = original;
  rope.beta_fast = beta_fast;
  rope.beta_slow = beta_slow;
  rope.attention_factor = attention_factor;
  rope.clamp_high_to_half_dim = is_minimind;
  rope.truncate = truncate;
  return absl::OkStatus();
}

// Keys whose only supported value is the one the architectures here implement.
absl::Status RejectUnsupportedFeatures(const ConfigObject& object) {
  std::string activation;
  MINIMIND_ASSIGN_OR_RETURN(activation, object.String("hidden_act", "silu"));
  if (activation != "silu") {
    return absl::UnimplementedError(
        absl::StrCat("hidden_act '", activation, "' is not supported (only silu)"));
  }
  double rotary_fraction = 1.0;
  MINIMIND_ASSIGN_OR_RETURN(rotary_fraction, object.Number("partial_rotary_factor", 1.0));
  if (rotary_fraction != 1.0) {
    return absl::UnimplementedError(
        absl::StrCat("partial_rotary_factor ", rotary_fraction, " is not supported (only 1)"));
  }
  bool flag = false;
  MINIMIND_ASSIGN_OR_RETURN(flag, object.Bool("use_sliding_window", false));
  if (flag) return absl::UnimplementedError("sliding-window attention is not supported");
  MINIMIND_ASSIGN_OR_RETURN(flag, object.Bool("mlp_bias", false));
  if (flag) return absl::UnimplementedError("mlp_bias is not supported");
  return absl::OkStatus();
}

// MiniMind2's default MLP width: 64 * ceil(int(hidden * 8 / 3) / 64).
int64_t MiniMindDefaultIntermediate(int64_t hidden) {
  const int64_t width = hidden * 8 / 3;
  return 64 * ((width + 63) / 64);
}

absl::Status ParseMoe(const ConfigObject& object, ModelConfig& config) {
  if (config.architecture == Architecture::kQwen3Moe) {
    MINIMIND_ASSIGN_OR_RETURN(config.num_experts,
                              object.BoundedInt("num_experts", std::nullopt, 0, kMaxExperts));
    MINIMIND_ASSIGN_OR_RETURN(
        config.moe_intermediate_size,
        object.BoundedInt("moe_intermediate_size", std::nullopt, 1, kMaxIntermediate));
    MINIMIND_ASSIGN_OR_RETURN(config.norm_topk_prob, object.Bool("norm_topk_prob", false));
    int64_t step = 1;
    MINIMIND_ASSIGN_OR_RETURN(step, object.BoundedInt("decoder_sparse_step", 1, 1, kMaxLayers));
    absl::flat_hash_set<int64_t> mlp_only_layers;
    if (object.Has("mlp_only_layers")) {
      const Json& list = object.Raw("mlp_only_layers");
      if (!list.is_array()) {
        return absl::InvalidArgumentError(
            absl::StrCat("'mlp_only_layers' must be a list of layer indices, got ", list.dump()));
      }
      for (const Json& entry : list) {
        if (!entry.is_number_integer()) {
          return absl::InvalidArgumentError(
              absl::StrCat("'mlp_only_layers' must hold integers, got ", entry.dump()));
        }
        mlp_only_layers.insert(entry.get<int64_t>());
      }
    }
    config.layer_is_moe.resize(config.num_layers);
    for (int64_t layer = 0; layer < config.num_layers; ++layer) {
      config.layer_is_moe[layer] =
          config.num_experts > 0 && !mlp_only_layers.contains(layer) && (layer + 1) % step == 0;
    }
  } else {  // MiniMind2 with use_moe: every layer routes, experts are full FeedForwards.
    std::string scoring;
    MINIMIND_ASSIGN_OR_RETURN(scoring, object.String("scoring_func", "softmax"));
    if (scoring != "softmax") {
      return absl::UnimplementedError(
          absl::StrCat("scoring_func '", scoring, "' is not supported (only softmax)"));
    }
    MINIMIND_ASSIGN_OR_RETURN(config.num_experts,
                              object.BoundedInt("n_routed_experts", 4, 1, kMaxExperts));
    MINIMIND_ASSIGN_OR_RETURN(config.num_shared_experts,
                              object.BoundedInt("n_shared_experts", 1, 0, kMaxExperts));
    MINIMIND_ASSIGN_OR_RETURN(config.norm_topk_prob, object.Bool("norm_topk_prob", true));
    config.moe_intermediate_size = config.intermediate_size;
    config.layer_is_moe.assign(config.num_layers, true);
  }
  if (config.num_experts > 0) {
    MINIMIND_ASSIGN_OR_RETURN(
        config.experts_per_token,
        object.BoundedInt("num_experts_per_tok",
                          config.architecture == Architecture::kMiniMind ? std::optional<int64_t>(2)
                                                                         : std::nullopt,
                          1, config.num_experts));
  }
  return absl::OkStatus();
}

}  // namespace

const char* ArchitectureName(Architecture architecture) {
  switch (architecture) {
    case Architecture::kLlama:
      return "llama";
    case Architecture::kQwen2:
      return "qwen2";
    case Architecture::kQwen3:
      return "qwen3";
    case Architecture::kQwen3Moe:
      return "qwen3_moe";
    case Architecture::kMiniMind:
      return "minimind";
  }
  return "unknown";
}

absl::StatusOr<ModelConfig> ParseModelConfig(absl::string_view json_text) {
  const Json raw = Json::parse(json_text.begin(), json_text.end(), /*cb=*/nullptr,
                               /*allow_exceptions=*/false);
  if (raw.is_discarded()) return absl::InvalidArgumentError("config is not valid JSON");
  if (!raw.is_object()) return absl::InvalidArgumentError("config is not a JSON object");
  const ConfigObject object(raw, "");

  ModelConfig config;
  if (!object.Has("model_type")) {
    return absl::InvalidArgumentError(
        absl::StrCat("missing required key 'model_type' (one of ", kSupportedModelTypes, ")"));
  }
  std::string model_type;
  MINIMIND_ASSIGN_OR_RETURN(model_type, object.String("model_type", ""));
  MINIMIND_ASSIGN_OR_RETURN(config.architecture, ParseArchitecture(model_type));
  MINIMIND_RETURN_IF_ERROR(RejectUnsupportedFeatures(object));
  const bool is_minimind = config.architecture == Architecture::kMiniMind;

  MINIMIND_ASSIGN_OR_RETURN(config.vocab_size,
                            object.BoundedInt("vocab_size", std::nullopt, 1, kMaxVocab));
  MINIMIND_ASSIGN_OR_RETURN(config.hidden_size,
                            object.BoundedInt("hidden_size", std::nullopt, 1, kMaxHidden));
  MINIMIND_ASSIGN_OR_RETURN(config.num_layers,
                            object.BoundedInt("num_hidden_layers", std::nullopt, 1, kMaxLayers));
  MINIMIND_ASSIGN_OR_RETURN(config.num_heads,
                            object.BoundedInt("num_attention_heads", std::nullopt, 1, kMaxHeads));
  // 0 means "same as num_attention_heads", as the reference's `or num_heads` reads it.
  MINIMIND_ASSIGN_OR_RETURN(config.num_kv_heads,
                            object.BoundedInt("num_key_value_heads", 0, 0, kMaxHeads));
  if (config.num_kv_heads == 0) config.num_kv_heads = config.num_heads;
  if (config.num_heads % config.num_kv_heads != 0) {
    return absl::InvalidArgumentError(absl::StrCat("num_attention_heads (", config.num_heads,
                                                   ") is not a multiple of num_key_value_heads (",
                                                   config.num_kv_heads, ")"));
  }
  // MiniMind2 always derives head_dim from hidden_size and ignores any head_dim key.
  if (!is_minimind) {
    MINIMIND_ASSIGN_OR_RETURN(config.head_dim, object.BoundedInt("head_dim", 0, 0, kMaxHeadDim));
  }
  if (config.head_dim == 0) {
    if (config.hidden_size % config.num_heads != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "hidden_size (", config.hidden_size, ") is not a multiple of num_attention_heads (",
          config.num_heads, ") and no head_dim is given"));
    }
    config.head_dim = config.hidden_size / config.num_heads;
  }
  if (config.head_dim % 2 != 0 || config.head_dim > kMaxHeadDim) {
    return absl::InvalidArgumentError(
        absl::StrCat("head_dim ", config.head_dim,
                     " must be even (RoPE rotates pairs) and at most ", kMaxHeadDim));
  }
  std::optional<int64_t> intermediate_fallback;
  if (is_minimind) intermediate_fallback = MiniMindDefaultIntermediate(config.hidden_size);
  MINIMIND_ASSIGN_OR_RETURN(
      config.intermediate_size,
      object.BoundedInt("intermediate_size", intermediate_fallback, 1, kMaxIntermediate));
  MINIMIND_ASSIGN_OR_RETURN(
      config.max_position_embeddings,
      object.BoundedInt("max_position_embeddings", is_minimind ? 32768 : 2048, 1, kMaxPositions));
  MINIMIND_ASSIGN_OR_RETURN(config.rms_norm_eps,
                            object.Number("rms_norm_eps", is_minimind ? 1e-5 : 1e-6));
  if (config.rms_norm_eps <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("'rms_norm_eps' must be positive, got ", config.rms_norm_eps));
  }
  MINIMIND_ASSIGN_OR_RETURN(config.rope_theta,
                            object.Number("rope_theta", is_minimind ? 1e6 : 10000.0));
  if (config.rope_theta <= 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("'rope_theta' must be greater than 1, got ", config.rope_theta));
  }
  // MiniMind2 ties lm_head to the embedding unconditionally; HF's classes default to untied.
  MINIMIND_ASSIGN_OR_RETURN(config.tie_word_embeddings,
                            object.Bool("tie_word_embeddings", is_minimind));

  bool attention_bias = false;
  MINIMIND_ASSIGN_OR_RETURN(attention_bias, object.Bool("attention_bias", false));
  if (config.architecture == Architecture::kQwen2) {
    config.attention_bias = true;  // Qwen2 always has q/k/v biases and never an o bias.
  } else {
    config.attention_bias = attention_bias;
    config.o_proj_bias = attention_bias;
  }
  config.qk_norm =
      config.architecture == Architecture::kQwen3 || config.architecture == Architecture::kQwen3Moe;

  if (object.Has("rope_scaling")) {
    MINIMIND_RETURN_IF_ERROR(
        ParseRopeScaling(object.Raw("rope_scaling"), config, config.rope_scaling));
  } else if (is_minimind) {
    bool inference_rope_scaling = false;
    MINIMIND_ASSIGN_OR_RETURN(inference_rope_scaling, object.Bool("inference_rope_scaling", false));
    if (inference_rope_scaling) {
      // What MiniMind2 builds itself when asked for inference-time scaling without a dict.
      const Json minimind_default = {
          {"type", "yarn"},  {"factor", 16},   {"original_max_position_embeddings", 2048},
          {"beta_fast", 32}, {"beta_slow", 1}, {"attention_factor", 1.0}};
      MINIMIND_RETURN_IF_ERROR(ParseRopeScaling(minimind_default, config, config.rope_scaling));
    }
  }

  bool use_moe = config.architecture == Architecture::kQwen3Moe;
  if (is_minimind) {
    MINIMIND_ASSIGN_OR_RETURN(use_moe, object.Bool("use_moe", false));
  }
  if (use_moe) {
    MINIMIND_RETURN_IF_ERROR(ParseMoe(object, config));
  }
  return config;
}

}  // namespace minimind
