// Converting a loaded model's matrix-product weights to another storage type at load time
// (`--weight-dtype`), whatever type the checkpoint stores: F32, F16, BF16, or the 8-bit Q8
// (dtype.h, matmul_q8.h).
//
// What is converted: every linear weight the forward pass multiplies by — attention q/k/v/o,
// the dense and expert (and shared-expert) MLP projections — and the token embedding and
// lm_head (tied: converted once, both keep viewing the same tensor; the embedding lookup reads Q8
// rows through WeightRowToF32). Kept as stored: norms and biases (read once into f32 vectors, so
// there is nothing to gain) and MoE routers (tiny, and a discrete top-k choice a rounding could
// flip).
//
// Conversion widens each row to f32 (exact) and narrows it: F16/BF16 round to nearest even
// (float_convert.h), Q8 quantizes per 32-value block (matmul_q8.h). A tensor already of the
// target type keeps its memory mapping; a converted one owns a new heap buffer.
#ifndef MINIMIND_ENGINE_MODEL_WEIGHT_CONVERSION_H_
#define MINIMIND_ENGINE_MODEL_WEIGHT_CONVERSION_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/base/dtype.h"
#include "engine/model/model.h"
#include "engine/model/tensor.h"

namespace minimind {

// "auto" (nullopt: as stored), "f32", "f16", "bf16" or "int8" (Q8); InvalidArgument otherwise.
absl::StatusOr<std::optional<DType>> ParseWeightDType(absl::string_view name);

// "auto" for nullopt, else the flag spelling ("f32", "f16", "bf16", "int8").
const char* WeightDTypeFlagName(std::optional<DType> dtype);

// `tensor` ([rows, cols] or rank 1) converted to `dtype`; InvalidArgument when a value does not
// fit (F16 overflows to infinity above 65504). `name` is for the error message.
absl::StatusOr<Tensor> ConvertTensor(const Tensor& tensor, DType dtype, absl::string_view name);

// Converts the weights listed above in place. On error `model` is left partly converted.
absl::Status ConvertMatMulWeights(DType dtype, Model& model);

}  // namespace minimind

#endif  // MINIMIND_ENGINE_MODEL_WEIGHT_CONVERSION_H_
