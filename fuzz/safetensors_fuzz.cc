// The safetensors reader on arbitrary files: a TensorMap or an error, never a crash or a read out
// of the mapping. The reader takes a path (it maps the file), so each input is written to a
// per-process scratch file first.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "engine/model/safetensors_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/minimind_safetensors_fuzz_" + std::to_string(getpid());
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) return 0;
  std::fwrite(data, 1, size, file);
  std::fclose(file);
  absl::StatusOr<minimind::TensorMap> tensors = minimind::ReadSafetensors(path);
  (void)tensors;
  return 0;
}
