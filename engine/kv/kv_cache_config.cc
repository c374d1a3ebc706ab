#include "engine/kv/kv_cache_config.h"

#include <cstdint>
#include <limits>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace minimind {

absl::StatusOr<KvElementType> ParseKvElementType(absl::string_view name) {
  if (name == "f32") return KvElementType::kF32;
  if (name == "bf16") return KvElementType::kBF16;
  if (name == "f16") return KvElementType::kF16;
  if (name == "int8") return KvElementType::kInt8;
  return absl::InvalidArgumentError(absl::StrCat("unknown KV cache element type \"", name,
                                                 "\"; expected one of f32, bf16, f16, int8"));
}

absl::string_view KvElementTypeName(KvElementType type) {
  switch (type) {
    case KvElementType::kF32:
      return "f32";
    case KvElementType::kBF16:
      return "bf16";
    case KvElementType::kF16:
      return "f16";
    case KvElementType::kInt8:
      return "int8";
  }
  return "unknown";
}

int64_t KvElementBytes(KvElementType type) {
  switch (type) {
    case KvElementType::kF32:
      return 4;
    case KvElementType::kBF16:
    case KvElementType::kF16:
      return 2;
    case KvElementType::kInt8:
      return 1;
  }
  return 4;
}

absl::Status KvCacheConfig::Validate() const {
  if (shape.num_layers <= 0 || shape.num_kv_heads <= 0 || shape.head_dim <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("KV cache shape must be positive, got ", shape.num_layers, " layers, ",
                     shape.num_kv_heads, " kv heads, head_dim ", shape.head_dim));
  }
  if (block_size <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("KV cache block size must be positive, got ", block_size));
  }
  // Keep every derived byte count far from int64 overflow (checked in double, which cannot
  // overflow here): an upper bound of BytesPerBlock() must stay below 2^52.
  const double block_bytes_bound =
      2.0 * static_cast<double>(shape.num_layers) * static_cast<double>(shape.num_kv_heads) *
      (static_cast<double>(shape.head_dim) * 4.0 + 4.0) * static_cast<double>(block_size);
  if (block_bytes_bound > 0x1p52) {
    return absl::InvalidArgumentError("KV cache shape or block size is implausibly large");
  }
  if (memory_bytes < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("KV cache memory budget must not be negative, got ", memory_bytes));
  }
  if (memory_bytes < BytesPerBlock()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "KV cache memory budget of ", memory_bytes, " bytes holds no block: one block of ",
        block_size, " positions takes ", BytesPerBlock(), " bytes (",
        KvElementTypeName(element_type), ", ", shape.num_layers, " layers, ", shape.num_kv_heads,
        " kv heads, head_dim ", shape.head_dim, ")"));
  }
  if (memory_bytes / BytesPerBlock() > std::numeric_limits<int32_t>::max()) {
    return absl::InvalidArgumentError(absl::StrCat("KV cache memory budget of ", memory_bytes,
                                                   " bytes makes more than 2^31 - 1 blocks"));
  }
  return absl::OkStatus();
}

int64_t KvCacheConfig::BytesPerToken() const {
  const int64_t heads = shape.num_layers * shape.num_kv_heads;
  const int64_t scales = element_type == KvElementType::kInt8 ? 2 * heads * 4 : 0;
  return 2 * heads * shape.head_dim * KvElementBytes(element_type) + scales;
}

int64_t KvCacheConfig::BytesPerBlock() const { return block_size * BytesPerToken(); }

int64_t KvCacheConfig::NumBlocks() const {
  if (!Validate().ok()) return 0;
  return memory_bytes / BytesPerBlock();
}

int64_t KvCacheConfig::BlocksFor(int64_t num_positions) const {
  if (num_positions <= 0) return 0;
  return (num_positions + block_size - 1) / block_size;
}

}  // namespace minimind
