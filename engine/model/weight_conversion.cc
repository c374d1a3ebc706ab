#include "engine/model/weight_conversion.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/kernels/float_convert.h"
#include "engine/kernels/matmul.h"
#include "engine/kernels/matmul_q8.h"
#include "engine/kernels/matmul_q8a8.h"
#include "engine/model/weight_view.h"

namespace minimind {
namespace {

absl::Status ConvertInPlace(DType dtype, Tensor& tensor, absl::string_view name) {
  if (tensor.empty()) return absl::OkStatus();
  absl::StatusOr<Tensor> converted = ConvertTensor(tensor, dtype, name);
  if (!converted.ok()) return converted.status();
  tensor = *std::move(converted);
  return absl::OkStatus();
}

absl::Status ConvertMlp(DType dtype, MlpWeights& mlp, const std::string& prefix) {
  for (auto [tensor, name] :
       {std::pair{&mlp.gate_proj, "gate_proj"}, std::pair{&mlp.up_proj, "up_proj"},
        std::pair{&mlp.down_proj, "down_proj"}}) {
    if (absl::Status status = ConvertInPlace(dtype, *tensor, absl::StrCat(prefix, name));
        !status.ok()) {
      return status;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::optional<DType>> ParseWeightDType(absl::string_view name) {
  if (name == "auto") return std::optional<DType>();
  if (name == "f32") return std::optional<DType>(DType::kF32);
  if (name == "f16") return std::optional<DType>(DType::kF16);
  if (name == "bf16") return std::optional<DType>(DType::kBF16);
  if (name == "int8") return std::optional<DType>(DType::kQ8);
  if (name == "q8_0") return std::optional<DType>(DType::kQ8A8);
  return absl::InvalidArgumentError(
      absl::StrCat("weight dtype must be auto, f32, f16, bf16, int8 or q8_0, got \"", name, "\""));
}

const char* WeightDTypeFlagName(std::optional<DType> dtype) {
  if (!dtype.has_value()) return "auto";
  switch (*dtype) {
    case DType::kF32:
      return "f32";
    case DType::kF16:
      return "f16";
    case DType::kBF16:
      return "bf16";
    case DType::kQ8:
      return "int8";
    case DType::kQ8A8:
      return "q8_0";
  }
  return "auto";
}

absl::StatusOr<Tensor> ConvertTensor(const Tensor& tensor, DType dtype, absl::string_view name) {
  if (tensor.dtype() == dtype) return tensor;
  const WeightMatrix source = ViewWeightMatrix(tensor);
  const int64_t row_bytes = RowBytes(dtype, source.cols);
  auto bytes = std::make_shared<std::vector<unsigned char>>(source.rows * row_bytes);
  std::vector<float> row(source.cols);
  for (int64_t r = 0; r < source.rows; ++r) {
    WeightRowToF32(source, r, row.data());
    unsigned char* out = bytes->data() + r * row_bytes;
    switch (dtype) {
      case DType::kF32:
        std::memcpy(out, row.data(), row_bytes);
        break;
      case DType::kF16:
        for (int64_t c = 0; c < source.cols; ++c) {
          const uint16_t half = F32ToF16(row[c]);
          if ((half & 0x7c00u) == 0x7c00u) {
            return absl::InvalidArgumentError(
                absl::StrCat("tensor '", name, "' holds ", row[c], " at [", r, ", ", c,
                             "], beyond f16's range (65504): use --weight-dtype bf16 or f32"));
          }
          std::memcpy(out + 2 * c, &half, 2);
        }
        break;
      case DType::kBF16:
        for (int64_t c = 0; c < source.cols; ++c) {
          const uint16_t brain = F32ToBF16(row[c]);
          std::memcpy(out + 2 * c, &brain, 2);
        }
        break;
      case DType::kQ8:
        QuantizeRowQ8(row.data(), source.cols, out);
        break;
      case DType::kQ8A8:
        for (int64_t c = 0; c < source.cols; ++c) {
          if (std::fabs(row[c]) > 127.0f * 65504.0f) {  // its block's scale would pass f16's range
            return absl::InvalidArgumentError(
                absl::StrCat("tensor '", name, "' holds ", row[c], " at [", r, ", ", c,
                             "], beyond q8_0's range (f16 scales: |w| <= 8.3e6): use int8"));
          }
        }
        QuantizeRowQ8A8(row.data(), r, source.rows, source.cols, bytes->data());  // rows grouped
        break;
    }
  }
  std::vector<int64_t> shape(tensor.shape().begin(), tensor.shape().end());
  const void* data = bytes->data();
  return Tensor(dtype, std::move(shape), data, std::move(bytes));
}

absl::Status ConvertMatMulWeights(DType dtype, Model& model) {
  ModelWeights& weights = model.weights;
  const bool tied = weights.lm_head.data() == weights.embed_tokens.data();
  if (absl::Status status = ConvertInPlace(dtype, weights.embed_tokens, "embed_tokens");
      !status.ok()) {
    return status;
  }
  if (tied) {
    weights.lm_head = weights.embed_tokens;
  } else if (absl::Status status = ConvertInPlace(dtype, weights.lm_head, "lm_head");
             !status.ok()) {
    return status;
  }
  for (size_t l = 0; l < weights.layers.size(); ++l) {
    LayerWeights& layer = weights.layers[l];
    const std::string prefix = absl::StrCat("layers.", l, ".");
    AttentionWeights& attention = layer.attention;
    for (auto [tensor, name] :
         {std::pair{&attention.q_proj, "q_proj"}, std::pair{&attention.k_proj, "k_proj"},
          std::pair{&attention.v_proj, "v_proj"}, std::pair{&attention.o_proj, "o_proj"}}) {
      if (absl::Status status =
              ConvertInPlace(dtype, *tensor, absl::StrCat(prefix, "self_attn.", name));
          !status.ok()) {
        return status;
      }
    }
    if (absl::Status status = ConvertMlp(dtype, layer.mlp, absl::StrCat(prefix, "mlp."));
        !status.ok()) {
      return status;
    }
    for (size_t e = 0; e < layer.moe.experts.size(); ++e) {
      if (absl::Status status =
              ConvertMlp(dtype, layer.moe.experts[e], absl::StrCat(prefix, "mlp.experts.", e, "."));
          !status.ok()) {
        return status;
      }
    }
    for (size_t e = 0; e < layer.moe.shared_experts.size(); ++e) {
      if (absl::Status status = ConvertMlp(dtype, layer.moe.shared_experts[e],
                                           absl::StrCat(prefix, "mlp.shared_experts.", e, "."));
          !status.ok()) {
        return status;
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace minimind
