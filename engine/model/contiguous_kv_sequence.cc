#include "engine/model/contiguous_kv_sequence.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace minimind {

ContiguousKvSequence::ContiguousKvSequence(KvShape shape)
    : shape_(shape), keys_(shape.num_layers), values_(shape.num_layers) {}

absl::Status ContiguousKvSequence::Resize(int64_t num_positions) {
  if (num_positions < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("KV sequence length must not be negative, got ", num_positions));
  }
  if (num_positions > capacity_) {
    capacity_ = std::max(num_positions, 2 * capacity_);
    const size_t elements = static_cast<size_t>(capacity_ * shape_.row_size());
    for (auto& layer : keys_) layer.resize(elements);
    for (auto& layer : values_) layer.resize(elements);
  }
  num_positions_ = num_positions;
  return absl::OkStatus();
}

void ContiguousKvSequence::Write(int64_t layer, int64_t first_position, int64_t count,
                                 const float* keys, const float* values) {
  const int64_t offset = first_position * shape_.row_size();
  const size_t bytes = static_cast<size_t>(count * shape_.row_size()) * sizeof(float);
  std::memcpy(keys_[layer].data() + offset, keys, bytes);
  std::memcpy(values_[layer].data() + offset, values, bytes);
}

KvRun ContiguousKvSequence::Run(int64_t layer, int64_t kv_head, int64_t position) const {
  const int64_t offset = position * shape_.row_size() + kv_head * shape_.head_dim;
  return KvRun{.num_positions = num_positions_ - position,
               .type = KvElementType::kF32,
               .keys = keys_[layer].data() + offset,
               .values = values_[layer].data() + offset,
               .stride = shape_.row_size()};
}

}  // namespace minimind
