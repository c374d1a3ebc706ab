// Tensor: an immutable, typed, row-major view of weight memory plus shared ownership of whatever
// holds the bytes (a memory-mapped checkpoint file or a heap buffer). Copying a Tensor copies the
// view, never the data. Thread-safe to read from any number of threads.
#ifndef MINIMIND_ENGINE_MODEL_TENSOR_H_
#define MINIMIND_ENGINE_MODEL_TENSOR_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/types/span.h"
#include "engine/base/dtype.h"

namespace minimind {

class Tensor {
 public:
  Tensor() = default;
  // `data` must stay valid while `owner` is alive; `owner` may be null for static data.
  Tensor(DType dtype, std::vector<int64_t> shape, const void* data,
         std::shared_ptr<const void> owner)
      : dtype_(dtype), shape_(std::move(shape)), data_(data), owner_(std::move(owner)) {}

  bool empty() const { return data_ == nullptr; }
  DType dtype() const { return dtype_; }
  absl::Span<const int64_t> shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int axis) const { return shape_[axis]; }
  int64_t num_elements() const {
    int64_t count = 1;
    for (const int64_t extent : shape_) count *= extent;
    return count;
  }
  // Rows (all axes but the last) times RowBytes of the last axis: exact for blocked Q8 too.
  size_t size_bytes() const {
    if (!IsQ8Blocked(dtype_) || shape_.empty()) {
      return static_cast<size_t>(num_elements()) * DTypeSize(dtype_);
    }
    const int64_t cols = shape_.back();
    return cols == 0 ? 0 : static_cast<size_t>(num_elements() / cols * RowBytes(dtype_, cols));
  }
  const void* data() const { return data_; }
  template <typename T>
  const T* data_as() const {
    return static_cast<const T*>(data_);
  }
  const std::shared_ptr<const void>& owner() const { return owner_; }

 private:
  DType dtype_ = DType::kF32;
  std::vector<int64_t> shape_;
  const void* data_ = nullptr;
  std::shared_ptr<const void> owner_;
};

// Makes a tensor viewing `data` (kept alive by `owner`), or, when `data` is not aligned for the
// element type (safetensors does not promise alignment), a tensor over an aligned heap copy.
Tensor ViewOrAlignedCopy(DType dtype, std::vector<int64_t> shape, const void* data,
                         std::shared_ptr<const void> owner);

// "[384, 64]": how error messages spell a shape.
std::string FormatShape(absl::Span<const int64_t> shape);

// Tensors of a checkpoint by name, sorted so iteration (and so error reporting) is deterministic.
using TensorMap = std::map<std::string, Tensor>;

}  // namespace minimind

#endif  // MINIMIND_ENGINE_MODEL_TENSOR_H_
