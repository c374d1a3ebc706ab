// The directory of a zip archive held in memory (the container of a torch.save .pth file): each
// entry's name, compression method and where its payload lies. Only reads the directory; payloads
// are used in place by the caller, so only STORED (uncompressed) entries are usable — which is all
// torch.save writes.
//
// Sizes and offsets come from the central directory (torch sets the data-descriptor flag 0x0008,
// so local headers carry zero sizes), with ZIP64 end records and extra fields honoured when the
// 32-bit fields are saturated. A payload starts after its *local* header, whose extra field
// (torch's alignment padding) may differ from the central one. Every offset and size is checked
// against the buffer; malformed input is InvalidArgument, never a crash. Thread-safe (pure).
#ifndef MINIMIND_ENGINE_MODEL_ZIP_ARCHIVE_H_
#define MINIMIND_ENGINE_MODEL_ZIP_ARCHIVE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace minimind {

struct ZipEntry {
  std::string name;
  uint16_t compression_method = 0;  // 0 = stored; anything else cannot be viewed in place.
  bool encrypted = false;
  uint64_t data_offset = 0;  // Offset of the payload in the archive.
  uint64_t compressed_size = 0;
  uint64_t uncompressed_size = 0;

  bool is_stored() const { return compression_method == 0 && !encrypted; }
};

// Entries in central-directory order. The payload of each lies within `archive`.
absl::StatusOr<std::vector<ZipEntry>> ReadZipDirectory(absl::Span<const uint8_t> archive);

}  // namespace minimind

#endif  // MINIMIND_ENGINE_MODEL_ZIP_ARCHIVE_H_
