#include "engine/model/mapped_file.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_paths.h"

namespace minimind {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

TEST(MappedFileTest, MapsTheWholeFile) {
  const fs::path path = testing::ScratchPath("mapped_file_test.bin");
  std::ofstream(path, std::ios::binary) << std::string("hello\0world", 11);
  const absl::StatusOr<std::shared_ptr<const MappedFile>> file = MappedFile::Open(path.string());
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ((*file)->size(), 11u);
  EXPECT_EQ((*file)->path(), path.string());
  const std::string contents((*file)->bytes().begin(), (*file)->bytes().end());
  EXPECT_EQ(contents, std::string("hello\0world", 11));
}

TEST(MappedFileTest, EmptyFileMapsToNoBytes) {
  const fs::path path = testing::ScratchPath("mapped_file_test.empty");
  std::ofstream(path, std::ios::binary).flush();
  const absl::StatusOr<std::shared_ptr<const MappedFile>> file = MappedFile::Open(path.string());
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ((*file)->size(), 0u);
  EXPECT_TRUE((*file)->bytes().empty());
}

TEST(MappedFileTest, MissingFileIsNotFound) {
  const absl::StatusOr<std::shared_ptr<const MappedFile>> file =
      MappedFile::Open("/nonexistent/mapped_file_test");
  EXPECT_EQ(file.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(file.status().message(), HasSubstr("/nonexistent/mapped_file_test"));
}

TEST(MappedFileTest, DirectoryIsInvalidArgument) {
  const absl::StatusOr<std::shared_ptr<const MappedFile>> file =
      MappedFile::Open(::testing::TempDir());
  EXPECT_EQ(file.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(file.status().message(), HasSubstr("not a regular file"));
}

}  // namespace
}  // namespace minimind
