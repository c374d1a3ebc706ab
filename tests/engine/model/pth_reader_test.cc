#include "engine/model/pth_reader.h"

#include <cstring>
#include <filesystem>
#include <fstream>
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
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using std::string_literals::operator""s;

fs::path PthPath() { return testing::TestDataDir() / "models" / "tiny-llama-pth" / "model.pth"; }

std::string CommittedPth() {
  std::string bytes = testing::ReadFileOrEmpty(PthPath());
  EXPECT_EQ(bytes.size(), 251448u);
  return bytes;
}

// Writes `bytes` to a scratch .pth and reads it.
absl::Status ReadBytes(const std::string& bytes) {
  const fs::path path = testing::ScratchPath("pth_reader_test.pth");
  std::ofstream(path, std::ios::binary) << bytes;
  return ReadPth(path.string()).status();
}

// Replaces the only occurrence of `from` with `to` (same length, so no offset moves).
std::string Patched(std::string bytes, const std::string& from, const std::string& to) {
  EXPECT_EQ(from.size(), to.size());
  const size_t at = bytes.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  EXPECT_EQ(bytes.find(from, at + 1), std::string::npos) << from << " is not unique";
  return bytes.replace(at, from.size(), to);
}

// The central-directory record of entry `name`.
size_t CentralRecord(const std::string& bytes, const std::string& name) {
  for (size_t at = bytes.find("PK\x01\x02"); at != std::string::npos;
       at = bytes.find("PK\x01\x02", at + 1)) {
    uint16_t name_size;
    std::memcpy(&name_size, bytes.data() + at + 28, 2);
    if (bytes.compare(at + 46, name_size, name) == 0 && name_size == name.size()) return at;
  }
  ADD_FAILURE() << "no central record for " << name;
  return 0;
}

TEST(PthReaderTest, ReadsTheMiniMindCheckpoint) {
  const absl::StatusOr<TensorMap> tensors = ReadPth(PthPath().string());
  ASSERT_TRUE(tensors.ok()) << tensors.status();
  EXPECT_EQ(tensors->size(), 21u);
  const Tensor& embedding = tensors->at("model.embed_tokens.weight");
  EXPECT_EQ(embedding.dtype(), DType::kF16);
  EXPECT_THAT(embedding.shape(), ElementsAre(384, 64));
  EXPECT_THAT(tensors->at("model.layers.1.mlp.down_proj.weight").shape(), ElementsAre(64, 128));
  EXPECT_THAT(tensors->at("model.norm.weight").shape(), ElementsAre(64));
  EXPECT_NE(embedding.owner(), nullptr);
}

// The acceptance criterion's weight half: the .pth and the F16 safetensors export of the same
// model hold bit-identical tensors (MiniMind's .pth also stores the tied lm_head separately).
TEST(PthReaderTest, TensorsAreBitIdenticalToTheSafetensorsExport) {
  const absl::StatusOr<TensorMap> pth = ReadPth(PthPath().string());
  ASSERT_TRUE(pth.ok()) << pth.status();
  const absl::StatusOr<TensorMap> safetensors = ReadSafetensors(
      (testing::TestDataDir() / "models" / "tiny-llama-f16" / "model.safetensors").string());
  ASSERT_TRUE(safetensors.ok()) << safetensors.status();
  ASSERT_EQ(safetensors->size(), 20u);
  for (const auto& [name, expected] : *safetensors) {
    ASSERT_TRUE(pth->contains(name)) << name;
    const Tensor& actual = pth->at(name);
    EXPECT_EQ(actual.dtype(), expected.dtype()) << name;
    EXPECT_TRUE(std::equal(actual.shape().begin(), actual.shape().end(), expected.shape().begin(),
                           expected.shape().end()))
        << name;
    ASSERT_EQ(actual.size_bytes(), expected.size_bytes()) << name;
    EXPECT_EQ(std::memcmp(actual.data(), expected.data(), actual.size_bytes()), 0) << name;
  }
  const Tensor& lm_head = pth->at("lm_head.weight");
  const Tensor& embedding = pth->at("model.embed_tokens.weight");
  EXPECT_NE(lm_head.data(), embedding.data());  // Separate storages ...
  EXPECT_EQ(std::memcmp(lm_head.data(), embedding.data(), embedding.size_bytes()), 0);  // equal.
}

TEST(PthReaderTest, TruncationsFail) {
  const std::string bytes = CommittedPth();
  std::vector<size_t> lengths = {0, 1, 4, 22, 100, 2186, 2200};
  for (size_t length = 3; length < bytes.size() - 2000; length += 4099) lengths.push_back(length);
  // Every length across the central directory and end records.
  for (size_t length = bytes.size() - 2000; length < bytes.size(); ++length) {
    lengths.push_back(length);
  }
  for (const size_t length : lengths) {
    const absl::Status status = ReadBytes(bytes.substr(0, length));
    ASSERT_FALSE(status.ok()) << length;
    ASSERT_THAT(status.message(), HasSubstr("pth_reader_test.pth")) << length;
  }
}

TEST(PthReaderTest, GarbageAndLegacyFiles) {
  absl::Status status = ReadBytes(std::string(10000, 'g'));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("not a zip archive"));

  status = ReadBytes(
      "\x80\x02\x8a\x0alZ\xfc\x9c"
      "F\xf9j\xa8P\x19."s);  // Pre-1.6 magic number.
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(status.message(), HasSubstr("legacy"));

  status = ReadPth("/nonexistent/model.pth").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
}

TEST(PthReaderTest, ForbiddenGlobalInTheArchive) {
  // Same length, so the archive stays consistent: only the pickle's meaning changes.
  const absl::Status status =
      ReadBytes(Patched(CommittedPth(), "_rebuild_tensor_v2", "_rebuild_parameter"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("refuses global 'torch._utils._rebuild_parameter'"));
}

TEST(PthReaderTest, UnsupportedStorageType) {
  const absl::Status status = ReadBytes(Patched(CommittedPth(), "HalfStorage", "LongStorage"));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(status.message(), HasSubstr("torch.LongStorage"));
}

TEST(PthReaderTest, CompressedEntryIsNamed) {
  std::string bytes = CommittedPth();
  const size_t record = CentralRecord(bytes, "model/data/3");
  bytes[record + 10] = 8;  // Method: deflate.
  const absl::Status status = ReadBytes(bytes);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), AllOf(HasSubstr("'model/data/3'"), HasSubstr("compressed")));
}

TEST(PthReaderTest, StorageSizeDisagreeingWithThePickle) {
  std::string bytes = CommittedPth();
  const size_t record = CentralRecord(bytes, "model/data/0");
  const uint32_t smaller = 49150;
  std::memcpy(bytes.data() + record + 20, &smaller, 4);
  std::memcpy(bytes.data() + record + 24, &smaller, 4);
  const absl::Status status = ReadBytes(bytes);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), AllOf(HasSubstr("'model.embed_tokens.weight'"),
                                      HasSubstr("49150 bytes"), HasSubstr("24576 F16 elements")));
}

TEST(PthReaderTest, MissingStorageEntry) {
  std::string bytes = CommittedPth();
  const size_t record = CentralRecord(bytes, "model/data/5");
  bytes[record + 46 + 11] = 'X';  // Rename the entry to model/data/X.
  const absl::Status status = ReadBytes(bytes);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("no entry 'model/data/5'"));
}

TEST(PthReaderTest, NonContiguousStrides) {
  // The embedding's stride (64, 1) becomes (1, 64): a transposed view.
  const absl::Status status = ReadBytes(Patched(CommittedPth(), "M\x80\x01K@\x86q\x08K@K\x01\x86",
                                                "M\x80\x01K@\x86q\x08K\x01K@\x86"));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(status.message(),
              AllOf(HasSubstr("'model.embed_tokens.weight'"), HasSubstr("not contiguous")));
}

TEST(PthReaderTest, StorageOffsetPastTheEnd) {
  // The embedding's storage offset 0 becomes 255.
  const std::string with_offset = Patched(CommittedPth(), "tq\x07QK\x00"s, "tq\x07QK\xff"s);
  const absl::Status status = ReadBytes(with_offset);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              AllOf(HasSubstr("'model.embed_tokens.weight'"), HasSubstr("from offset 255")));
}

}  // namespace
}  // namespace minimind
