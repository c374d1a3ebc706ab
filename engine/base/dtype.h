// DType: the element types weights may be stored in (compute is always f32). Shared by the
// checkpoint readers (engine/model) and the kernels that read weights in place (engine/kernels),
// so neither depends on the other for it.
#ifndef MINIMIND_ENGINE_BASE_DTYPE_H_
#define MINIMIND_ENGINE_BASE_DTYPE_H_

#include <cstddef>
#include <cstdint>

namespace minimind {

enum class DType : uint8_t { kF32, kF16, kBF16 };

inline size_t DTypeSize(DType dtype) { return dtype == DType::kF32 ? 4 : 2; }
const char* DTypeName(DType dtype);  // "F32", "F16", "BF16" (safetensors spelling).

}  // namespace minimind

#endif  // MINIMIND_ENGINE_BASE_DTYPE_H_
