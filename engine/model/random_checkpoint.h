// Writes a small random model in Hugging Face layout (config.json + model.safetensors) for tests,
// benchmarks and demos that need a realistic model but no downloaded weights. No tokenizer files
// are written; the caller supplies the vocabulary size of the tokenizer it pairs with the model.
//
// Deterministic: the output bytes are a pure function of the options, identical across runs,
// compilers and platforms — weights come from a splitmix64 stream (seeded by `seed`) turned into
// uniform values with exactly rounded arithmetic only (no transcendental functions), in
// checkpoint_layout order. Weight scales follow tools/reference/make_test_models.py so logits
// are far from degenerate: norms 1 ± 0.1 std; embeddings, lm_head and routers std 2/sqrt(hidden)
// (logit std ≈ 2); q/k projections std 1.25/sqrt(fan_in); other projections std 1/sqrt(fan_in).
// The written config is validated by ParseModelConfig before anything is written.
// Thread-safe (no shared state); concurrent calls must use different directories.
#ifndef MINIMIND_ENGINE_MODEL_RANDOM_CHECKPOINT_H_
#define MINIMIND_ENGINE_MODEL_RANDOM_CHECKPOINT_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "engine/model/model_config.h"
#include "engine/model/tensor.h"

namespace minimind {

struct RandomCheckpointOptions {
  // qwen3 (default), llama, qwen3_moe or minimind (MiniMind2's config keys); qwen2 is rejected.
  Architecture architecture = Architecture::kQwen3;
  int64_t vocab_size = 0;  // Required: the paired tokenizer's vocabulary size.
  int64_t hidden_size = 256;
  int64_t num_layers = 4;
  int64_t num_heads = 8;
  int64_t num_kv_heads = 2;
  int64_t head_dim = 32;  // minimind derives it; there it must equal hidden_size / num_heads.
  int64_t intermediate_size = 704;
  int64_t max_position_embeddings = 2048;
  double rope_theta = 1e6;
  double rms_norm_eps = 1e-6;
  bool tie_word_embeddings = true;
  // Mixture of experts: 0 = dense. qwen3_moe needs > 0; minimind with > 0 sets use_moe (its
  // experts are intermediate_size wide); llama and qwen3 must stay dense.
  int64_t num_experts = 0;
  int64_t experts_per_token = 2;
  int64_t moe_intermediate_size = 256;  // qwen3_moe only.
  int64_t num_shared_experts = 1;       // minimind only.
  bool norm_topk_prob = true;
  DType dtype = DType::kF32;
  uint64_t seed = 0;
};

// Random-weight stand-ins with the shapes of MiniMind's released models (F16 weights, vocab 6400,
// seed 0), for benchmarks and tests that need realistic sizes; callers adjust seed,
// max_position_embeddings or dtype.
//   MiniMind2-Small: llama, hidden 512, 8 layers, 8 heads / 2 kv heads, head_dim 64, FFN 1408.
//   minimind-3:      qwen3, hidden 768, 8 layers, 8 heads / 4 kv heads, head_dim 96, FFN 2432.
RandomCheckpointOptions MiniMind2SmallShape();
RandomCheckpointOptions Minimind3Shape();

// Creates `out_dir` if needed and writes config.json and model.safetensors into it, replacing
// existing files. InvalidArgument for inconsistent options (naming the option), the system's
// error naming the path when writing fails.
absl::Status WriteRandomCheckpoint(const RandomCheckpointOptions& options,
                                   const std::string& out_dir);

}  // namespace minimind

#endif  // MINIMIND_ENGINE_MODEL_RANDOM_CHECKPOINT_H_
