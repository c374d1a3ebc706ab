// RopeTable: the cos and sin of every rotary angle a model can need, precomputed for positions
// [0, max_position_embeddings) and per frequency i < head_dim / 2, including YaRN frequency
// interpolation and attention factor (tools/reference/README.md gives the exact formulas). Angles,
// cos and sin are computed in f64 and rounded once to f32, as the reference does.
//
// Memory: 2 · max_position_embeddings · head_dim/2 floats (8 MiB for 32768 positions and
// head_dim 64). Immutable after Create; safe to read from any thread.
#ifndef MINIMIND_ENGINE_MODEL_ROPE_TABLE_H_
#define MINIMIND_ENGINE_MODEL_ROPE_TABLE_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/model/model_config.h"

namespace minimind {

// inv_freq_i = rope_theta^(-2i / head_dim), YaRN-interpolated when config.rope_scaling says so;
// [head_dim / 2]. `config` must satisfy RopeTable::Create's checks.
std::vector<double> RopeInverseFrequencies(const ModelConfig& config);

class RopeTable {
 public:
  // InvalidArgument when head_dim is not a positive even number, max_position_embeddings is not
  // positive, rope_theta is not > 1, or YaRN parameters are out of range (factor or original
  // context not positive).
  static absl::StatusOr<RopeTable> Create(const ModelConfig& config);

  int64_t num_positions() const { return num_positions_; }
  int64_t half_dim() const { return half_dim_; }
  // [half_dim] rows for `position` in [0, num_positions()), the attention factor folded in.
  const float* cos(int64_t position) const { return &cos_[position * half_dim_]; }
  const float* sin(int64_t position) const { return &sin_[position * half_dim_]; }

 private:
  RopeTable(int64_t num_positions, int64_t half_dim)
      : num_positions_(num_positions),
        half_dim_(half_dim),
        cos_(num_positions * half_dim),
        sin_(num_positions * half_dim) {}

  int64_t num_positions_;
  int64_t half_dim_;
  std::vector<float> cos_;  // [num_positions, half_dim]
  std::vector<float> sin_;  // [num_positions, half_dim]
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_MODEL_ROPE_TABLE_H_
