#include "engine/model/safetensors_reader.h"

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/test_paths.h"

namespace minimind {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

fs::path ModelsDir() { return testing::TestDataDir() / "models"; }

// A fresh directory for this test's files.
fs::path ScratchDir() {
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  const fs::path directory =
      fs::path(::testing::TempDir()) / "safetensors_reader_test" / test->name();
  fs::remove_all(directory);
  fs::create_directories(directory);
  return directory;
}

void WriteBytes(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// [u64 header length][header][data], as a crafted file.
std::string Safetensors(const std::string& header, const std::string& data) {
  std::string file(8, '\0');
  const uint64_t size = header.size();
  std::memcpy(file.data(), &size, 8);
  return file + header + data;
}

std::string OneTensorFile(const nlohmann::json& entry, size_t data_bytes) {
  return Safetensors(nlohmann::json{{"w", entry}}.dump(), std::string(data_bytes, '\x01'));
}

absl::Status ReadStatus(const fs::path& path) { return ReadSafetensors(path.string()).status(); }

TEST(SafetensorsReaderTest, ReadsTinyLlama) {
  const absl::StatusOr<TensorMap> tensors =
      ReadSafetensors((ModelsDir() / "tiny-llama" / "model.safetensors").string());
  ASSERT_TRUE(tensors.ok()) << tensors.status();
  // Tied: embedding, final norm, and per layer 2 norms + 4 attention + 3 MLP tensors.
  EXPECT_EQ(tensors->size(), 2 + 2 * 9);
  const Tensor& embedding = tensors->at("model.embed_tokens.weight");
  EXPECT_EQ(embedding.dtype(), DType::kF32);
  EXPECT_THAT(embedding.shape(), ElementsAre(384, 64));
  EXPECT_EQ(embedding.size_bytes(), 384u * 64 * 4);
  EXPECT_NE(embedding.owner(), nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(embedding.data()) % 4, 0u);
  const Tensor& down = tensors->at("model.layers.1.mlp.down_proj.weight");
  EXPECT_THAT(down.shape(), ElementsAre(64, 128));
  // Norm weights are 1 + 0.1 N(0, 1): values near 1 prove the data offset is right.
  const Tensor& norm = tensors->at("model.norm.weight");
  for (int64_t i = 0; i < norm.num_elements(); ++i) {
    EXPECT_GT(norm.data_as<float>()[i], 0.5f);
    EXPECT_LT(norm.data_as<float>()[i], 1.5f);
  }
}

TEST(SafetensorsReaderTest, ReadsEveryCommittedModel) {
  struct Case {
    const char* model;
    DType dtype;
    size_t tensors;
  };
  for (const Case& c :
       {Case{"tiny-llama-f16", DType::kF16, 20}, Case{"tiny-qwen2", DType::kF32, 27},
        Case{"tiny-qwen3", DType::kBF16, 24}, Case{"tiny-llama-yarn", DType::kF32, 21},
        Case{"tiny-minimind-moe", DType::kF32, 2 + 2 * (6 + 1 + 5 * 3)}}) {
    const absl::StatusOr<TensorMap> tensors =
        ReadSafetensors((ModelsDir() / c.model / "model.safetensors").string());
    ASSERT_TRUE(tensors.ok()) << c.model << ": " << tensors.status();
    EXPECT_EQ(tensors->size(), c.tensors) << c.model;
    for (const auto& [name, tensor] : *tensors) EXPECT_EQ(tensor.dtype(), c.dtype) << name;
  }
}

TEST(SafetensorsReaderTest, ReadsShardedCheckpoint) {
  const absl::StatusOr<TensorMap> tensors = ReadShardedSafetensors(
      (ModelsDir() / "tiny-qwen3-moe" / "model.safetensors.index.json").string());
  ASSERT_TRUE(tensors.ok()) << tensors.status();
  // embed, norm, lm_head + per layer: 2 norms, 4 attention, 2 qk norms, router, 4 x 3 experts.
  EXPECT_EQ(tensors->size(), 3 + 2 * (2 + 4 + 2 + 1 + 12));
  EXPECT_TRUE(tensors->contains("model.embed_tokens.weight"));  // Shard 1.
  EXPECT_TRUE(tensors->contains("lm_head.weight"));             // Shard 2.
  EXPECT_THAT(tensors->at("model.layers.1.mlp.gate.weight").shape(), ElementsAre(4, 64));
}

TEST(SafetensorsReaderTest, TensorsOutliveTheirReader) {
  Tensor embedding;
  {
    absl::StatusOr<TensorMap> tensors =
        ReadSafetensors((ModelsDir() / "tiny-llama" / "model.safetensors").string());
    ASSERT_TRUE(tensors.ok());
    embedding = tensors->at("model.embed_tokens.weight");
  }
  float sum = 0;
  for (int64_t i = 0; i < embedding.num_elements(); ++i) sum += embedding.data_as<float>()[i];
  EXPECT_TRUE(std::isfinite(sum));
}

TEST(SafetensorsReaderTest, MissingFileIsNotFound) {
  const absl::Status status = ReadStatus(ScratchDir() / "absent.safetensors");
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("absent.safetensors"));
}

TEST(SafetensorsReaderTest, TruncatedAtEveryRegionFails) {
  const std::string good =
      testing::ReadFileOrEmpty(ModelsDir() / "tiny-llama-f16" / "model.safetensors");
  ASSERT_GT(good.size(), 1000u);
  const fs::path path = ScratchDir() / "truncated.safetensors";
  // Every length inside the length prefix and header, then a spread through the data.
  std::vector<size_t> lengths;
  for (size_t length = 0; length < 2200; ++length) lengths.push_back(length);
  for (size_t length = 2200; length < good.size(); length += 997) lengths.push_back(length);
  lengths.push_back(good.size() - 1);
  for (const size_t length : lengths) {
    WriteBytes(path, good.substr(0, length));
    const absl::Status status = ReadStatus(path);
    ASSERT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << length << ": " << status;
    ASSERT_THAT(status.message(), HasSubstr("truncated.safetensors")) << length;
  }
}

TEST(SafetensorsReaderTest, ErrorsNameTheProblem) {
  const nlohmann::json ok_entry = {{"dtype", "F32"}, {"shape", {2, 3}}, {"data_offsets", {0, 24}}};
  struct Case {
    std::string file;
    absl::StatusCode code;
    std::vector<std::string> message;
  };
  std::string huge_header(8, '\0');
  const uint64_t huge = 200'000'000;
  std::memcpy(huge_header.data(), &huge, 8);
  std::string past_end(8, '\0');
  const uint64_t past = 1000;
  std::memcpy(past_end.data(), &past, 8);
  past_end += "{}";

  const Case cases[] = {
      {"short", absl::StatusCode::kInvalidArgument, {"too short"}},
      {huge_header + "{}", absl::StatusCode::kInvalidArgument, {"200000000", "limit"}},
      {past_end, absl::StatusCode::kInvalidArgument, {"1000", "past the end"}},
      {Safetensors("{not json", ""), absl::StatusCode::kInvalidArgument, {"not valid JSON"}},
      {Safetensors("[1,2]", ""), absl::StatusCode::kInvalidArgument, {"not a JSON object"}},
      {OneTensorFile({{"dtype", "I64"}, {"shape", {3}}, {"data_offsets", {0, 24}}}, 24),
       absl::StatusCode::kUnimplemented,
       {"'w'", "I64"}},
      {OneTensorFile({{"dtype", 7}, {"shape", {3}}, {"data_offsets", {0, 12}}}, 12),
       absl::StatusCode::kInvalidArgument,
       {"'w'", "dtype"}},
      {OneTensorFile({{"dtype", "F32"}, {"shape", {-2, 3}}, {"data_offsets", {0, 24}}}, 24),
       absl::StatusCode::kInvalidArgument,
       {"'w'", "shape"}},
      {OneTensorFile({{"dtype", "F32"}, {"shape", {2.5}}, {"data_offsets", {0, 24}}}, 24),
       absl::StatusCode::kInvalidArgument,
       {"'w'", "shape"}},
      {OneTensorFile({{"dtype", "F32"}, {"shape", {2, 3}}, {"data_offsets", {0, 24}}}, 16),
       absl::StatusCode::kInvalidArgument,
       {"'w'", "[0, 24]", "16-byte data section"}},
      {OneTensorFile({{"dtype", "F32"}, {"shape", {2, 3}}, {"data_offsets", {8, 4}}}, 24),
       absl::StatusCode::kInvalidArgument,
       {"'w'", "[8, 4]"}},
      {OneTensorFile({{"dtype", "F32"}, {"shape", {2, 3}}, {"data_offsets", {0, 20}}}, 24),
       absl::StatusCode::kInvalidArgument,
       {"'w'", "span 20 bytes", "needs 24"}},
      {OneTensorFile({{"dtype", "F32"}, {"shape", {2, 3}}, {"data_offsets", {0}}}, 24),
       absl::StatusCode::kInvalidArgument,
       {"'w'", "[begin, end]"}},
      {OneTensorFile({{"dtype", "F32"}, {"shape", {2, 3}}}, 24),
       absl::StatusCode::kInvalidArgument,
       {"'w'", "data_offsets"}},
      {OneTensorFile({{"dtype", "F32"}, {"shape", {1u << 30, 1u << 30}}, {"data_offsets", {0, 24}}},
                     24),
       absl::StatusCode::kInvalidArgument,
       {"'w'", "more elements"}},
      {OneTensorFile(ok_entry, 32), absl::StatusCode::kInvalidArgument, {"cover 24 bytes"}},
      {OneTensorFile({{"dtype", "F32"}, {"shape", {2, 3}}, {"data_offsets", {8, 32}}}, 32),
       absl::StatusCode::kInvalidArgument,
       {"'w'", "gap"}},
      {Safetensors(nlohmann::json{{"a", ok_entry}, {"b", ok_entry}}.dump(), std::string(24, 'x')),
       absl::StatusCode::kInvalidArgument,
       {"'b'", "overlap"}},
      {Safetensors(nlohmann::json{{"__metadata__", 3}}.dump(), ""),
       absl::StatusCode::kInvalidArgument,
       {"__metadata__"}},
      {OneTensorFile("F32", 0), absl::StatusCode::kInvalidArgument, {"'w'", "must be an object"}},
  };
  const fs::path path = ScratchDir() / "bad.safetensors";
  for (const Case& c : cases) {
    WriteBytes(path, c.file);
    const absl::Status status = ReadStatus(path);
    EXPECT_EQ(status.code(), c.code) << status;
    EXPECT_THAT(status.message(), HasSubstr("bad.safetensors"));
    for (const std::string& part : c.message) {
      EXPECT_THAT(status.message(), HasSubstr(part)) << status;
    }
  }
}

TEST(SafetensorsReaderTest, AcceptsMetadataAndEmptyAndMisalignedTensors) {
  // "h" (F16, 3 elements) pushes "w" (F32) to offset 6: misaligned, so it is copied.
  const nlohmann::json header = {
      {"__metadata__", {{"format", "pt"}}},
      {"h", {{"dtype", "F16"}, {"shape", {3}}, {"data_offsets", {0, 6}}}},
      {"w", {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {6, 14}}}},
      {"z", {{"dtype", "BF16"}, {"shape", {0, 5}}, {"data_offsets", {14, 14}}}}};
  std::string data(14, '\0');
  const float values[2] = {1.5f, -2.25f};
  std::memcpy(data.data() + 6, values, 8);
  // The header length 8 + N keeps the data section 8-aligned only if N % 8 == 0; pad to make it so.
  std::string header_text = header.dump();
  header_text.append((8 - header_text.size() % 8) % 8, ' ');
  const fs::path path = ScratchDir() / "mixed.safetensors";
  WriteBytes(path, Safetensors(header_text, data));

  const absl::StatusOr<TensorMap> tensors = ReadSafetensors(path.string());
  ASSERT_TRUE(tensors.ok()) << tensors.status();
  const Tensor& w = tensors->at("w");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(w.data()) % 4, 0u);
  EXPECT_EQ(w.data_as<float>()[0], 1.5f);
  EXPECT_EQ(w.data_as<float>()[1], -2.25f);
  EXPECT_EQ(tensors->at("z").num_elements(), 0);
  EXPECT_THAT(tensors->at("z").shape(), ElementsAre(0, 5));
}

TEST(SafetensorsReaderTest, EveryHeaderByteFlipIsHandled) {
  const nlohmann::json header = {
      {"a", {{"dtype", "F16"}, {"shape", {2, 2}}, {"data_offsets", {0, 8}}}},
      {"b", {{"dtype", "F32"}, {"shape", {3}}, {"data_offsets", {8, 20}}}}};
  const std::string good = Safetensors(header.dump(), std::string(20, '\x3c'));
  ASSERT_TRUE(ReadSafetensors([&] {
                const fs::path path = ScratchDir() / "good.safetensors";
                WriteBytes(path, good);
                return path.string();
              }())
                  .ok());
  const fs::path path = ScratchDir() / "flipped.safetensors";
  for (size_t i = 0; i < good.size() - 20; ++i) {
    for (const unsigned char mask : {0x01, 0x20, 0xFF}) {
      std::string flipped = good;
      flipped[i] = static_cast<char>(flipped[i] ^ mask);
      WriteBytes(path, flipped);
      const absl::StatusOr<TensorMap> tensors = ReadSafetensors(path.string());
      if (!tensors.ok()) continue;  // Most flips are errors; the rest must still be in bounds.
      for (const auto& [name, tensor] : *tensors) {
        EXPECT_LE(tensor.size_bytes(), 20u) << i;
      }
    }
  }
}

// Copies tiny-qwen3-moe's shards into a scratch directory with the given index.
fs::path ShardedCopy(const nlohmann::json& index) {
  const fs::path directory = ScratchDir();
  for (const char* shard :
       {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}) {
    fs::copy_file(ModelsDir() / "tiny-qwen3-moe" / shard, directory / shard);
  }
  const fs::path index_path = directory / "model.safetensors.index.json";
  std::ofstream(index_path) << index.dump();
  return index_path;
}

nlohmann::json CommittedIndex() {
  return nlohmann::json::parse(
      testing::ReadFileOrEmpty(ModelsDir() / "tiny-qwen3-moe" / "model.safetensors.index.json"));
}

TEST(SafetensorsReaderTest, IndexNamingAMissingShard) {
  nlohmann::json index = CommittedIndex();
  index["weight_map"]["lm_head.weight"] = "model-00003-of-00002.safetensors";
  const absl::Status status = ReadShardedSafetensors(ShardedCopy(index).string()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
  EXPECT_THAT(status.message(), HasSubstr("model-00003-of-00002.safetensors"));
}

TEST(SafetensorsReaderTest, IndexNamingATensorItsShardLacks) {
  nlohmann::json index = CommittedIndex();
  index["weight_map"]["model.layers.9.mlp.gate.weight"] = "model-00002-of-00002.safetensors";
  const absl::Status status = ReadShardedSafetensors(ShardedCopy(index).string()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), AllOf(HasSubstr("'model.layers.9.mlp.gate.weight'"),
                                      HasSubstr("does not contain it")));
}

TEST(SafetensorsReaderTest, IndexPlacingATensorInTheWrongShard) {
  nlohmann::json index = CommittedIndex();
  index["weight_map"]["lm_head.weight"] = "model-00001-of-00002.safetensors";
  const absl::Status status = ReadShardedSafetensors(ShardedCopy(index).string()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("'lm_head.weight'"));
}

TEST(SafetensorsReaderTest, ShardHoldingAnUnlistedTensor) {
  nlohmann::json index = CommittedIndex();
  index["weight_map"].erase("lm_head.weight");
  const absl::Status status = ReadShardedSafetensors(ShardedCopy(index).string()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), AllOf(HasSubstr("'lm_head.weight'"), HasSubstr("does not list")));
}

TEST(SafetensorsReaderTest, DuplicateTensorAcrossShards) {
  nlohmann::json index = CommittedIndex();
  const fs::path index_path = ShardedCopy(index);
  // Make shard 2 a copy of shard 1: every shard-1 tensor now appears twice.
  fs::copy_file(index_path.parent_path() / "model-00001-of-00002.safetensors",
                index_path.parent_path() / "model-00002-of-00002.safetensors",
                fs::copy_options::overwrite_existing);
  const absl::Status status = ReadShardedSafetensors(index_path.string()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("appears in both"));
}

TEST(SafetensorsReaderTest, IndexShardNamesMustBePlainFileNames) {
  nlohmann::json index = CommittedIndex();
  index["weight_map"]["lm_head.weight"] = "../tiny-qwen3-moe/model-00002-of-00002.safetensors";
  const absl::Status status = ReadShardedSafetensors(ShardedCopy(index).string()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("not a plain file name"));
}

TEST(SafetensorsReaderTest, MalformedIndex) {
  for (const char* text :
       {"", "[]", "{\"weight_map\": 3}", "{\"weight_map\": {}}", "{\"weight_map\": {\"a\": 1}}"}) {
    const fs::path path = ScratchDir() / "model.safetensors.index.json";
    WriteBytes(path, text);
    const absl::Status status = ReadShardedSafetensors(path.string()).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(status.message(), HasSubstr("model.safetensors.index.json")) << text;
  }
}

}  // namespace
}  // namespace minimind
