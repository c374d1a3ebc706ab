// ChatTemplate: turns a conversation into the prompt text a MiniMind model was trained on, exactly
// as the model's own Jinja `chat_template` (tokenizer_config.json) renders it under Python Jinja,
// as transformers' apply_chat_template runs it. No Jinja interpreter is involved: the known
// templates (known_chat_templates.h) are recognised by their exact text and their semantics are
// implemented in C++. Any other or missing template gets a plain ChatML fallback and a warning for
// the caller.
//
// Plain ChatML (the project's own template, and the fallback): "<|im_start|>{role}\n{content}
// <|im_end|>\n" per message and "<|im_start|>assistant\n" as the generation prompt; it cannot
// express tools, tool calls or reasoning, so it rejects tools and tool calls and ignores
// reasoning_content and enable_thinking.
//
// Immutable after creation; Render is const and safe to call concurrently. Copyable.
#ifndef MINIMIND_ENGINE_TOKENIZER_CHAT_TEMPLATE_H_
#define MINIMIND_ENGINE_TOKENIZER_CHAT_TEMPLATE_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "engine/tokenizer/known_chat_templates.h"

namespace minimind {

// One function call requested by an assistant turn.
struct ToolCall {
  std::string name;
  // With `arguments_is_json` false (the OpenAI wire form, where arguments are a string), the text
  // is inserted verbatim. With it true, the text is a JSON value that the template serialises with
  // `tojson` (jinja_tojson.h), except that a JSON string is inserted as its decoded content, as
  // the template's `is string` test does.
  std::string arguments;
  bool arguments_is_json = false;
};

struct ChatMessage {
  // One of "system", "user", "assistant", "tool".
  std::string role;
  // nullopt is JSON null (e.g. an assistant turn that only calls tools); rendered as "".
  std::optional<std::string> content = std::nullopt;
  // Assistant turns only. When present (even empty) it is the think block's text, and `content` is
  // used as is; when absent, minimind-3 takes a "<think>...</think>" prefix out of `content`.
  std::optional<std::string> reasoning_content = std::nullopt;
  // Assistant turns only.
  std::vector<ToolCall> tool_calls = {};
};

struct ChatRenderOptions {
  // End with the header of a new assistant turn, for generation.
  bool add_generation_prompt = true;
  // Unset means "not passed to the template". minimind-3 opens a think block in the generation
  // prompt only when this is true (its template variable `open_thinking`); MiniMind2 appends an
  // empty, closed think block only when it is false (its `enable_thinking`).
  std::optional<bool> enable_thinking = std::nullopt;
  // Tool definitions, each one JSON value as text (usually {"type": "function", "function": ...}),
  // rendered with `tojson` into the system turn. Empty means no tools.
  std::vector<std::string> tools_json = {};
};

class ChatTemplate {
 public:
  // Reads `chat_template`, `bos_token` and `eos_token` from the text of a tokenizer_config.json.
  // InvalidArgument when the text is not a JSON object or a token has the wrong type (the tokens
  // may be strings, {"content": ...} objects or null). A missing, null, non-string or unknown
  // `chat_template` is not an error: it selects the fallback and sets `warning()`.
  static absl::StatusOr<ChatTemplate> FromTokenizerConfig(absl::string_view config_json_text);
  // `dir`/tokenizer_config.json. NotFound when the file cannot be read; other errors as for
  // `FromTokenizerConfig`, prefixed with the path.
  static absl::StatusOr<ChatTemplate> FromModelDir(const std::string& dir);

  ChatTemplateKind kind() const { return kind_; }
  // Why the fallback was chosen; empty for a known template.
  const std::string& warning() const { return warning_; }
  // The special tokens as configured; nullopt when absent or null.
  const std::optional<std::string>& bos_token() const { return bos_token_; }
  const std::optional<std::string>& eos_token() const { return eos_token_; }

  // InvalidArgument for an empty conversation, a role other than system/user/assistant/tool, a
  // tool definition or JSON tool-call arguments that are not valid JSON, tools or tool calls given
  // to the fallback, and a leading system message with null content under a known template (the
  // template concatenates it, which Jinja cannot do with null).
  absl::StatusOr<std::string> Render(absl::Span<const ChatMessage> messages,
                                     const ChatRenderOptions& options) const;

 private:
  ChatTemplate(ChatTemplateKind kind, std::string warning, std::optional<std::string> bos_token,
               std::optional<std::string> eos_token)
      : kind_(kind),
        warning_(std::move(warning)),
        bos_token_(std::move(bos_token)),
        eos_token_(std::move(eos_token)) {}

  ChatTemplateKind kind_;
  std::string warning_;
  std::optional<std::string> bos_token_;
  std::optional<std::string> eos_token_;
};

}  // namespace minimind

#endif  // MINIMIND_ENGINE_TOKENIZER_CHAT_TEMPLATE_H_
