// MappedFile: a whole file memory-mapped read-only (RAII: unmapped when the last owner goes).
// Checkpoint tensors view the mapping and hold a shared_ptr to it, so weights stay valid for as
// long as any Tensor refers to them, and pages are loaded lazily by the kernel and shared with
// the page cache instead of being copied onto the heap. Immutable; safe to read from any thread.
#ifndef MINIMIND_ENGINE_MODEL_MAPPED_FILE_H_
#define MINIMIND_ENGINE_MODEL_MAPPED_FILE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace minimind {

class MappedFile {
 public:
  // NotFound when the file does not exist, InvalidArgument when it is not a regular file, the
  // errno's code otherwise; each message names the path. An empty file maps to empty bytes.
  static absl::StatusOr<std::shared_ptr<const MappedFile>> Open(const std::string& path);

  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const std::string& path() const { return path_; }
  absl::Span<const uint8_t> bytes() const { return {data_, size_}; }
  size_t size() const { return size_; }

 private:
  MappedFile(std::string path, const uint8_t* data, size_t size)
      : path_(std::move(path)), data_(data), size_(size) {}

  std::string path_;
  const uint8_t* data_;  // Null for an empty file.
  size_t size_;
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_MODEL_MAPPED_FILE_H_
