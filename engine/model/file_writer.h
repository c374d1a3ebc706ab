// Writes a whole file at once (create or truncate), reporting errno-based failures with the path.
// Used by the checkpoint writers. Thread-safe (no shared state).
#ifndef MINIMIND_ENGINE_MODEL_FILE_WRITER_H_
#define MINIMIND_ENGINE_MODEL_FILE_WRITER_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace minimind {

// Errors: "cannot create '<path>'" or "cannot write '<path>'" with the errno's status code.
absl::Status WriteWholeFile(const std::string& path, absl::string_view contents);

}  // namespace minimind

#endif  // MINIMIND_ENGINE_MODEL_FILE_WRITER_H_
