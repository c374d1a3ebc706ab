// config.json parsing: a ModelConfig or an error naming the field, never a crash.
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "engine/model/model_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)minimind::ParseModelConfig(absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
