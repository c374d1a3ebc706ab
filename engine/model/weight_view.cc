#include "engine/model/weight_view.h"

namespace minimind {

WeightMatrix ViewWeightMatrix(const Tensor& tensor) {
  const int64_t cols = tensor.rank() == 0 ? 1 : tensor.dim(tensor.rank() - 1);
  return WeightMatrix{.dtype = tensor.dtype(),
                      .data = tensor.data(),
                      .rows = cols == 0 ? 0 : tensor.num_elements() / cols,
                      .cols = cols};
}

}  // namespace minimind
