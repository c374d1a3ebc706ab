#include "engine/model/rope_table.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "engine/model/model_config.h"

namespace minimind {
namespace {

bool UsesYarn(const ModelConfig& config) {
  return config.rope_scaling.type == RopeScaling::Type::kYarn;
}

// YaRN's interpolation ramp per frequency (HF `_compute_yarn_parameters`): 0 keeps the original
// frequency, 1 divides it by the factor.
std::vector<double> YarnRamp(const ModelConfig& config) {
  const RopeScaling& yarn = config.rope_scaling;
  const double d = static_cast<double>(config.head_dim);
  const double base = config.rope_theta;
  const double original = static_cast<double>(yarn.original_max_position_embeddings);
  // The dimension whose wavelength turns `rotations` times over the original context.
  const auto correction_dim = [&](double rotations) {
    return d * std::log(original / (rotations * 2 * std::numbers::pi)) / (2 * std::log(base));
  };
  double low = correction_dim(yarn.beta_fast);
  double high = correction_dim(yarn.beta_slow);
  if (yarn.truncate) {
    low = std::floor(low);
    high = std::ceil(high);
  }
  const double high_clamp = yarn.clamp_high_to_half_dim ? d / 2 - 1 : d - 1;
  low = std::max(low, 0.0);
  high = std::min(high, high_clamp);
  if (low == high) high += 0.001;  // Avoids dividing by zero, as HF does.
  std::vector<double> ramp(config.head_dim / 2);
  for (size_t i = 0; i < ramp.size(); ++i) {
    ramp[i] = std::clamp((static_cast<double>(i) - low) / (high - low), 0.0, 1.0);
  }
  return ramp;
}

}  // namespace

std::vector<double> RopeInverseFrequencies(const ModelConfig& config) {
  const int64_t half = config.head_dim / 2;
  std::vector<double> inverse_frequencies(half);
  for (int64_t i = 0; i < half; ++i) {
    inverse_frequencies[i] =
        1.0 / std::pow(config.rope_theta, 2.0 * static_cast<double>(i) / config.head_dim);
  }
  if (UsesYarn(config)) {
    const std::vector<double> ramp = YarnRamp(config);
    for (int64_t i = 0; i < half; ++i) {
      inverse_frequencies[i] *= (1.0 - ramp[i]) + ramp[i] / config.rope_scaling.factor;
    }
  }
  return inverse_frequencies;
}

absl::StatusOr<RopeTable> RopeTable::Create(const ModelConfig& config) {
  if (config.head_dim <= 0 || config.head_dim % 2 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("RoPE needs a positive even head_dim, got ", config.head_dim));
  }
  if (config.max_position_embeddings <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("max_position_embeddings must be positive, got ",
                                                   config.max_position_embeddings));
  }
  if (!(config.rope_theta > 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("rope_theta must be greater than 1, got ", config.rope_theta));
  }
  if (UsesYarn(config) &&
      (!(config.rope_scaling.factor > 0) ||
       config.rope_scaling.original_max_position_embeddings <= 0 ||
       !(config.rope_scaling.beta_fast > 0) || !(config.rope_scaling.beta_slow > 0))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "YaRN needs positive factor, original_max_position_embeddings, beta_fast and beta_slow; "
        "got factor ",
        config.rope_scaling.factor, ", original_max_position_embeddings ",
        config.rope_scaling.original_max_position_embeddings, ", beta_fast ",
        config.rope_scaling.beta_fast, ", beta_slow ", config.rope_scaling.beta_slow));
  }
  const double attention_factor = UsesYarn(config) ? config.rope_scaling.attention_factor : 1.0;
  const std::vector<double> inverse_frequencies = RopeInverseFrequencies(config);
  RopeTable table(config.max_position_embeddings, config.head_dim / 2);
  for (int64_t position = 0; position < table.num_positions_; ++position) {
    for (int64_t i = 0; i < table.half_dim_; ++i) {
      const double angle = static_cast<double>(position) * inverse_frequencies[i];
      table.cos_[position * table.half_dim_ + i] =
          static_cast<float>(std::cos(angle) * attention_factor);
      table.sin_[position * table.half_dim_ + i] =
          static_cast<float>(std::sin(angle) * attention_factor);
    }
  }
  return table;
}

}  // namespace minimind
