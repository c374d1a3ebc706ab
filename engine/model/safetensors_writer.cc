#include "engine/model/safetensors_writer.h"

#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/model/file_writer.h"
#include "nlohmann/json.hpp"

namespace minimind {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian and is written from memory as is");

std::string SerializeSafetensors(const TensorMap& tensors) {
  nlohmann::ordered_json header;
  header["__metadata__"] = {{"format", "pt"}};
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    const uint64_t end = offset + tensor.size_bytes();
    header[name] = {{"dtype", DTypeName(tensor.dtype())},
                    {"shape", std::vector<int64_t>(tensor.shape().begin(), tensor.shape().end())},
                    {"data_offsets", {offset, end}}};
    offset = end;
  }
  std::string header_text = header.dump();
  header_text.append((8 - header_text.size() % 8) % 8, ' ');

  std::string file(8, '\0');
  const uint64_t header_size = header_text.size();
  std::memcpy(file.data(), &header_size, sizeof(header_size));
  file.reserve(8 + header_text.size() + offset);
  file += header_text;
  for (const auto& [name, tensor] : tensors) {
    if (tensor.size_bytes() > 0) {
      file.append(static_cast<const char*>(tensor.data()), tensor.size_bytes());
    }
  }
  return file;
}

absl::Status WriteSafetensors(const std::string& path, const TensorMap& tensors) {
  return WriteWholeFile(path, SerializeSafetensors(tensors));
}

}  // namespace minimind
