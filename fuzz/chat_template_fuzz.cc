// Chat-template rendering of arbitrary messages with the shipped model's template: any roles,
// contents, reasoning and tool JSON give text or an error, never a crash. Input: fields separated
// by '\x01', messages by '\x02' (role, content, reasoning_content).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "engine/tokenizer/chat_template.h"
#include "fuzz/fuzz_support.h"

namespace {

const minimind::ChatTemplate& ShippedTemplate() {
  static const minimind::ChatTemplate* chat_template = [] {
    absl::StatusOr<minimind::ChatTemplate> loaded =
        minimind::ChatTemplate::FromModelDir(minimind::fuzz::ModelDir());
    if (!loaded.ok()) minimind::fuzz::Violated("load", std::string(loaded.status().message()));
    return new minimind::ChatTemplate(*std::move(loaded));
  }();
  return *chat_template;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<minimind::ChatMessage> messages;
  for (absl::string_view part : absl::StrSplit(input, '\x02')) {
    std::vector<std::string> fields = absl::StrSplit(part, '\x01');
    minimind::ChatMessage message;
    message.role = fields.size() > 0 ? fields[0] : "user";
    if (fields.size() > 1) message.content = fields[1];
    if (fields.size() > 2) message.reasoning_content = fields[2];
    messages.push_back(std::move(message));
  }
  minimind::ChatRenderOptions options;
  options.add_generation_prompt = (data[0] & 1) != 0;
  if (data[0] & 2) options.enable_thinking = (data[0] & 4) != 0;
  if (data[0] & 8) options.tools_json.push_back(input.substr(0, 64));
  (void)ShippedTemplate().Render(messages, options);
  return 0;
}
