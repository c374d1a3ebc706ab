#include "engine/base/dtype.h"

namespace minimind {

const char* DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return "F32";
    case DType::kF16:
      return "F16";
    case DType::kBF16:
      return "BF16";
    case DType::kQ8:
      return "Q8";
    case DType::kQ8A8:
      return "Q8A8";
  }
  return "unknown";
}

}  // namespace minimind
