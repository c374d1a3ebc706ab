// Known chat-template families and the rule that recognises them from a `chat_template` text.
//
// Detection is exact: the whole template text must match a known one byte for byte (nothing is
// normalised), because any edit, even of whitespace, can change what a Jinja template renders.
// MiniMind's published templates are recognised by their length and 64-bit FNV-1a fingerprint,
// so their text is not copied into this repository; our own ChatML template (written by
// `minimind make-random` and the project's trained model) is kept verbatim below.
// Stateless; safe to call from any thread.
#ifndef MINIMIND_ENGINE_TOKENIZER_KNOWN_CHAT_TEMPLATES_H_
#define MINIMIND_ENGINE_TOKENIZER_KNOWN_CHAT_TEMPLATES_H_

#include <optional>

#include "absl/strings/string_view.h"

namespace minimind {

enum class ChatTemplateKind {
  // jingyaogong/minimind-3: ChatML with a <think> block on every assistant turn.
  kMiniMind3,
  // jingyaogong/MiniMind2: ChatML with a default system prompt; assistant content only.
  kMiniMind2,
  // The project's own plain ChatML template, `kChatMlTemplate`.
  kChatMl,
  // Not a known template: rendered as plain ChatML with a warning, see chat_template.h.
  kChatMlFallback,
};

// The plain ChatML template this project writes into the tokenizer_config.json files it
// generates: `<|im_start|>{role}\n{content}<|im_end|>\n` per message, then
// `<|im_start|>assistant\n` when a generation prompt is asked for.
inline constexpr absl::string_view kChatMlTemplate =
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

// A stable lower-case name for logs and errors: "minimind-3", "minimind2", "chatml",
// "chatml-fallback".
absl::string_view ChatTemplateKindName(ChatTemplateKind kind);

// The family whose template text equals `template_text` exactly, or nullopt.
std::optional<ChatTemplateKind> DetectChatTemplateKind(absl::string_view template_text);

}  // namespace minimind

#endif  // MINIMIND_ENGINE_TOKENIZER_KNOWN_CHAT_TEMPLATES_H_
