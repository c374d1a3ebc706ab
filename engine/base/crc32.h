// CRC-32 (zlib's polynomial) of a byte range: the checksum of the files the server writes (KV spill
// files, the session state file).
#ifndef MINIMIND_ENGINE_BASE_CRC32_H_
#define MINIMIND_ENGINE_BASE_CRC32_H_

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace minimind {

uint32_t Crc32(const void* data, size_t size);
inline uint32_t Crc32(absl::string_view data) { return Crc32(data.data(), data.size()); }

}  // namespace minimind

#endif  // MINIMIND_ENGINE_BASE_CRC32_H_
