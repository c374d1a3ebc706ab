#include "engine/model/safetensors_reader.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/base/status_macros.h"
#include "engine/model/mapped_file.h"
#include "nlohmann/json.hpp"

namespace minimind {
namespace {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian and is viewed in place");

using Json = nlohmann::json;

// HF safetensors' own limit: a larger header is treated as corruption, not parsed.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
constexpr uint64_t kMaxExtent = uint64_t{1} << 48;

struct TensorEntry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin;
  uint64_t end;
};

absl::StatusOr<DType> ParseDType(const Json& value, const std::string& tensor) {
  if (!value.is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor '", tensor, "': dtype must be a string, got ", value.dump()));
  }
  const std::string& name = value.get_ref<const std::string&>();
  if (name == "F32") return DType::kF32;
  if (name == "F16") return DType::kF16;
  if (name == "BF16") return DType::kBF16;
  return absl::UnimplementedError(absl::StrCat("tensor '", tensor, "' has dtype ", name,
                                               "; supported dtypes are F32, F16 and BF16"));
}

// A JSON array of non-negative integers.
absl::StatusOr<std::vector<uint64_t>> ParseUnsignedList(const Json& value, const char* field,
                                                        const std::string& tensor) {
  auto error = [&] {
    return absl::InvalidArgumentError(absl::StrCat("tensor '", tensor, "': ", field,
                                                   " must be a list of non-negative integers, got ",
                                                   value.dump()));
  };
  if (!value.is_array()) return error();
  std::vector<uint64_t> numbers;
  numbers.reserve(value.size());
  for (const Json& element : value) {
    if (!element.is_number_unsigned() &&
        !(element.is_number_integer() && element.get<int64_t>() >= 0)) {
      return error();
    }
    numbers.push_back(element.get<uint64_t>());
  }
  return numbers;
}

absl::StatusOr<TensorEntry> ParseEntry(const std::string& name, const Json& value,
                                       uint64_t data_size) {
  if (!value.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor '", name, "': entry must be an object, got ", value.dump()));
  }
  for (const char* field : {"dtype", "shape", "data_offsets"}) {
    if (!value.contains(field)) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor '", name, "': missing field '", field, "'"));
    }
  }
  TensorEntry entry{.name = name};
  MINIMIND_ASSIGN_OR_RETURN(entry.dtype, ParseDType(value["dtype"], name));
  MINIMIND_ASSIGN_OR_RETURN(const std::vector<uint64_t> dims,
                            ParseUnsignedList(value["shape"], "shape", name));
  // The element count can never exceed the data section's byte size, which bounds every
  // product below and keeps it far from overflow; the extent cap keeps a zero-element shape such
  // as [0, 2^64 - 1] representable as int64.
  uint64_t elements = 1;
  for (const uint64_t dim : dims) {
    if (dim > kMaxExtent || (dim != 0 && elements > data_size / dim)) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor '", name, "': shape ", value["shape"].dump(),
                       " has more elements than the ", data_size, "-byte data section holds"));
    }
    elements *= dim;
    entry.shape.push_back(static_cast<int64_t>(dim));
  }
  MINIMIND_ASSIGN_OR_RETURN(const std::vector<uint64_t> offsets,
                            ParseUnsignedList(value["data_offsets"], "data_offsets", name));
  if (offsets.size() != 2) {
    return absl::InvalidArgumentError(absl::StrCat("tensor '", name,
                                                   "': data_offsets must be [begin, end], got ",
                                                   value["data_offsets"].dump()));
  }
  entry.begin = offsets[0];
  entry.end = offsets[1];
  if (entry.begin > entry.end || entry.end > data_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor '", name, "': data_offsets [", entry.begin, ", ", entry.end,
                     "] do not lie within the ", data_size, "-byte data section"));
  }
  const uint64_t expected_bytes = elements * DTypeSize(entry.dtype);
  if (entry.end - entry.begin != expected_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor '", name, "': data_offsets [", entry.begin, ", ", entry.end, "] span ",
                     entry.end - entry.begin, " bytes but shape ", FormatShape(entry.shape), " of ",
                     DTypeName(entry.dtype), " needs ", expected_bytes));
  }
  return entry;
}

// The tensors must tile the data section exactly, as HF safetensors requires: no gaps that
// could hide other content, no overlaps, nothing unaccounted for at the end.
absl::Status CheckTiling(std::vector<const TensorEntry*> entries, uint64_t data_size) {
  std::sort(entries.begin(), entries.end(), [](const TensorEntry* a, const TensorEntry* b) {
    return std::pair(a->begin, a->end) < std::pair(b->begin, b->end);
  });
  uint64_t covered = 0;
  for (const TensorEntry* entry : entries) {
    if (entry->begin != covered) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor '", entry->name, "': data_offsets [", entry->begin, ", ", entry->end,
                       "] ", entry->begin < covered ? "overlap" : "leave a gap after",
                       " the data before it (which ends at ", covered,
                       "); tensors must be packed back to back"));
    }
    covered = entry->end;
  }
  if (covered != data_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensors cover ", covered, " bytes of the ", data_size, "-byte data section"));
  }
  return absl::OkStatus();
}

absl::StatusOr<TensorMap> ParseSafetensors(const std::shared_ptr<const MappedFile>& file) {
  const absl::Span<const uint8_t> bytes = file->bytes();
  if (bytes.size() < 8) {
    return absl::InvalidArgumentError(
        absl::StrCat("file is ", bytes.size(), " bytes, too short for the 8-byte header length"));
  }
  uint64_t header_size = 0;
  std::memcpy(&header_size, bytes.data(), sizeof(header_size));
  if (header_size > kMaxHeaderBytes) {
    return absl::InvalidArgumentError(absl::StrCat("header length ", header_size,
                                                   " exceeds the limit of ", kMaxHeaderBytes,
                                                   " bytes (corrupt or not a safetensors file)"));
  }
  if (header_size > bytes.size() - 8) {
    return absl::InvalidArgumentError(absl::StrCat("header length ", header_size,
                                                   " runs past the end of the ", bytes.size(),
                                                   "-byte file (truncated?)"));
  }
  const uint8_t* header_begin = bytes.data() + 8;
  const Json header = Json::parse(header_begin, header_begin + header_size, /*cb=*/nullptr,
                                  /*allow_exceptions=*/false);
  if (header.is_discarded()) return absl::InvalidArgumentError("header is not valid JSON");
  if (!header.is_object()) return absl::InvalidArgumentError("header is not a JSON object");

  const uint8_t* data = header_begin + header_size;
  const uint64_t data_size = bytes.size() - 8 - header_size;
  std::vector<TensorEntry> entries;
  entries.reserve(header.size());
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) {
        return absl::InvalidArgumentError("__metadata__ must be an object");
      }
      continue;
    }
    MINIMIND_ASSIGN_OR_RETURN(TensorEntry entry, ParseEntry(name, value, data_size));
    entries.push_back(std::move(entry));
  }
  std::vector<const TensorEntry*> pointers;
  for (const TensorEntry& entry : entries) pointers.push_back(&entry);
  MINIMIND_RETURN_IF_ERROR(CheckTiling(std::move(pointers), data_size));

  TensorMap tensors;
  for (TensorEntry& entry : entries) {
    tensors.emplace(entry.name, ViewOrAlignedCopy(entry.dtype, std::move(entry.shape),
                                                  data + entry.begin, file));
  }
  return tensors;
}

absl::Status Annotate(const absl::Status& status, absl::string_view context) {
  return absl::Status(status.code(), absl::StrCat(context, status.message()));
}

}  // namespace

absl::StatusOr<TensorMap> ReadSafetensors(const std::string& path) {
  absl::StatusOr<std::shared_ptr<const MappedFile>> file = MappedFile::Open(path);
  if (!file.ok()) return file.status();
  absl::StatusOr<TensorMap> tensors = ParseSafetensors(*file);
  if (!tensors.ok()) {
    return Annotate(tensors.status(), absl::StrCat("safetensors file '", path, "': "));
  }
  return tensors;
}

absl::StatusOr<TensorMap> ReadShardedSafetensors(const std::string& index_path) {
  const std::string context = absl::StrCat("safetensors index '", index_path, "': ");
  absl::StatusOr<std::shared_ptr<const MappedFile>> index_file = MappedFile::Open(index_path);
  if (!index_file.ok()) return index_file.status();
  const absl::Span<const uint8_t> text = (*index_file)->bytes();
  const Json index = Json::parse(text.begin(), text.end(), /*cb=*/nullptr,
                                 /*allow_exceptions=*/false);
  if (index.is_discarded() || !index.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(context, "not a JSON object"));
  }
  const auto weight_map = index.find("weight_map");
  if (weight_map == index.end() || !weight_map->is_object() || weight_map->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(context, "missing or empty 'weight_map' object"));
  }
  // shard file name -> tensor names the index places there.
  std::map<std::string, std::vector<std::string>> shards;
  for (const auto& [name, shard] : weight_map->items()) {
    if (!shard.is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(context, "weight_map entry for '", name,
                                                     "' must be a file name, got ", shard.dump()));
    }
    const std::string& shard_name = shard.get_ref<const std::string&>();
    // A plain name keeps an untrusted index from reading files outside the checkpoint.
    if (shard_name.empty() || shard_name == "." || shard_name == ".." ||
        shard_name.find('/') != std::string::npos || shard_name.find('\\') != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(context, "weight_map places '", name, "' in '", shard_name,
                       "', which is not a plain file name in the index's directory"));
    }
    shards[shard_name].push_back(name);
  }

  // Open every shard first, so a missing file is reported as such (NotFound) rather than as
  // whatever inconsistency it causes.
  const std::filesystem::path directory = std::filesystem::path(index_path).parent_path();
  std::map<std::string, TensorMap> shard_tensors;
  for (const auto& [shard_name, listed] : shards) {
    absl::StatusOr<TensorMap> shard = ReadSafetensors((directory / shard_name).string());
    if (!shard.ok()) {
      return Annotate(shard.status(), absl::StrCat(context, "shard '", shard_name, "': "));
    }
    shard_tensors.emplace(shard_name, *std::move(shard));
  }
  TensorMap tensors;
  std::map<std::string, std::string> shard_of;  // tensor name -> the shard it was read from
  for (auto& [shard_name, shard] : shard_tensors) {
    for (auto& [name, tensor] : shard) {
      const auto [previous, inserted] = shard_of.emplace(name, shard_name);
      if (!inserted) {
        return absl::InvalidArgumentError(absl::StrCat(context, "tensor '", name,
                                                       "' appears in both '", previous->second,
                                                       "' and '", shard_name, "'"));
      }
      tensors.emplace(name, std::move(tensor));
    }
  }
  for (const auto& [shard_name, listed] : shards) {
    for (const std::string& name : listed) {
      if (!shard_tensors.at(shard_name).contains(name)) {
        return absl::InvalidArgumentError(absl::StrCat(context, "weight_map places tensor '", name,
                                                       "' in '", shard_name,
                                                       "', which does not contain it"));
      }
    }
  }
  // Every listed tensor is where the index says, and names are unique across shards, so the
  // only disagreement left is a tensor the index does not list at all.
  for (const auto& [name, shard_name] : shard_of) {
    if (!weight_map->contains(name)) {
      return absl::InvalidArgumentError(absl::StrCat(context, "shard '", shard_name,
                                                     "' holds tensor '", name,
                                                     "', which weight_map does not list"));
    }
  }
  return tensors;
}

}  // namespace minimind
