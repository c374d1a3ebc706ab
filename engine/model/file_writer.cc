#include "engine/model/file_writer.h"

#include <cerrno>
#include <cstdio>

#include "absl/strings/str_cat.h"

namespace minimind {

absl::Status WriteWholeFile(const std::string& path, absl::string_view contents) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) {
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot create '", path, "'"));
  }
  const bool written = std::fwrite(contents.data(), 1, contents.size(), file) == contents.size();
  const int write_error = errno;
  if (std::fclose(file) != 0 || !written) {
    return absl::ErrnoToStatus(written ? errno : write_error,
                               absl::StrCat("cannot write '", path, "'"));
  }
  return absl::OkStatus();
}

}  // namespace minimind
