#include "engine/model/tensor.h"

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace minimind {
namespace {

using ::testing::ElementsAre;

TEST(TensorTest, DTypeNamesAndSizes) {
  EXPECT_STREQ(DTypeName(DType::kF32), "F32");
  EXPECT_STREQ(DTypeName(DType::kF16), "F16");
  EXPECT_STREQ(DTypeName(DType::kBF16), "BF16");
  EXPECT_EQ(DTypeSize(DType::kF32), 4u);
  EXPECT_EQ(DTypeSize(DType::kBF16), 2u);
}

TEST(TensorTest, FormatShape) {
  EXPECT_EQ(FormatShape(std::vector<int64_t>{384, 64}), "[384, 64]");
  EXPECT_EQ(FormatShape(std::vector<int64_t>{}), "[]");
}

TEST(TensorTest, AlignedDataIsViewedInPlace) {
  auto buffer = std::make_shared<std::vector<float>>(std::vector<float>{1, 2, 3, 4, 5, 6});
  const Tensor tensor = ViewOrAlignedCopy(DType::kF32, {2, 3}, buffer->data(), buffer);
  EXPECT_EQ(tensor.data(), buffer->data());
  EXPECT_EQ(tensor.owner(), buffer);
  EXPECT_THAT(tensor.shape(), ElementsAre(2, 3));
  EXPECT_EQ(tensor.num_elements(), 6);
}

TEST(TensorTest, MisalignedDataIsCopiedToAlignedMemory) {
  auto buffer = std::make_shared<std::vector<unsigned char>>(1 + 2 * sizeof(float));
  const float values[2] = {0.5f, -7.0f};
  std::memcpy(buffer->data() + 1, values, sizeof(values));
  const Tensor tensor = ViewOrAlignedCopy(DType::kF32, {2}, buffer->data() + 1, buffer);
  EXPECT_NE(tensor.data(), buffer->data() + 1);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(tensor.data()) % alignof(float), 0u);
  EXPECT_NE(tensor.owner(), buffer);  // The copy owns itself; the source may go away.
  buffer.reset();
  EXPECT_EQ(tensor.data_as<float>()[0], 0.5f);
  EXPECT_EQ(tensor.data_as<float>()[1], -7.0f);
}

}  // namespace
}  // namespace minimind
