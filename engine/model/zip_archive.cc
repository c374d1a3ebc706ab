#include "engine/model/zip_archive.h"

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/base/status_macros.h"

namespace minimind {
namespace {

constexpr uint32_t kLocalHeaderSignature = 0x04034b50;
constexpr uint32_t kCentralHeaderSignature = 0x02014b50;
constexpr uint32_t kEndSignature = 0x06054b50;
constexpr uint32_t kZip64EndSignature = 0x06064b50;
constexpr uint32_t kZip64LocatorSignature = 0x07064b50;
constexpr uint16_t kZip64ExtraId = 0x0001;
constexpr size_t kLocalHeaderSize = 30;
constexpr size_t kCentralHeaderSize = 46;
constexpr size_t kEndSize = 22;
constexpr size_t kZip64EndSize = 56;
constexpr size_t kZip64LocatorSize = 20;
constexpr size_t kMaxCommentSize = 0xFFFF;

// Bounds-checked little-endian reads from the archive.
class Reader {
 public:
  explicit Reader(absl::Span<const uint8_t> bytes) : bytes_(bytes) {}

  // Whether [offset, offset + length) lies inside the archive, without overflow.
  bool Contains(uint64_t offset, uint64_t length) const {
    return offset <= bytes_.size() && length <= bytes_.size() - offset;
  }
  template <typename T>
  T Read(uint64_t offset) const {  // Caller has checked Contains(offset, sizeof(T)).
    T value;
    std::memcpy(&value, bytes_.data() + offset, sizeof(T));
    return value;
  }
  const char* At(uint64_t offset) const {
    return reinterpret_cast<const char*>(bytes_.data() + offset);
  }
  uint64_t size() const { return bytes_.size(); }

 private:
  absl::Span<const uint8_t> bytes_;
};

struct Directory {
  uint64_t entries;
  uint64_t offset;
  uint64_t size;
};

absl::StatusOr<Directory> FindDirectory(const Reader& archive) {
  if (archive.size() < kEndSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a zip archive: ", archive.size(),
                     " bytes is shorter than an end-of-directory record"));
  }
  // The end record sits at the end, followed only by a comment of at most 64 KiB.
  uint64_t end = archive.size() - kEndSize;
  const uint64_t lowest = end > kMaxCommentSize ? end - kMaxCommentSize : 0;
  while (true) {
    if (archive.Read<uint32_t>(end) == kEndSignature &&
        end + kEndSize + archive.Read<uint16_t>(end + 20) == archive.size()) {
      break;
    }
    if (end == lowest) {
      return absl::InvalidArgumentError(
          "not a zip archive: no end-of-central-directory record (truncated or not a zip file)");
    }
    --end;
  }
  Directory directory{.entries = archive.Read<uint16_t>(end + 10),
                      .offset = archive.Read<uint32_t>(end + 16),
                      .size = archive.Read<uint32_t>(end + 12)};
  const bool saturated =
      directory.entries == 0xFFFF || directory.offset == 0xFFFFFFFF || directory.size == 0xFFFFFFFF;
  if (saturated) {
    if (end < kZip64LocatorSize ||
        archive.Read<uint32_t>(end - kZip64LocatorSize) != kZip64LocatorSignature) {
      return absl::InvalidArgumentError(
          "zip end record needs a ZIP64 end record but has no ZIP64 locator before it");
    }
    const uint64_t zip64_end = archive.Read<uint64_t>(end - kZip64LocatorSize + 8);
    if (!archive.Contains(zip64_end, kZip64EndSize) ||
        archive.Read<uint32_t>(zip64_end) != kZip64EndSignature) {
      return absl::InvalidArgumentError(
          absl::StrCat("ZIP64 locator points to offset ", zip64_end,
                       ", where there is no ZIP64 end-of-central-directory record"));
    }
    directory.entries = archive.Read<uint64_t>(zip64_end + 32);
    directory.size = archive.Read<uint64_t>(zip64_end + 40);
    directory.offset = archive.Read<uint64_t>(zip64_end + 48);
  }
  if (!archive.Contains(directory.offset, directory.size)) {
    return absl::InvalidArgumentError(absl::StrCat("zip central directory [", directory.offset,
                                                   ", +", directory.size, ") lies outside the ",
                                                   archive.size(), "-byte archive (truncated?)"));
  }
  if (directory.entries > directory.size / kCentralHeaderSize) {
    return absl::InvalidArgumentError(absl::StrCat("zip central directory claims ",
                                                   directory.entries, " entries in ",
                                                   directory.size, " bytes"));
  }
  return directory;
}

// Replaces saturated 32-bit sizes/offset with the ZIP64 extra field's 64-bit values, which
// appear in this order and only for the saturated fields.
absl::Status ApplyZip64Extra(const Reader& archive, uint64_t extra, uint64_t extra_size,
                             ZipEntry& entry, uint64_t& local_offset) {
  uint64_t* const fields[] = {&entry.uncompressed_size, &entry.compressed_size, &local_offset};
  const uint64_t limit = extra + extra_size;
  while (extra + 4 <= limit) {
    const uint16_t id = archive.Read<uint16_t>(extra);
    const uint16_t size = archive.Read<uint16_t>(extra + 2);
    const uint64_t body = extra + 4;
    if (size > limit - body) break;
    if (id == kZip64ExtraId) {
      uint64_t cursor = body;
      for (uint64_t* field : fields) {
        if (*field != 0xFFFFFFFF) continue;
        if (cursor + 8 > body + size) {
          return absl::InvalidArgumentError(
              absl::StrCat("zip entry '", entry.name, "': ZIP64 extra field is too short"));
        }
        *field = archive.Read<uint64_t>(cursor);
        cursor += 8;
      }
      return absl::OkStatus();
    }
    extra = body + size;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<ZipEntry>> ReadZipDirectory(absl::Span<const uint8_t> bytes) {
  const Reader archive(bytes);
  MINIMIND_ASSIGN_OR_RETURN(const Directory directory, FindDirectory(archive));
  std::vector<ZipEntry> entries;
  entries.reserve(directory.entries);
  uint64_t cursor = directory.offset;
  const uint64_t directory_end = directory.offset + directory.size;
  for (uint64_t index = 0; index < directory.entries; ++index) {
    if (cursor + kCentralHeaderSize > directory_end ||
        archive.Read<uint32_t>(cursor) != kCentralHeaderSignature) {
      return absl::InvalidArgumentError(absl::StrCat("zip central directory entry ", index,
                                                     " at offset ", cursor, " is malformed"));
    }
    const uint16_t flags = archive.Read<uint16_t>(cursor + 8);
    const uint16_t name_size = archive.Read<uint16_t>(cursor + 28);
    const uint16_t extra_size = archive.Read<uint16_t>(cursor + 30);
    const uint16_t comment_size = archive.Read<uint16_t>(cursor + 32);
    const uint64_t variable = cursor + kCentralHeaderSize;
    if (variable + name_size + extra_size + comment_size > directory_end) {
      return absl::InvalidArgumentError(absl::StrCat("zip central directory entry ", index,
                                                     " runs past the end of the directory"));
    }
    ZipEntry entry;
    entry.name.assign(archive.At(variable), name_size);
    entry.compression_method = archive.Read<uint16_t>(cursor + 10);
    entry.encrypted = (flags & 0x0001) != 0;
    entry.compressed_size = archive.Read<uint32_t>(cursor + 20);
    entry.uncompressed_size = archive.Read<uint32_t>(cursor + 24);
    uint64_t local_offset = archive.Read<uint32_t>(cursor + 42);
    MINIMIND_RETURN_IF_ERROR(
        ApplyZip64Extra(archive, variable + name_size, extra_size, entry, local_offset));

    if (!archive.Contains(local_offset, kLocalHeaderSize) ||
        archive.Read<uint32_t>(local_offset) != kLocalHeaderSignature) {
      return absl::InvalidArgumentError(
          absl::StrCat("zip entry '", entry.name, "': no local header at offset ", local_offset));
    }
    const uint16_t local_name_size = archive.Read<uint16_t>(local_offset + 26);
    const uint16_t local_extra_size = archive.Read<uint16_t>(local_offset + 28);
    entry.data_offset = local_offset + kLocalHeaderSize + local_name_size + local_extra_size;
    if (!archive.Contains(entry.data_offset, entry.compressed_size)) {
      return absl::InvalidArgumentError(absl::StrCat("zip entry '", entry.name, "': its ",
                                                     entry.compressed_size, " bytes at offset ",
                                                     entry.data_offset, " run past the end of the ",
                                                     archive.size(), "-byte archive (truncated?)"));
    }
    if (entry.is_stored() && entry.compressed_size != entry.uncompressed_size) {
      return absl::InvalidArgumentError(
          absl::StrCat("zip entry '", entry.name, "' is stored but its compressed size ",
                       entry.compressed_size, " differs from its size ", entry.uncompressed_size));
    }
    entries.push_back(std::move(entry));
    cursor = variable + name_size + extra_size + comment_size;
  }
  return entries;
}

}  // namespace minimind
