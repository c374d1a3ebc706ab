// Where tests find their inputs. Committed golden data lives in tests/data; MiniMind's own
// tokenizer files are read from the shared fixtures directory (never copied into the repo),
// overridable with the MINIMIND_FIXTURES environment variable.
#ifndef MINIMIND_TESTS_SUPPORT_TEST_PATHS_H_
#define MINIMIND_TESTS_SUPPORT_TEST_PATHS_H_

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace minimind::testing {

inline std::filesystem::path TestDataDir() { return MINIMIND_TEST_DATA_DIR; }

inline std::filesystem::path FixturesDir() {
  if (const char* overridden = std::getenv("MINIMIND_FIXTURES"); overridden && *overridden) {
    return overridden;
  }
  return MINIMIND_DEFAULT_FIXTURES_DIR;
}

inline std::string ReadFileOrEmpty(const std::filesystem::path& path) {
  std::ifstream stream(path, std::ios::binary);
  std::ostringstream contents;
  contents << stream.rdbuf();
  return contents.str();
}

// A scratch path named `name` that no other running test can use: ctest runs the tests of one
// binary as concurrent processes, so fixed names under the shared temp dir would collide.
inline std::filesystem::path ScratchPath(const std::string& name) {
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string prefix = std::to_string(::getpid());
  if (test != nullptr) prefix += std::string("_") + test->test_suite_name() + "_" + test->name();
  return std::filesystem::path(::testing::TempDir()) / (prefix + "_" + name);
}

}  // namespace minimind::testing

// Skips the current test, saying why, when a MiniMind fixture directory is absent.
#define MINIMIND_SKIP_WITHOUT_FIXTURE(name)                                         \
  do {                                                                              \
    const auto fixture_dir = ::minimind::testing::FixturesDir() / (name);           \
    if (!std::filesystem::exists(fixture_dir / "tokenizer.json")) {                 \
      GTEST_SKIP() << "MiniMind fixture " << fixture_dir.string()                   \
                   << " not found; set MINIMIND_FIXTURES to the directory holding " \
                      "minimind-3/ and minimind2/ to run this test";                \
    }                                                                               \
  } while (false)

#endif  // MINIMIND_TESTS_SUPPORT_TEST_PATHS_H_
