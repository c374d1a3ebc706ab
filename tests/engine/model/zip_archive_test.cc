#include "engine/model/zip_archive.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_paths.h"

namespace minimind {
namespace {

using ::testing::HasSubstr;

absl::Span<const uint8_t> Bytes(const std::string& text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

template <typename T>
void Put(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(T));
}

struct Entry {
  std::string name;
  std::string payload;
  uint16_t method = 0;
  std::string local_extra;  // Padding, as torch writes it.
};

// A minimal zip writer: local headers with zero sizes and the data-descriptor flag (as torch
// writes them), a central directory, and either a classic end record or, with `zip64`, saturated
// classic fields plus ZIP64 end record, locator and per-entry ZIP64 extra fields.
std::string BuildZip(const std::vector<Entry>& entries, bool zip64) {
  std::string zip;
  std::vector<uint64_t> offsets;
  for (const Entry& entry : entries) {
    offsets.push_back(zip.size());
    Put<uint32_t>(zip, 0x04034b50);
    Put<uint16_t>(zip, 20);
    Put<uint16_t>(zip, 0x0808);
    Put<uint16_t>(zip, entry.method);
    Put<uint32_t>(zip, 0);  // time, date
    Put<uint32_t>(zip, 0);  // crc
    Put<uint32_t>(zip, 0);  // sizes follow in the data descriptor
    Put<uint32_t>(zip, 0);
    Put<uint16_t>(zip, entry.name.size());
    Put<uint16_t>(zip, entry.local_extra.size());
    zip += entry.name + entry.local_extra + entry.payload;
    Put<uint32_t>(zip, 0x08074b50);
    Put<uint32_t>(zip, 0);
    Put<uint32_t>(zip, entry.payload.size());
    Put<uint32_t>(zip, entry.payload.size());
  }
  const uint64_t directory_offset = zip.size();
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& entry = entries[i];
    std::string extra;
    if (zip64) {
      Put<uint16_t>(extra, 0x0001);
      Put<uint16_t>(extra, 24);
      Put<uint64_t>(extra, entry.payload.size());
      Put<uint64_t>(extra, entry.payload.size());
      Put<uint64_t>(extra, offsets[i]);
    }
    const uint32_t size32 = zip64 ? 0xFFFFFFFF : entry.payload.size();
    Put<uint32_t>(zip, 0x02014b50);
    Put<uint16_t>(zip, 45);
    Put<uint16_t>(zip, 45);
    Put<uint16_t>(zip, 0x0808);
    Put<uint16_t>(zip, entry.method);
    Put<uint32_t>(zip, 0);
    Put<uint32_t>(zip, 0);
    Put<uint32_t>(zip, size32);
    Put<uint32_t>(zip, size32);
    Put<uint16_t>(zip, entry.name.size());
    Put<uint16_t>(zip, extra.size());
    Put<uint16_t>(zip, 0);  // comment
    Put<uint16_t>(zip, 0);  // disk
    Put<uint16_t>(zip, 0);  // internal attributes
    Put<uint32_t>(zip, 0);  // external attributes
    Put<uint32_t>(zip, zip64 ? 0xFFFFFFFF : static_cast<uint32_t>(offsets[i]));
    zip += entry.name + extra;
  }
  const uint64_t directory_size = zip.size() - directory_offset;
  if (zip64) {
    const uint64_t zip64_end = zip.size();
    Put<uint32_t>(zip, 0x06064b50);
    Put<uint64_t>(zip, 44);
    Put<uint16_t>(zip, 45);
    Put<uint16_t>(zip, 45);
    Put<uint32_t>(zip, 0);
    Put<uint32_t>(zip, 0);
    Put<uint64_t>(zip, entries.size());
    Put<uint64_t>(zip, entries.size());
    Put<uint64_t>(zip, directory_size);
    Put<uint64_t>(zip, directory_offset);
    Put<uint32_t>(zip, 0x07064b50);
    Put<uint32_t>(zip, 0);
    Put<uint64_t>(zip, zip64_end);
    Put<uint32_t>(zip, 1);
  }
  Put<uint32_t>(zip, 0x06054b50);
  Put<uint16_t>(zip, 0);
  Put<uint16_t>(zip, 0);
  Put<uint16_t>(zip, zip64 ? 0xFFFF : entries.size());
  Put<uint16_t>(zip, zip64 ? 0xFFFF : entries.size());
  Put<uint32_t>(zip, zip64 ? 0xFFFFFFFF : directory_size);
  Put<uint32_t>(zip, zip64 ? 0xFFFFFFFF : directory_offset);
  Put<uint16_t>(zip, 0);
  return zip;
}

std::string Payload(const std::string& zip, const ZipEntry& entry) {
  return zip.substr(entry.data_offset, entry.uncompressed_size);
}

TEST(ZipArchiveTest, ReadsTheCommittedPth) {
  const std::string zip =
      testing::ReadFileOrEmpty(testing::TestDataDir() / "models" / "tiny-llama-pth" / "model.pth");
  const absl::StatusOr<std::vector<ZipEntry>> entries = ReadZipDirectory(Bytes(zip));
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 23u);
  EXPECT_EQ((*entries)[0].name, "model/data.pkl");
  EXPECT_EQ((*entries)[0].uncompressed_size, 2106u);
  EXPECT_EQ((*entries)[1].name, "model/data/0");
  EXPECT_EQ((*entries)[1].uncompressed_size, 49152u);  // 384 x 64 F16.
  EXPECT_EQ(entries->back().name, "model/version");
  EXPECT_EQ(Payload(zip, entries->back()), "3\n");
  for (const ZipEntry& entry : *entries) {
    EXPECT_TRUE(entry.is_stored()) << entry.name;
    EXPECT_EQ(entry.data_offset % 64, 0u) << entry.name;  // torch aligns payloads.
  }
  // The pickle starts with PROTO 2 and ends with STOP.
  const std::string pickle = Payload(zip, (*entries)[0]);
  EXPECT_EQ(pickle.substr(0, 2), "\x80\x02");
  EXPECT_EQ(pickle.back(), '.');
}

TEST(ZipArchiveTest, ClassicAndZip64DirectoriesAgree) {
  const std::vector<Entry> entries = {{"a/data.pkl", "pickle", 0, std::string(7, 'F')},
                                      {"a/data/0", std::string(100, 'x'), 0, ""},
                                      {"a/deflated", "zz", 8, ""}};
  for (const bool zip64 : {false, true}) {
    const std::string zip = BuildZip(entries, zip64);
    const absl::StatusOr<std::vector<ZipEntry>> read = ReadZipDirectory(Bytes(zip));
    ASSERT_TRUE(read.ok()) << zip64 << ": " << read.status();
    ASSERT_EQ(read->size(), 3u);
    EXPECT_EQ(Payload(zip, (*read)[0]), "pickle");  // After the 7-byte local extra field.
    EXPECT_EQ(Payload(zip, (*read)[1]), std::string(100, 'x'));
    EXPECT_TRUE((*read)[1].is_stored());
    EXPECT_FALSE((*read)[2].is_stored());
    EXPECT_EQ((*read)[2].compression_method, 8);
  }
}

TEST(ZipArchiveTest, TruncatedOrGarbageFails) {
  const std::string zip = BuildZip({{"a/data.pkl", "pickle", 0, ""}, {"a/b", "0123", 0, ""}},
                                   /*zip64=*/true);
  for (size_t length = 0; length < zip.size(); ++length) {
    const absl::StatusOr<std::vector<ZipEntry>> read =
        ReadZipDirectory(Bytes(zip.substr(0, length)));
    EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument) << length;
  }
  const absl::StatusOr<std::vector<ZipEntry>> garbage =
      ReadZipDirectory(Bytes(std::string(5000, '\x42')));
  EXPECT_EQ(garbage.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(garbage.status().message(), HasSubstr("end-of-central-directory"));
}

TEST(ZipArchiveTest, EveryCorruptedByteOfTheDirectoryIsHandled) {
  const std::string zip = BuildZip({{"a/data.pkl", "pickle", 0, ""}, {"a/b", "0123", 0, ""}},
                                   /*zip64=*/true);
  // Flip each byte of the directory and end records: any result is fine except a crash, and
  // every entry that is returned must lie inside the buffer.
  const size_t directory = zip.find("PK\x01\x02");
  for (size_t i = directory; i < zip.size(); ++i) {
    std::string corrupted = zip;
    corrupted[i] = static_cast<char>(corrupted[i] ^ 0xFF);
    const absl::StatusOr<std::vector<ZipEntry>> read = ReadZipDirectory(Bytes(corrupted));
    if (!read.ok()) continue;
    for (const ZipEntry& entry : *read) {
      EXPECT_LE(entry.data_offset + entry.compressed_size, corrupted.size()) << i;
    }
  }
}

}  // namespace
}  // namespace minimind
