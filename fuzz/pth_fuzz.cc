// The .pth path: zip central directory and the torch state-dict pickle on arbitrary bytes. The
// first byte picks which (so one corpus can hold both); each gives a result or an error.
#include <cstddef>
#include <cstdint>

#include "absl/types/span.h"
#include "engine/model/torch_pickle.h"
#include "engine/model/zip_archive.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const absl::Span<const uint8_t> body(data + 1, size - 1);
  if (data[0] & 1) {
    (void)minimind::ParseStateDictPickle(body);
  } else {
    absl::StatusOr<std::vector<minimind::ZipEntry>> entries = minimind::ReadZipDirectory(body);
    (void)entries;
  }
  return 0;
}
