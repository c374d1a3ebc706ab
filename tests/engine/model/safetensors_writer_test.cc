#include "engine/model/safetensors_writer.h"

#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "engine/model/safetensors_reader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_paths.h"

namespace minimind {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The reference writer (tools/reference/safetensors_io.py) and ours share one layout, so
// re-serialising a committed file must reproduce it byte for byte.
TEST(SafetensorsWriterTest, ReproducesTheReferenceWriterByteForByte) {
  const fs::path models = testing::TestDataDir() / "models";
  for (const fs::path& file :
       {models / "tiny-llama" / "model.safetensors",
        models / "tiny-llama-f16" / "model.safetensors",
        models / "tiny-qwen2" / "model.safetensors", models / "tiny-qwen3" / "model.safetensors",
        models / "tiny-minimind-moe" / "model.safetensors",
        models / "tiny-qwen3-moe" / "model-00001-of-00002.safetensors"}) {
    const absl::StatusOr<TensorMap> tensors = ReadSafetensors(file.string());
    ASSERT_TRUE(tensors.ok()) << tensors.status();
    const std::string original = testing::ReadFileOrEmpty(file);
    const std::string rewritten = SerializeSafetensors(*tensors);
    EXPECT_EQ(rewritten.size(), original.size()) << file;
    EXPECT_TRUE(rewritten == original) << file;
  }
}

Tensor HeapTensor(DType dtype, std::vector<int64_t> shape, const std::string& bytes) {
  auto buffer = std::make_shared<std::string>(bytes);
  const void* data = buffer->data();
  return Tensor(dtype, std::move(shape), data, std::move(buffer));
}

TEST(SafetensorsWriterTest, RoundTripsMixedDtypesAndPadsTheHeader) {
  const float values[3] = {1.0f, -0.0f, 3.5f};
  std::string f32(12, '\0');
  std::memcpy(f32.data(), values, 12);
  TensorMap tensors;
  tensors.emplace("b.half", HeapTensor(DType::kF16, {2}, std::string("\x00\x3c\x00\xc0", 4)));
  tensors.emplace("a.float", HeapTensor(DType::kF32, {3, 1}, f32));
  tensors.emplace("c.brain", HeapTensor(DType::kBF16, {1, 1, 1}, std::string("\x80\x3f", 2)));

  const std::string file = SerializeSafetensors(tensors);
  uint64_t header_size = 0;
  std::memcpy(&header_size, file.data(), 8);
  EXPECT_EQ((8 + header_size) % 8, 0u);
  EXPECT_EQ(file.size(), 8 + header_size + 12 + 4 + 2);
  EXPECT_EQ(file.substr(8, 31), "{\"__metadata__\":{\"format\":\"pt\"}");
  // Data in name order: a.float, b.half, c.brain.
  EXPECT_EQ(file.substr(8 + header_size), f32 + std::string("\x00\x3c\x00\xc0\x80\x3f", 6));

  const fs::path path = testing::ScratchPath("safetensors_writer_test.safetensors");
  ASSERT_TRUE(WriteSafetensors(path.string(), tensors).ok());
  const absl::StatusOr<TensorMap> read = ReadSafetensors(path.string());
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), 3u);
  EXPECT_THAT(read->at("a.float").shape(), ElementsAre(3, 1));
  EXPECT_EQ(read->at("a.float").data_as<float>()[2], 3.5f);
  EXPECT_EQ(read->at("b.half").dtype(), DType::kF16);
  EXPECT_EQ(read->at("c.brain").dtype(), DType::kBF16);
  EXPECT_EQ(std::memcmp(read->at("b.half").data(), "\x00\x3c\x00\xc0", 4), 0);
}

TEST(SafetensorsWriterTest, EmptyMapIsAValidFile) {
  const fs::path path = testing::ScratchPath("safetensors_writer_empty.safetensors");
  ASSERT_TRUE(WriteSafetensors(path.string(), {}).ok());
  const absl::StatusOr<TensorMap> read = ReadSafetensors(path.string());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(read->empty());
}

TEST(SafetensorsWriterTest, UnwritablePathNamesIt) {
  const absl::Status status = WriteSafetensors("/nonexistent-dir/x.safetensors", {});
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("/nonexistent-dir/x.safetensors"));
}

}  // namespace
}  // namespace minimind
