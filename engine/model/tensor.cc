#include "engine/model/tensor.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace minimind {

Tensor ViewOrAlignedCopy(DType dtype, std::vector<int64_t> shape, const void* data,
                         std::shared_ptr<const void> owner) {
  if (reinterpret_cast<uintptr_t>(data) % DTypeSize(dtype) == 0) {
    return Tensor(dtype, std::move(shape), data, std::move(owner));
  }
  Tensor unaligned(dtype, std::move(shape), data, nullptr);
  // operator new aligns to at least alignof(max_align_t), enough for every DType.
  auto copy = std::make_shared<std::vector<unsigned char>>(unaligned.size_bytes());
  std::memcpy(copy->data(), data, copy->size());
  const void* copied = copy->data();  // Read before `copy` is moved into the owner argument.
  return Tensor(dtype, std::vector<int64_t>(unaligned.shape().begin(), unaligned.shape().end()),
                copied, std::move(copy));
}

std::string FormatShape(absl::Span<const int64_t> shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

}  // namespace minimind
