#include "service/sessions/kv_spill_store.h"

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_paths.h"

namespace minimind {
namespace {

// The store treats KvHandle as opaque: these fakes stand in for the engine's handles (through
// shared_ptr's aliasing constructor, as tests/service/sessions/fake_kv.h does) and its export and
// import, which just copy what the fake holds.
struct FakeHandle {
  KvSpill spill;
};

std::shared_ptr<const KvHandle> MakeHandle(std::vector<int32_t> tokens, int blocks, int salt) {
  auto fake = std::make_shared<FakeHandle>();
  fake->spill.tokens = std::move(tokens);
  fake->spill.blocks.resize(blocks * 64);
  for (size_t i = 0; i < fake->spill.blocks.size(); ++i) {
    fake->spill.blocks[i] = static_cast<std::byte>(i * 7 + salt);
  }
  return std::shared_ptr<const KvHandle>(fake, reinterpret_cast<const KvHandle*>(fake.get()));
}

const KvSpill& SpillOf(const KvHandle& kv) { return reinterpret_cast<const FakeHandle&>(kv).spill; }

KvSpillLayout Layout(uint64_t fingerprint = 42) {
  return {.model_fingerprint = fingerprint,
          .element_type = KvElementType::kF16,
          .block_size = 16,
          .shape = {.num_layers = 1, .num_kv_heads = 1, .head_dim = 2},
          .bytes_per_block = 64};
}

class KvSpillStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::ScratchPath("kv_spill");
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<KvSpillStore> Open(int64_t budget = 1 << 20, uint64_t fingerprint = 42) {
    KvSpillOptions options;
    options.dir = dir_.string();
    options.budget_bytes = budget;
    options.layout = Layout(fingerprint);
    options.export_kv = [](const KvHandle& kv) -> absl::StatusOr<KvSpill> { return SpillOf(kv); };
    options.import_kv = [](KvSpill spill) -> absl::StatusOr<std::shared_ptr<const KvHandle>> {
      auto fake = std::make_shared<FakeHandle>();
      fake->spill = std::move(spill);
      return std::shared_ptr<const KvHandle>(fake, reinterpret_cast<const KvHandle*>(fake.get()));
    };
    absl::StatusOr<std::unique_ptr<KvSpillStore>> store = KvSpillStore::Open(options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  std::filesystem::path File(const std::string& id) const { return dir_ / (id + ".kv"); }

  std::filesystem::path dir_;
};

TEST_F(KvSpillStoreTest, SpilledKvRestoresBitForBitAndSurvivesARestart) {
  const std::vector<int32_t> tokens = {1, 2, 3, 4, 5};
  std::shared_ptr<const KvHandle> kv = MakeHandle(tokens, 3, 1);
  {
    auto store = Open();
    store->Spill("s1", kv);
    ASSERT_TRUE(store->Flush(absl::Seconds(10)));
    EXPECT_TRUE(std::filesystem::exists(File("s1")));
    std::vector<int32_t> longer = tokens;
    longer.push_back(9);  // the session grew since: the file still holds a prefix
    std::shared_ptr<const KvHandle> restored = store->Restore("s1", longer);
    ASSERT_NE(restored, nullptr);
    EXPECT_EQ(SpillOf(*restored).tokens, tokens);
    EXPECT_EQ(SpillOf(*restored).blocks, SpillOf(*kv).blocks);
    const KvSpillStats stats = store->stats();
    EXPECT_EQ(stats.spilled_files, 1);
    EXPECT_EQ(stats.restored_files, 1);
    EXPECT_EQ(stats.files, 1);
    EXPECT_EQ(stats.bytes, static_cast<int64_t>(std::filesystem::file_size(File("s1"))));
    EXPECT_EQ(store->Restore("nobody", tokens), nullptr);
    EXPECT_EQ(store->stats().restore_misses, 1);
  }
  // A new process on the same directory: the file is indexed again; leftovers of an unfinished
  // write are removed.
  std::ofstream(dir_ / "s2.kv.tmp") << "half a file";
  auto reopened = Open();
  EXPECT_FALSE(std::filesystem::exists(dir_ / "s2.kv.tmp"));
  std::shared_ptr<const KvHandle> restored = reopened->Restore("s1", tokens);
  ASSERT_NE(restored, nullptr);
  EXPECT_EQ(SpillOf(*restored).blocks, SpillOf(*kv).blocks);
}

TEST_F(KvSpillStoreTest, StaleCorruptAndForeignFilesAreNeverUsed) {
  auto store = Open();
  store->Spill("stale", MakeHandle({1, 2, 3}, 1, 2));
  store->Spill("corrupt", MakeHandle({1, 2, 3}, 2, 3));
  store->Spill("foreign", MakeHandle({1, 2, 3}, 1, 4));
  ASSERT_TRUE(store->Flush(absl::Seconds(10)));

  // The session's tokens changed under the file (another replica's turn): stale, deleted.
  EXPECT_EQ(store->Restore("stale", std::vector<int32_t>{1, 2, 7, 8}), nullptr);
  EXPECT_EQ(store->stats().stale_files, 1);
  EXPECT_FALSE(std::filesystem::exists(File("stale")));

  // One flipped byte in a block: detected, counted, deleted.
  {
    std::fstream file(File("corrupt"), std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(-20, std::ios::end);
    file.put('\x7f');
  }
  EXPECT_EQ(store->Restore("corrupt", std::vector<int32_t>{1, 2, 3}), nullptr);
  EXPECT_EQ(store->stats().corrupt_files, 1);
  EXPECT_FALSE(std::filesystem::exists(File("corrupt")));

  // A server of another model sharing the directory ignores the file and leaves it.
  store.reset();
  auto other_model = Open(1 << 20, /*fingerprint=*/43);
  EXPECT_EQ(other_model->Restore("foreign", std::vector<int32_t>{1, 2, 3}), nullptr);
  EXPECT_EQ(other_model->stats().foreign_files, 1);
  EXPECT_TRUE(std::filesystem::exists(File("foreign")));
}

TEST_F(KvSpillStoreTest, TheBudgetEvictsTheLeastRecentlyUsedFiles) {
  // Each file: a 64-byte header, 3 tokens (12 + 4 bytes) and 2 blocks of 64 + 4 bytes = 216 bytes.
  auto store = Open(/*budget=*/2 * 216 + 100);
  store->Spill("a", MakeHandle({1, 2, 3}, 2, 5));
  store->Spill("b", MakeHandle({1, 2, 3}, 2, 6));
  ASSERT_TRUE(store->Flush(absl::Seconds(10)));
  ASSERT_NE(store->Restore("a", std::vector<int32_t>{1, 2, 3}), nullptr);  // a is now recent
  store->Spill("c", MakeHandle({1, 2, 3}, 2, 7));
  ASSERT_TRUE(store->Flush(absl::Seconds(10)));
  EXPECT_TRUE(std::filesystem::exists(File("a")));
  EXPECT_FALSE(std::filesystem::exists(File("b")));
  EXPECT_TRUE(std::filesystem::exists(File("c")));
  const KvSpillStats stats = store->stats();
  EXPECT_EQ(stats.evicted_files, 1);
  EXPECT_LE(stats.bytes, stats.budget_bytes);
  // A file larger than the whole budget is never written.
  store->Spill("huge", MakeHandle({1}, 20, 8));
  ASSERT_TRUE(store->Flush(absl::Seconds(10)));
  EXPECT_FALSE(std::filesystem::exists(File("huge")));
  EXPECT_EQ(store->stats().write_errors, 1);
}

// ENOSPC: the write fails (here /dev/full answers every write so), nothing is kept, the next
// spill of the session works once there is room.
TEST_F(KvSpillStoreTest, ADiskFullWriteKeepsNothing) {
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  auto store = Open();
  std::filesystem::create_symlink("/dev/full", dir_ / "s.kv.tmp");
  store->Spill("s", MakeHandle({1, 2}, 1, 9));
  ASSERT_TRUE(store->Flush(absl::Seconds(10)));
  EXPECT_EQ(store->stats().write_errors, 1);
  EXPECT_FALSE(std::filesystem::exists(File("s")));
  EXPECT_FALSE(std::filesystem::is_symlink(dir_ / "s.kv.tmp"));
  EXPECT_EQ(store->Restore("s", std::vector<int32_t>{1, 2}), nullptr);
  store->Spill("s", MakeHandle({1, 2}, 1, 9));
  ASSERT_TRUE(store->Flush(absl::Seconds(10)));
  EXPECT_NE(store->Restore("s", std::vector<int32_t>{1, 2}), nullptr);
}

TEST_F(KvSpillStoreTest, ForgetDeletesTheSessionsFile) {
  auto store = Open();
  store->Spill("s", MakeHandle({1}, 1, 1));
  ASSERT_TRUE(store->Flush(absl::Seconds(10)));
  store->Forget("s");
  EXPECT_FALSE(std::filesystem::exists(File("s")));
  EXPECT_EQ(store->stats().files, 0);
}

TEST_F(KvSpillStoreTest, OpenChecksItsOptions) {
  KvSpillOptions options;
  EXPECT_EQ(KvSpillStore::Open(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.dir = dir_.string();
  EXPECT_THAT(KvSpillStore::Open(options).status().message(), ::testing::HasSubstr("budget"));
}

}  // namespace
}  // namespace minimind
