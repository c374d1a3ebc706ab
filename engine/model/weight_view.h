// ViewWeightMatrix: how the forward pass hands a checkpoint Tensor to the matmul kernels, which
// know only the plain WeightMatrix view (engine/kernels stays free of model types).
#ifndef MINIMIND_ENGINE_MODEL_WEIGHT_VIEW_H_
#define MINIMIND_ENGINE_MODEL_WEIGHT_VIEW_H_

#include "engine/kernels/matmul.h"
#include "engine/model/tensor.h"

namespace minimind {

// Views a rank-2 tensor (or a rank-1 one as a single row). The view borrows the tensor's bytes:
// the tensor (or its owner) must outlive it.
WeightMatrix ViewWeightMatrix(const Tensor& tensor);

}  // namespace minimind

#endif  // MINIMIND_ENGINE_MODEL_WEIGHT_VIEW_H_
