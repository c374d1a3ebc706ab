// Small file helpers of the stores that keep state on the local disk (the KV spill tier, the memory
// store's state file).
#ifndef MINIMIND_SERVICE_SESSIONS_FILE_IO_H_
#define MINIMIND_SERVICE_SESSIONS_FILE_IO_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace minimind {

// Writes `data` to `path` + ".tmp", flushes it to the disk and renames it over `path`, so `path`
// holds either its old content or all of `data`, never a torn write. The temporary is removed on
// failure. Unavailable with the errno text (ENOSPC, EACCES, ...).
absl::Status WriteFileAtomically(const std::string& path, absl::string_view data);

// The whole file. NotFound when it does not exist; Unavailable for other errors.
absl::StatusOr<std::string> ReadWholeFile(const std::string& path);

}  // namespace minimind

#endif  // MINIMIND_SERVICE_SESSIONS_FILE_IO_H_
