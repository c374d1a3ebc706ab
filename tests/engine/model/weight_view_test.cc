#include "engine/model/weight_view.h"

#include <vector>

#include "gtest/gtest.h"

namespace minimind {
namespace {

TEST(ViewWeightMatrixTest, ViewsShapeAndData) {
  const std::vector<float> data(12, 1.0f);
  const Tensor tensor(DType::kF32, {3, 4}, data.data(), nullptr);
  const WeightMatrix matrix = ViewWeightMatrix(tensor);
  EXPECT_EQ(matrix.rows, 3);
  EXPECT_EQ(matrix.cols, 4);
  EXPECT_EQ(matrix.data, data.data());
  EXPECT_EQ(matrix.dtype, DType::kF32);
}

TEST(ViewWeightMatrixTest, ARankOneTensorIsOneRow) {
  const std::vector<uint16_t> data(5, 0);
  const Tensor tensor(DType::kBF16, {5}, data.data(), nullptr);
  const WeightMatrix matrix = ViewWeightMatrix(tensor);
  EXPECT_EQ(matrix.rows, 1);
  EXPECT_EQ(matrix.cols, 5);
  EXPECT_EQ(matrix.dtype, DType::kBF16);
}

}  // namespace
}  // namespace minimind
