// ContiguousKvSequence: a KvSequence keeping f32 keys and values of each layer in one growable
// buffer, [capacity, num_kv_heads · head_dim]. Every kv head is a single run over all positions.
// Growing past the capacity reallocates (doubling) and copies; the paged pool replaces this for
// serving. Owns its memory; movable, not copyable. Thread-safety as KvSequence.
#ifndef MINIMIND_ENGINE_MODEL_CONTIGUOUS_KV_SEQUENCE_H_
#define MINIMIND_ENGINE_MODEL_CONTIGUOUS_KV_SEQUENCE_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "engine/kernels/attention.h"
#include "engine/model/kv_sequence.h"

namespace minimind {

class ContiguousKvSequence final : public KvSequence {
 public:
  explicit ContiguousKvSequence(KvShape shape);

  ContiguousKvSequence(ContiguousKvSequence&&) = default;
  ContiguousKvSequence& operator=(ContiguousKvSequence&&) = default;

  KvShape shape() const override { return shape_; }
  int64_t num_positions() const override { return num_positions_; }
  // Fails only with InvalidArgument for a negative length.
  absl::Status Resize(int64_t num_positions) override;
  void Write(int64_t layer, int64_t first_position, int64_t count, const float* keys,
             const float* values) override;
  KvRun Run(int64_t layer, int64_t kv_head, int64_t position) const override;

 private:
  KvShape shape_;
  int64_t num_positions_ = 0;
  int64_t capacity_ = 0;
  std::vector<std::vector<float>> keys_;    // [num_layers][capacity, row_size]
  std::vector<std::vector<float>> values_;  // [num_layers][capacity, row_size]
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_MODEL_CONTIGUOUS_KV_SEQUENCE_H_
