#include "engine/model/pth_reader.h"

#include <bit>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/base/status_macros.h"
#include "engine/model/mapped_file.h"
#include "engine/model/torch_pickle.h"
#include "engine/model/zip_archive.h"

namespace minimind {
namespace {

static_assert(std::endian::native == std::endian::little,
              "torch.save writes little-endian storages, viewed in place");

constexpr absl::string_view kPickleSuffix = "data.pkl";

class PthArchive {
 public:
  PthArchive(std::shared_ptr<const MappedFile> file, std::vector<ZipEntry> entries)
      : file_(std::move(file)) {
    for (ZipEntry& entry : entries) {
      std::string name = entry.name;
      entries_.emplace(std::move(name), std::move(entry));
    }
  }

  // The directory all records live in ("model/" for model.pth): the one holding data.pkl.
  absl::StatusOr<std::string> Prefix() const {
    std::vector<std::string> prefixes;
    for (const auto& [name, entry] : entries_) {
      const size_t slash = name.find('/');
      if (slash != std::string::npos && name.substr(slash + 1) == kPickleSuffix) {
        prefixes.push_back(name.substr(0, slash + 1));
      }
    }
    if (prefixes.size() != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("zip archive has ", prefixes.size(),
                       " <name>/data.pkl entries; a torch.save checkpoint has exactly one"));
    }
    return prefixes.front();
  }

  // The payload of a stored entry; NotFound when absent.
  absl::StatusOr<absl::Span<const uint8_t>> Payload(const std::string& name) const {
    const auto it = entries_.find(name);
    if (it == entries_.end()) {
      return absl::NotFoundError(absl::StrCat("zip archive has no entry '", name, "'"));
    }
    const ZipEntry& entry = it->second;
    if (!entry.is_stored()) {
      return absl::InvalidArgumentError(
          absl::StrCat("zip entry '", name, "' is ", entry.encrypted ? "encrypted" : "compressed",
                       " (method ", entry.compression_method,
                       "); torch.save stores entries uncompressed, which is required to map them"));
    }
    return file_->bytes().subspan(entry.data_offset, entry.uncompressed_size);
  }

  const std::shared_ptr<const MappedFile>& file() const { return file_; }

 private:
  std::shared_ptr<const MappedFile> file_;
  absl::flat_hash_map<std::string, ZipEntry> entries_;
};

// Checks a tensor against its storage and returns a view of it.
absl::StatusOr<Tensor> ViewTensor(const PickledTensor& pickled, absl::Span<const uint8_t> storage,
                                  const PthArchive& archive) {
  const auto error = [&](absl::StatusCode code, absl::string_view problem) {
    return absl::Status(code, absl::StrCat("tensor '", pickled.name, "': ", problem));
  };
  const uint64_t element_size = DTypeSize(pickled.dtype);
  const uint64_t storage_elements = static_cast<uint64_t>(pickled.storage_elements);
  if (storage.size() / element_size < storage_elements ||
      storage.size() != storage_elements * element_size) {
    return error(absl::StatusCode::kInvalidArgument,
                 absl::StrCat("storage '", pickled.storage_key, "' holds ", storage.size(),
                              " bytes but is declared as ", storage_elements, " ",
                              DTypeName(pickled.dtype), " elements"));
  }
  // The element count may not exceed the storage (e * x > S exactly when e > S / x), which
  // also keeps every product below from overflowing.
  uint64_t elements = 1;
  for (const int64_t extent : pickled.shape) {
    if (extent != 0 && elements > storage_elements / static_cast<uint64_t>(extent)) {
      return error(absl::StatusCode::kInvalidArgument,
                   absl::StrCat("shape ", FormatShape(pickled.shape), " exceeds its storage of ",
                                storage_elements, " elements"));
    }
    elements *= static_cast<uint64_t>(extent);
  }
  if (elements > 0) {
    uint64_t expected_stride = 1;
    for (size_t axis = pickled.shape.size(); axis-- > 0;) {
      if (pickled.shape[axis] != 1 &&
          static_cast<uint64_t>(pickled.stride[axis]) != expected_stride) {
        return error(absl::StatusCode::kUnimplemented,
                     absl::StrCat("strides ", FormatShape(pickled.stride), " for shape ",
                                  FormatShape(pickled.shape),
                                  " are not contiguous; only contiguous tensors are supported"));
      }
      expected_stride *= static_cast<uint64_t>(pickled.shape[axis]);
    }
  }
  const uint64_t offset = static_cast<uint64_t>(pickled.storage_offset);
  if (offset > storage_elements || elements > storage_elements - offset) {
    return error(
        absl::StatusCode::kInvalidArgument,
        absl::StrCat(elements, " elements from offset ", offset, " run past the end of storage '",
                     pickled.storage_key, "' (", storage_elements, " elements)"));
  }
  return ViewOrAlignedCopy(pickled.dtype, pickled.shape, storage.data() + offset * element_size,
                           archive.file());
}

absl::StatusOr<TensorMap> ParsePth(std::shared_ptr<const MappedFile> file) {
  absl::StatusOr<std::vector<ZipEntry>> entries = ReadZipDirectory(file->bytes());
  if (!entries.ok()) {
    // Before torch 1.6, torch.save wrote a bare pickle stream (starting with PROTO, 0x80).
    if (!file->bytes().empty() && file->bytes()[0] == 0x80) {
      return absl::UnimplementedError(
          "this is a legacy (pre-zip, torch < 1.6) torch.save file; re-save it with a newer torch");
    }
    return entries.status();
  }
  const PthArchive archive(std::move(file), *std::move(entries));
  MINIMIND_ASSIGN_OR_RETURN(const std::string prefix, archive.Prefix());

  // Newer torch records the byte order; big-endian storages cannot be viewed in place.
  if (absl::StatusOr<absl::Span<const uint8_t>> order = archive.Payload(prefix + "byteorder");
      order.ok()) {
    const std::string text(order->begin(), order->end());
    if (text != "little") {
      return absl::UnimplementedError(
          absl::StrCat("storages are stored with byte order '", text, "'; only little"));
    }
  }
  MINIMIND_ASSIGN_OR_RETURN(const absl::Span<const uint8_t> pickle,
                            archive.Payload(absl::StrCat(prefix, kPickleSuffix)));
  MINIMIND_ASSIGN_OR_RETURN(const std::vector<PickledTensor> pickled, ParseStateDictPickle(pickle));
  TensorMap tensors;
  for (const PickledTensor& entry : pickled) {
    const std::string storage_name = absl::StrCat(prefix, "data/", entry.storage_key);
    absl::StatusOr<absl::Span<const uint8_t>> storage = archive.Payload(storage_name);
    if (!storage.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor '", entry.name, "': ", storage.status().message()));
    }
    MINIMIND_ASSIGN_OR_RETURN(Tensor tensor, ViewTensor(entry, *storage, archive));
    if (!tensors.emplace(entry.name, std::move(tensor)).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("the state dict names tensor '", entry.name, "' twice"));
    }
  }
  return tensors;
}

}  // namespace

absl::StatusOr<TensorMap> ReadPth(const std::string& path) {
  MINIMIND_ASSIGN_OR_RETURN(std::shared_ptr<const MappedFile> file, MappedFile::Open(path));
  absl::StatusOr<TensorMap> tensors = ParsePth(std::move(file));
  if (!tensors.ok()) {
    return absl::Status(tensors.status().code(),
                        absl::StrCat(".pth file '", path, "': ", tensors.status().message()));
  }
  return tensors;
}

}  // namespace minimind
