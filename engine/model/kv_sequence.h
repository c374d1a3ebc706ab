// KvSequence: the key/value cache of one sequence, as the forward pass sees it. The model code
// only writes whole rows and reads runs of positions through this interface, so the storage
// behind it — a contiguous f32 buffer today (ContiguousKvSequence), blocks of a paged pool with
// f32/bf16/f16/int8 elements later — can change without touching the model code.
//
// Contract:
//   * Positions [0, num_positions()) exist for every layer. Their contents are what Write stored;
//     positions made by growing are unspecified until written.
//   * Write takes f32 rows ([count, num_kv_heads · head_dim], kv head h at columns
//     [h · head_dim, (h + 1) · head_dim)); a narrower store converts (rounds or quantises) them.
//   * Run(layer, kv_head, position) describes the stored positions starting at `position` that
//     are contiguous in memory for that kv head (a whole contiguous cache, or the rest of one
//     block of a paged cache), never extending past num_positions(). Attention walks a sequence
//     by asking for the run at 0, then at the first position after it, and so on.
//   * Reading a position returns the same bits however (and in however many calls) it was
//     written, which keeps decoding token by token bitwise equal to one prefill.
// Thread-safety: none; one owner (the engine thread) mutates and reads a sequence. Runs stay
// valid until the next Resize or Write of the sequence.
#ifndef MINIMIND_ENGINE_MODEL_KV_SEQUENCE_H_
#define MINIMIND_ENGINE_MODEL_KV_SEQUENCE_H_

#include <cstdint>

#include "absl/status/status.h"
#include "engine/kernels/attention.h"

namespace minimind {

// The geometry of a model's KV cache.
struct KvShape {
  int64_t num_layers = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;

  int64_t row_size() const { return num_kv_heads * head_dim; }  // Elements per position per layer.
  friend bool operator==(const KvShape&, const KvShape&) = default;
};

class KvSequence {
 public:
  virtual ~KvSequence() = default;

  virtual KvShape shape() const = 0;
  virtual int64_t num_positions() const = 0;

  // Makes the sequence exactly `num_positions` long (≥ 0): truncating drops the tail; growing
  // adds unwritten positions and may fail (a paged pool returns ResourceExhausted), in which
  // case the sequence is unchanged. Truncating never fails.
  virtual absl::Status Resize(int64_t num_positions) = 0;

  // Stores keys and values of positions [first_position, first_position + count) of `layer`.
  //   keys, values: [count, shape().row_size()] f32.
  // Requires first_position + count ≤ num_positions().
  virtual void Write(int64_t layer, int64_t first_position, int64_t count, const float* keys,
                     const float* values) = 0;

  // The run of (layer, kv_head) starting at `position` < num_positions(); see the contract.
  virtual KvRun Run(int64_t layer, int64_t kv_head, int64_t position) const = 0;
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_MODEL_KV_SEQUENCE_H_
